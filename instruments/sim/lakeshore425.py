"""Simulated Lake Shore 425 gaussmeter with its Hall probe at the sample, on one field axis.

``RDGFIELD?`` reads the true field plus ~0.1 Oe of noise plus the probe's own offset, minus
what ``ZPROBE`` stored (zero the probe in zero field, or the zero absorbs a real field), in
the ``UNIT`` set. Only DC mode is simulated. A bad command sets the command/execution-error
bit of ``*ESR?`` and changes nothing; beyond the fixed range the reading is ``OL``.
"""

from __future__ import annotations

import math

from dwlab.instruments.sim.scpi import (
    ILLEGAL_PARAMETER,
    Num,
    Responder,
    ScpiError,
    no_args,
    one_arg,
    split_args,
)

NOISE_OE = 0.1
RANGES_G = {1: 35.0, 2: 350.0, 3: 3500.0, 4: 35000.0}
UNIT_PER_OE = {1: 1.0, 2: 1e-4, 3: 1.0, 4: 1000.0 / (4 * math.pi)}  # G, T, Oe, A/m (in air)


class LakeShore425Sim(Responder):
    idn = "LSCI,MODEL425,4250123,1.3"

    def __init__(self, lab, axis: str):
        self.axis = axis
        self.probe_offset_Oe = float(lab.rng.normal(0.0, 2.0))
        super().__init__(lab)

    def build(self, tree) -> None:
        tree.add("RDGFIELD", getter=self._field)
        tree.add("UNIT", self._set_unit, lambda a: (no_args(a), str(self.unit))[1])
        tree.add("RANGE", self._set_range, lambda a: (no_args(a), str(self._range()))[1])
        tree.add("AUTO", setter=lambda a: (no_args(a), setattr(self, "auto", True)))
        tree.add("RDGMODE", self._set_mode, lambda a: (no_args(a), "1,0,1" if self.wideband else "1,0,2")[1])
        tree.add("ZPROBE", setter=lambda a: (no_args(a), self._zero()))
        tree.add("TYPE", getter=lambda a: (no_args(a), "1")[1])

    def reset(self) -> None:
        self.unit, self.auto, self.range, self.wideband = 1, True, 4, True
        self.zero_Oe = 0.0

    def _probe_Oe(self) -> float:
        return self.lab.field_Oe(self.axis) + self.probe_offset_Oe + self.lab.stream(f"gaussmeter_{self.axis}").normal(0.0, NOISE_OE)

    def _range(self, reading_Oe: float | None = None) -> int:
        """The fixed range, or in autorange the smallest range that holds the reading itself
        (the probe's offset and noise included, as the instrument sees it)."""
        if not self.auto:
            return self.range
        if reading_Oe is None:
            reading_Oe = self._probe_Oe() - self.zero_Oe
        return next((r for r, full in RANGES_G.items() if abs(reading_Oe) <= full), 4)

    def _field(self, args) -> str:
        no_args(args)
        field = self._probe_Oe() - self.zero_Oe
        if abs(field) > RANGES_G[self._range(field)]:
            return "OL"
        return f"{field * UNIT_PER_OE[self.unit]:+.4E}"

    def _set_unit(self, args) -> None:
        self.unit = Num(1, 4, integer=True).parse(one_arg(args))

    def _set_range(self, args) -> None:
        self.range = Num(1, 4, integer=True).parse(one_arg(args))
        self.auto = False

    def _set_mode(self, args) -> None:
        args = split_args(",".join(args))
        mode, filt, band = (Num(1, 3, integer=True).parse(args[i]) if i < len(args) else None
                            for i in range(3))
        if len(args) != 3 or mode != 1 or filt not in (0, 1) or band not in (1, 2):
            raise ScpiError(ILLEGAL_PARAMETER, "only DC mode (RDGMODE 1,<0|1>,<1|2>) is simulated")
        self.wideband = band == 1

    def _zero(self) -> None:
        self.zero_Oe = self.lab.field_Oe(self.axis) + self.probe_offset_Oe
