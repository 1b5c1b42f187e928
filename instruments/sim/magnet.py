"""A simulated electromagnet on a bipolar supply (PHYSICS.md section 4).

The supply sets a current; the coil current follows with the first-order L/R lag
(``tau_s = L / R``); the field is ``k * I_coil`` plus a few Oe of remanence whose sign is that
of the last excursion beyond ``remanence_set_Oe``. The gaussmeter adds its own noise; this
model returns the true field. Between setpoint changes the coil current relaxes
exponentially, which is exact for any step length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MagnetParams:
    """One axis: calibration k (Oe/A), remanence, lag, coil resistance, supply limit."""

    axis: str = "z"
    oe_per_amp: float = 500.0
    remanence_Oe: float = 3.0
    tau_s: float = 0.25  # L / R
    coil_resistance_ohm: float = 2.0
    max_current_A: float = 10.0
    remanence_set_Oe: float = 100.0  # an excursion beyond this sets the remanence sign

    def __post_init__(self):
        for field in ("oe_per_amp", "tau_s", "coil_resistance_ohm", "max_current_A"):
            value = getattr(self, field)
            if not value > 0:
                raise ValueError(f"{field} must be > 0, got {value}")
        for field in ("remanence_Oe", "remanence_set_Oe"):
            value = getattr(self, field)
            if not value >= 0:
                raise ValueError(f"{field} must be >= 0, got {value}")

    @property
    def inductance_H(self) -> float:
        return self.tau_s * self.coil_resistance_ohm


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
        self._remanence_sign = 1.0 if rng.random() < 0.5 else -1.0  # unknown history

    def set_supply_current(self, amps: float) -> None:
        """What the supply drives from now on (the coil follows with its lag)."""
        limit = self.params.max_current_A
        if not abs(amps) <= limit:
            raise ValueError(f"{self.params.axis} magnet current {amps} A exceeds the limit "
                             f"+/-{limit} A")
        self.setpoint_A = float(amps)

    def _current_after(self, dt_s: float) -> float:
        decay = math.exp(-dt_s / self.params.tau_s)
        return self.setpoint_A + (self.coil_current_A - self.setpoint_A) * decay

    def _field(self, coil_current_A: float, remanence_sign: float) -> float:
        p = self.params
        return p.oe_per_amp * coil_current_A + p.remanence_Oe * remanence_sign

    def _sign_after(self, coil_current_A: float) -> float:
        # The current moves monotonically within a step, so its largest excursion is at the end.
        if abs(self.params.oe_per_amp * coil_current_A) > self.params.remanence_set_Oe:
            return math.copysign(1.0, coil_current_A)
        return self._remanence_sign

    def step(self, dt_s: float) -> None:
        """Let the coil current relax towards the setpoint for dt."""
        if not dt_s >= 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        self.coil_current_A = self._current_after(dt_s)
        self._remanence_sign = self._sign_after(self.coil_current_A)

    @property
    def coil_voltage_V(self) -> float:
        """L dI/dt + I R: what the supply's voltage readback shows."""
        p = self.params
        di_dt = (self.setpoint_A - self.coil_current_A) / p.tau_s
        return p.inductance_H * di_dt + self.coil_current_A * p.coil_resistance_ohm

    @property
    def field_Oe(self) -> float:
        """True field at the sample: k I_coil + remanence (sign of the last excursion)."""
        return self._field(self.coil_current_A, self._remanence_sign)

    def field_during(self, dt_s: float) -> tuple[float, float]:
        """(start, end) field over the next dt with no setpoint change; the state is untouched."""
        end_current = self._current_after(dt_s)
        return self.field_Oe, self._field(end_current, self._sign_after(end_current))
