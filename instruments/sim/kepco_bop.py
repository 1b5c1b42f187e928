"""Simulated Kepco BOP 20-20 with a BIT 4886 card, driving the z electromagnet.

In current mode a setpoint step is applied at once (ramping is the driver's job) and the coil
current slews to it within the voltage limit ``VOLT``, which in current mode is the
complementary limit of the BIT 4886 (0 after power-up and ``*RST``, so a driver must set it
before the coil can carry current: unconfirmed: stricter reading). ``MEAS:CURR?``/``MEAS:VOLT?`` read the coil's current and
voltage as they are now. ``DIAG:TST?`` is refused: on a real BOP it drives the output to full
scale, which with a magnet connected dumps energy into the coil.
"""

from __future__ import annotations

from dwlab.instruments.sim.lab import SupplyOnAxis
from dwlab.instruments.sim.scpi import (
    SETTINGS_CONFLICT,
    Bool,
    Choice,
    Num,
    ScpiError,
    ScpiResponder,
    no_args,
    one_arg,
)

I_LIMIT_A = 20.0
V_LIMIT_V = 20.0


class KepcoBopSim(SupplyOnAxis, ScpiResponder):
    idn = "KEPCO,BIT 4886 20-20  05/15/2014,E1234,4.04"

    def build(self, tree) -> None:
        s = self.s = {}
        tree.setting("[SOURce:]FUNCtion:MODE", s, "mode", Choice("VOLTage", "CURRent"), after=self._apply)
        tree.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_current,
                 lambda a: (no_args(a), f"{self.s['current']:+.5E}")[1])
        tree.setting("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]", s, "voltage",
                     Num(-V_LIMIT_V, V_LIMIT_V, 0.0, unit="V"), after=self._apply)
        tree.add("OUTPut[:STATe]", self._set_output, lambda a: (no_args(a), Bool().format(self.supply.output_on))[1])
        tree.add("MEASure[:SCALar]:CURRent[:DC]",
                 getter=lambda a: (no_args(a), f"{self.lab.magnets[self.axis].coil_current_A:+.5E}")[1])
        tree.add("MEASure[:SCALar]:VOLTage[:DC]",
                 getter=lambda a: (no_args(a), f"{self.lab.magnets[self.axis].coil_voltage_V:+.5E}")[1])
        tree.add("DIAGnostic:TST", getter=self._refuse_selftest)

    def reset(self) -> None:
        self.s.update(mode="VOLT", current=0.0, voltage=0.0)
        self.supply.output_on = False
        self._apply()

    @property
    def i_limit_A(self) -> float:
        """The BOP's own limit, or the connected coil's if lower (the sim refuses to burn it)."""
        return min(I_LIMIT_A, self.lab.magnets[self.axis].params.max_current_A)

    def _set_current(self, args) -> None:
        self.s["current"] = Num(-self.i_limit_A, self.i_limit_A, unit="A").parse(one_arg(args))
        self._apply()

    def _refuse_selftest(self, args) -> str:
        raise ScpiError(SETTINGS_CONFLICT, "DIAG:TST? drives the output to full scale: refused")

    def _set_output(self, args) -> None:
        self.supply.output_on = Bool().parse(one_arg(args))
        self._apply()

    def _apply(self, _value=None) -> None:
        """Program the output: the current setpoint within the voltage limit, or in voltage
        mode what V drives through R."""
        s = self.s
        if s["mode"] == "CURR":
            target, self.supply.compliance_V = s["current"], abs(s["voltage"])
        else:
            r = self.lab.magnets[self.axis].params.coil_resistance_ohm
            target = max(-self.i_limit_A, min(self.i_limit_A, s["voltage"] / r))
            self.supply.compliance_V = V_LIMIT_V
        self.supply.program(target)
        self.lab.touch_supply(self.axis)
