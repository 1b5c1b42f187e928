"""Simulated Lake Shore 643 electromagnet supply, driving the x magnet.

It ramps its output internally: ``SETI`` sets the target and the output moves there at
``RATE`` A/s on the lab's clock; the coil follows within the supply's 35 V compliance.
Operational status, bits 0 compliance, 1 ramp done, 2 power limit (never set here):
``OPSTR?`` is the live condition register; ``OPST?`` the latched event register, whose bits
are set when the event happens and cleared when it is read, so a SETI to where the output
already is (a no-op) sets no new "ramp done". Not SCPI: a bad command or value sets the
command/execution-error bit of ``*ESR?`` and changes nothing (a setpoint above ``LIMIT`` is
refused, not clipped). ``ERST?`` reports hardware and operational errors (none are
simulated: ``0,0``).
"""

from __future__ import annotations

from dwlab.instruments.sim.lab import SupplyOnAxis
from dwlab.instruments.sim.scpi import (
    DATA_OUT_OF_RANGE,
    Num,
    Responder,
    no_args,
    one_arg,
    require,
    split_args,
)

I_MAX_A = 70.1
V_MAX_V = 35.0  # the 643's output voltage rating
RATE_MAX_A_S = 50.0
OPST_BITS = {"compliance": 1, "ramp done": 2, "power limit": 4}


class LakeShore643Sim(SupplyOnAxis, Responder):
    idn = "LSCI,MODEL643,6430123,1.2/1.1"

    def build(self, tree) -> None:
        tree.add("SETI", self._set_current, lambda a: (no_args(a), f"{self.supply.target_A:+.4f}")[1])
        tree.add("RATE", self._set_rate, lambda a: (no_args(a), f"{self.supply.rate_A_s:.4f}")[1])
        tree.add("LIMIT", self._set_limit, lambda a: (no_args(a), f"{self.limit_A:.4f},{self.limit_rate:.4f}")[1])
        tree.add("RDGI", getter=lambda a: (no_args(a), f"{self.lab.magnets[self.axis].coil_current_A:+.4f}")[1])
        tree.add("RDGV", getter=lambda a: (no_args(a), f"{self.lab.magnets[self.axis].coil_voltage_V:+.4f}")[1])
        tree.add("STOP", setter=lambda a: (no_args(a), self.supply.stop()))
        tree.add("OPST", getter=self._read_events)
        tree.add("OPSTR", getter=lambda a: (no_args(a), str(self._condition()))[1])
        tree.add("ERST", getter=lambda a: (no_args(a), "0,0")[1])

    def reset(self) -> None:
        # the connected coil's rating caps the 643's own limit (the sim refuses to burn it)
        self.limit_A = min(I_MAX_A, self.lab.magnets[self.axis].params.max_current_A)
        self.limit_rate = RATE_MAX_A_S
        self.supply.output_on = True  # the 643's output is enabled whenever it is powered
        self.supply.compliance_V = V_MAX_V
        self.supply.rate_A_s = 0.1
        self.supply.program(self.supply.level_A)

    def _set_current(self, args) -> None:
        target = Num(-self.limit_A, self.limit_A).parse(one_arg(args))
        self.supply.program(target)
        self.lab.touch_supply(self.axis)

    def _set_rate(self, args) -> None:
        self.supply.rate_A_s = Num(0.0001, self.limit_rate).parse(one_arg(args))

    def _set_limit(self, args) -> None:
        args = split_args(",".join(args))
        require(len(args) == 2, DATA_OUT_OF_RANGE, "LIMIT <max current>,<max rate>")
        limit_A = Num(0.0, min(I_MAX_A, self.lab.magnets[self.axis].params.max_current_A)).parse(args[0])
        limit_rate = Num(0.0001, RATE_MAX_A_S).parse(args[1])
        require(abs(self.supply.target_A) <= limit_A and self.supply.rate_A_s <= limit_rate,
                DATA_OUT_OF_RANGE, "present setpoint or rate beyond the new limit")
        self.limit_A, self.limit_rate = limit_A, limit_rate

    def _condition(self) -> int:
        coil = self.lab.magnets[self.axis]
        return (0 if coil.locked else OPST_BITS["compliance"]) | \
            (0 if self.supply.ramping else OPST_BITS["ramp done"])

    def _read_events(self, args) -> str:
        no_args(args)
        bits = sum(OPST_BITS[event] for event in self.supply.events)
        self.supply.events.clear()
        return str(bits)
