"""A simulated electromagnet on a current-regulated bipolar supply (docs/physics.md section 4).

The supply regulates the coil current to its setpoint. Its only limit is voltage: across the
coil V = L dI/dt + I R, so the current can change at most at ``(V_max - I R) / L`` (towards
+) or ``(-V_max - I R) / L`` (towards -), V_max the supply's compliance. A setpoint step is
followed at that slew limit and then held: the regulation loop settles within milliseconds,
which this model takes as immediate. A setpoint that moves slower than the slew limit (the
643's internal ramp) is tracked exactly; one beyond ``V_max / R`` is never reached (the
supply sits in compliance). There is no slow L/R exponential towards the setpoint.

The field is ``k * I_coil`` plus a few Oe of remanence whose sign is that of the last
excursion beyond ``remanence_set_Oe``. The gaussmeter adds its own noise; this model returns
the true field. ``step`` is exact for any step length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SETTLED_A = 1e-6  # in compliance, closer than this to V/R counts as still (0.5 mOe at 500 Oe/A)


@dataclass(frozen=True)
class MagnetParams:
    """One axis: calibration k (Oe/A), remanence, coil inductance and resistance, rating."""

    axis: str = "z"
    oe_per_amp: float = 500.0
    remanence_Oe: float = 3.0
    inductance_H: float = 0.5
    coil_resistance_ohm: float = 2.0  # PHYSICS says ~3 ohm; 2 keeps the setup's 8 A within 20 V
    max_current_A: float = 10.0
    remanence_set_Oe: float = 100.0  # an excursion beyond this sets the remanence sign

    def __post_init__(self):
        for field in ("oe_per_amp", "inductance_H", "coil_resistance_ohm", "max_current_A"):
            value = getattr(self, field)
            if not value > 0:
                raise ValueError(f"{field} must be > 0, got {value}")
        for field in ("remanence_Oe", "remanence_set_Oe"):
            value = getattr(self, field)
            if not value >= 0:
                raise ValueError(f"{field} must be >= 0, got {value}")

    @property
    def tau_s(self) -> float:
        """L / R: the time constant of the coil current while the supply is in compliance."""
        return self.inductance_H / self.coil_resistance_ohm


MAGNET_PRESETS: dict[str, MagnetParams] = {
    "z": MagnetParams(axis="z", oe_per_amp=500.0),
    "x": MagnetParams(axis="x", oe_per_amp=400.0),
}


class Electromagnet:
    """Coil current, coil voltage and field of one magnet axis, advanced by ``step``."""

    def __init__(self, params: MagnetParams, rng: np.random.Generator):
        self.params = params
        self.setpoint_A = 0.0
        self.coil_current_A = 0.0
        self.compliance_V = 0.0  # set by the supply driving it
        self._setpoint_rate_A_s = 0.0  # how fast the setpoint moved during the last step
        self._remanence_sign = 1.0 if rng.random() < 0.5 else -1.0  # unknown history

    def set_supply_current(self, amps: float) -> None:
        """A setpoint step: the supply regulates to ``amps`` from now on."""
        self.setpoint_A = self._checked(amps)
        self._setpoint_rate_A_s = 0.0

    def _checked(self, amps: float) -> float:
        limit = self.params.max_current_A
        if not abs(amps) <= limit:
            raise ValueError(f"{self.params.axis} magnet current {amps} A exceeds the limit "
                             f"+/-{limit} A")
        return float(amps)

    @property
    def locked(self) -> bool:
        """The regulation holds the coil at the setpoint (not slewing, not in compliance)."""
        return self.coil_current_A == self.setpoint_A

    @property
    def settling(self) -> bool:
        """The coil current is still changing with the setpoint fixed: slewing towards it."""
        if self.locked:
            return False
        rail = math.copysign(self.compliance_V, self.setpoint_A - self.coil_current_A)
        return abs(rail / self.params.coil_resistance_ohm - self.coil_current_A) > SETTLED_A

    def _slewed(self, dt_s: float, towards_A: float) -> float:
        """The coil current after ``dt_s`` at the voltage rail on the side of ``towards_A``:
        I -> V/R with time constant L/R, the fastest the supply can move it."""
        p = self.params
        asymptote = math.copysign(self.compliance_V, towards_A - self.coil_current_A) \
            / p.coil_resistance_ohm
        return asymptote + (self.coil_current_A - asymptote) * math.exp(-dt_s / p.tau_s)

    def step(self, dt_s: float, setpoint_end_A: float | None = None) -> None:
        """Evolve for ``dt_s`` while the setpoint moves linearly to ``setpoint_end_A`` (None:
        it stays). The coil current slews at the voltage limit until it meets the setpoint,
        then follows it; a setpoint moving faster than the slew limit leaves it behind."""
        if not dt_s >= 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        end = self.setpoint_A if setpoint_end_A is None else self._checked(setpoint_end_A)
        self._setpoint_rate_A_s = (end - self.setpoint_A) / dt_s if dt_s > 0 else 0.0
        current = end
        if end != self.coil_current_A:
            slewed = self._slewed(dt_s, end)
            # slewing outruns any setpoint the supply can follow, so the coil has met the
            # setpoint by the end iff the slew has passed it; otherwise it is still behind
            if (slewed - end) * (end - self.coil_current_A) < 0:
                current = slewed
        self.setpoint_A, self.coil_current_A = end, current
        if abs(self.params.oe_per_amp * current) > self.params.remanence_set_Oe:
            # the current moves monotonically within a step: its largest excursion is at the end
            self._remanence_sign = math.copysign(1.0, current)

    @property
    def coil_voltage_V(self) -> float:
        """L dI/dt + I R: what the supply's voltage readback shows (the rail in compliance)."""
        p = self.params
        if not self.locked:
            return math.copysign(self.compliance_V, self.setpoint_A - self.coil_current_A)
        return p.inductance_H * self._setpoint_rate_A_s + self.coil_current_A * p.coil_resistance_ohm

    @property
    def field_Oe(self) -> float:
        """True field at the sample: k I_coil + remanence (sign of the last excursion)."""
        p = self.params
        return p.oe_per_amp * self.coil_current_A + p.remanence_Oe * self._remanence_sign
