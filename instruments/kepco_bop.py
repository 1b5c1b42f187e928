"""Kepco BOP bipolar supply driving a magnet in current mode, with a software ramp.

Why not subclass PyMeasure's ``KepcoBOP3612``: its current and voltage limits (±12 A, ±36 V)
are fixed when the class is created, and it truncates rather than refuses, so a subclass can
neither narrow them to what a given magnet tolerates nor widen them for a bigger BOP; and it
exposes ``bop_test`` (``DIAG:TST?``), which swings the output to full scale, so a magnet on the
terminals would get a full-current step. This driver takes the limits at construction (as
PyMeasure dynamic properties) and has no way to send ``DIAG:TST?``.

A BOP does not ramp by itself. The field across a magnet must still change slowly
(V = L dI/dt + I R: a step drives the supply into compliance, overshoots the field and dumps
½ L I² somewhere), so ramps are stepped in software on the lab's clock, and the current is
brought to zero before the output is turned off.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from pymeasure.instruments import Instrument, SCPIMixin

from dwlab.clock import Clock, RealClock
from dwlab.instruments.limits import check_range, in_range, one_of

log = logging.getLogger(__name__)

MODES = ("VOLT", "CURR")


def ramp_setpoints(start_A: float, target_A: float, rate_A_s: float,
                   step_s: float) -> np.ndarray:
    """Setpoints after ``start_A``, one per ``step_s``, ending exactly at ``target_A``.

    Each step is at most ``rate_A_s * step_s``, so writing one setpoint per ``step_s`` never
    exceeds the rate.
    """
    if rate_A_s <= 0 or step_s <= 0:
        raise ValueError(f"ramp rate and step must be > 0, got {rate_A_s} A/s, {step_s} s")
    n = max(1, math.ceil(abs(target_A - start_A) / (rate_A_s * step_s) - 1e-9))
    return np.linspace(start_A, target_A, n + 1)[1:]


def step_current(set_current: Callable[[float], None], start_A: float, target_A: float,
                 rate_A_s: float, clock: Clock, step_s: float) -> None:
    """Walk a supply from ``start_A`` to ``target_A`` at no more than ``rate_A_s``.

    The one software ramp of dwlab: each setpoint is written one ``step_s`` after the last.
    """
    if start_A == target_A:
        return
    for current in ramp_setpoints(start_A, target_A, rate_A_s, step_s):
        clock.sleep(step_s)
        set_current(float(current))


def _mode(reply) -> str:
    """FUNC:MODE? answers 0/1 (VOLT/CURR) on the BIT 4886; accept the words too."""
    text = str(reply).strip().upper()
    return MODES[int(float(text))] if text[:1].isdigit() else text[:4]


class KepcoBOP(SCPIMixin, Instrument):
    """Kepco BOP (BIT 4886 interface) as a magnet current source.

    :param max_current_A: the largest |current| this magnet may get (A).
    :param max_voltage_V: the largest voltage limit (compliance) that may be set (V).
    :param ramp_rate_A_s: the rate of :meth:`ramp_to` and of :meth:`shutdown` (A/s).
    :param clock: the lab's clock; ramps sleep on it, never on ``time.sleep``.
    :param ramp_step_s: time between software ramp setpoints (s).
    """

    def __init__(self, adapter, name="Kepco BOP", *, max_current_A: float,
                 max_voltage_V: float, ramp_rate_A_s: float, clock: Clock | None = None,
                 ramp_step_s: float = 0.1, **kwargs):
        for label, value in (("max_current_A", max_current_A), ("max_voltage_V", max_voltage_V),
                             ("ramp_rate_A_s", ramp_rate_A_s), ("ramp_step_s", ramp_step_s)):
            if not value > 0:
                raise ValueError(f"KepcoBOP {label} must be > 0, got {value}")
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)
        self.max_current_A = float(max_current_A)
        self.max_voltage_V = float(max_voltage_V)
        self.ramp_rate_A_s = float(ramp_rate_A_s)
        self.ramp_step_s = float(ramp_step_s)
        self.clock = clock if clock is not None else RealClock()
        self.current_setpoint_values = (-self.max_current_A, self.max_current_A)
        self.voltage_limit_values = (0.0, self.max_voltage_V)

    operating_mode = Instrument.control(
        "FUNC:MODE?", "FUNC:MODE %s",
        """Control the regulation mode: "CURR" (a magnet) or "VOLT".""",
        validator=one_of("operating_mode"),
        values=MODES,
        cast=str,
        get_process=_mode,
    )

    current_setpoint = Instrument.control(
        "CURR?", "CURR %g",
        """Control the programmed current in A (strictly within ±max_current_A). Jumps at
        once: use :meth:`ramp_to` on a magnet.""",
        validator=in_range("current_setpoint", "A"),
        values=(-1.0, 1.0),
        dynamic=True,
    )

    voltage_limit = Instrument.control(
        "VOLT?", "VOLT %g",
        """Control the voltage limit (compliance) in current mode in V
        (strictly 0 to max_voltage_V).""",
        validator=in_range("voltage_limit", "V"),
        values=(0.0, 1.0),
        dynamic=True,
    )

    output_enabled = Instrument.control(
        "OUTP?", "OUTP %d",
        """Control whether the output is on (bool).""",
        validator=one_of("output_enabled"),
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    current = Instrument.measurement(
        "MEAS:CURR?",
        """Measure the output current in A.""",
    )

    voltage = Instrument.measurement(
        "MEAS:VOLT?",
        """Measure the output voltage in V.""",
    )

    def ramp_to(self, target_A: float, rate_A_s: float | None = None) -> None:
        """Step the current from its programmed value to ``target_A`` at ``rate_A_s``.

        The target and rate are checked before anything is sent; the rate may not exceed
        the ``ramp_rate_A_s`` given at construction (None uses it).
        """
        rate = self.ramp_rate_A_s if rate_A_s is None else rate_A_s
        check_range("ramp_to target", target_A, -self.max_current_A, self.max_current_A, "A")
        check_range("ramp_to rate", rate, 1e-12, self.ramp_rate_A_s, "A/s")
        start = self.current_setpoint
        step_current(self._set_current, start, target_A, rate, self.clock, self.ramp_step_s)

    def _set_current(self, amps: float) -> None:
        self.current_setpoint = amps

    def shutdown(self):
        """Ramp the current to zero at ``ramp_rate_A_s``, then turn the output off.

        The output is turned off even if the ramp fails (the BOP is four-quadrant and absorbs
        the magnet's energy); the ramp's error is then re-raised.
        """
        log.info("Shutting down %s.", self.name)
        try:
            self.ramp_to(0.0)
        finally:
            self.output_enabled = False
            super().shutdown()
