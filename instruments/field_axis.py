"""One magnet axis: a supply, a gaussmeter and a calibration behind ``set_field(Oe)``.

Procedures ask for a field, not a current. The axis refuses a field, rate or current beyond
the lab's limits before anything is sent, ramps at a bounded rate (stepped in software on the
lab clock for a Kepco BOP; programmed RATE plus waiting for ramp-done on a Lake Shore 643),
waits for the magnet to settle, and checks the result with the gaussmeter: one corrective
step from the measured error, then a clear error if the field is still off. ``ramp_to_zero``
is what every shutdown path calls.

Units: fields in Oe and currents in A at this interface (the lab's units for magnets).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from dwlab.clock import Clock
from dwlab.instruments.kepco_bop import KepcoBOP, step_current
from dwlab.instruments.lakeshore425 import FieldOverRangeError
from dwlab.instruments.lakeshore643 import LakeShore643
from dwlab.instruments.limits import check_range

log = logging.getLogger(__name__)


class FieldAxisError(RuntimeError):
    """The magnet did not reach the field asked for (after the corrective step)."""


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


@dataclass(frozen=True)
class FieldCalibration:
    """Field = oe_per_amp * I + remanence_Oe * s, s the sign of the last current excursion.

    The iron of an electromagnet keeps some field at zero current, on the side it was last
    driven to; ``excursion_sign`` (+1, -1 or 0 for a demagnetised core) says which side.
    """

    oe_per_amp: float
    remanence_Oe: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.oe_per_amp) and self.oe_per_amp != 0):
            raise ValueError(f"oe_per_amp must be finite and non-zero, got {self.oe_per_amp}")
        if not (math.isfinite(self.remanence_Oe) and self.remanence_Oe >= 0):
            raise ValueError(f"remanence_Oe must be finite and >= 0, got {self.remanence_Oe}")

    def field_Oe(self, current_A: float, excursion_sign: int) -> float:
        """The field (Oe) that ``current_A`` gives on the ``excursion_sign`` branch."""
        return self.oe_per_amp * current_A + self.remanence_Oe * _sign(excursion_sign)

    def current_A(self, field_Oe: float, excursion_sign: int) -> float:
        """The current (A) that gives ``field_Oe`` on the ``excursion_sign`` branch."""
        return (field_Oe - self.remanence_Oe * _sign(excursion_sign)) / self.oe_per_amp


@dataclass(frozen=True)
class FieldLimits:
    """What this magnet may be asked for: |field|, ramp rate and |current|."""

    max_field_Oe: float
    max_ramp_rate_Oe_s: float
    max_current_A: float

    def __post_init__(self):
        for name in ("max_field_Oe", "max_ramp_rate_Oe_s", "max_current_A"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"FieldLimits {name} must be finite and > 0, got {value}")


@runtime_checkable
class MagnetSupply(Protocol):
    """What the field axis needs of a magnet power supply (currents in A)."""

    ramps_internally: bool

    def set_current(self, amps: float) -> None: ...

    @property
    def measured_current(self) -> float: ...

    @property
    def output_setpoint(self) -> float:
        """The current the supply is programmed to drive now (a ramp starts from here)."""
        ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...

    def set_ramp_rate(self, amps_per_s: float) -> None: ...

    @property
    def ramp_done(self) -> bool: ...


class Gaussmeter(Protocol):
    """A field probe reading in Oe (a LakeShore425 with ``unit = "Oe"``)."""

    @property
    def field(self) -> float: ...


class KepcoSupply:
    """A Kepco BOP as a MagnetSupply: setpoints jump, so the field axis steps them."""

    ramps_internally = False

    def __init__(self, bop: KepcoBOP):
        self.bop = bop

    def set_current(self, amps: float) -> None:
        self.bop.current_setpoint = amps

    @property
    def measured_current(self) -> float:
        return self.bop.current

    @property
    def output_setpoint(self) -> float:
        """``CURR?``: the coil current lags this by L/R, the supply's output does not."""
        return self.bop.current_setpoint

    def enable(self) -> None:
        """Current mode, output on; from zero current if the output was off, with the voltage
        limit (the complementary limit in current mode, 0 after power-up) at its maximum."""
        if not self.bop.output_enabled:
            self.bop.current_setpoint = 0.0
            self.bop.operating_mode = "CURR"
            self.bop.voltage_limit = self.bop.max_voltage_V
            self.bop.output_enabled = True

    def disable(self) -> None:
        self.bop.output_enabled = False

    def set_ramp_rate(self, amps_per_s: float) -> None:
        """Nothing to program: a BOP has no ramp; the axis steps at this rate itself."""

    @property
    def ramp_done(self) -> bool:
        return True


class LakeShore643Supply:
    """A Lake Shore 643 as a MagnetSupply: it ramps to each setpoint at its RATE."""

    ramps_internally = True

    def __init__(self, supply: LakeShore643):
        self.supply = supply

    def set_current(self, amps: float) -> None:
        self.supply.current_setpoint = amps

    @property
    def measured_current(self) -> float:
        return self.supply.current

    @property
    def output_setpoint(self) -> float:
        """The output the 643 is walking at its RATE (``RDGI?``), not its final SETI."""
        return self.supply.current

    def enable(self) -> None:
        """Nothing to do: the 643's output follows SETI whenever it is powered."""

    def disable(self) -> None:
        """Target zero current; the supply ramps down by itself at its RATE."""
        self.supply.current_setpoint = 0.0

    def set_ramp_rate(self, amps_per_s: float) -> None:
        self.supply.ramp_rate = amps_per_s

    @property
    def ramp_done(self) -> bool:
        """The live ramp-done condition (``OPSTR?``): true at once after a no-op SETI."""
        return self.supply.ramp_done


class FieldAxis:
    """A magnet axis set in Oe, verified by a gaussmeter, kept within ``limits``.

    :param name: axis name used in every error message ("x", "z", ...).
    :param tolerance_Oe: how far the measured field may be from the target.
    :param step_s: time between software ramp steps (BOP) and between ramp-done polls (643).
    :param settle_s: longest wait for the field to stop moving after a ramp.
    """

    def __init__(self, name: str, supply: MagnetSupply, gaussmeter: Gaussmeter,
                 calibration: FieldCalibration, limits: FieldLimits, clock: Clock,
                 tolerance_Oe: float = 5.0, step_s: float = 0.1, settle_s: float = 5.0):
        if not tolerance_Oe > 0:
            raise ValueError(f"axis {name}: tolerance_Oe must be > 0, got {tolerance_Oe}")
        self.name = name
        self.supply = supply
        self.gaussmeter = gaussmeter
        self.calibration = calibration
        self.limits = limits
        self.clock = clock
        self.tolerance_Oe = tolerance_Oe
        self.step_s = step_s
        self.settle_s = settle_s
        # set by the Runner while a procedure runs: raises when a stop was asked, so a ramp or
        # a settle wait ends within one step (not when the field has settled); None in cleanup
        self.stop_check: Callable[[], None] | None = None
        self.target_Oe: float | None = None
        self._current_A: float | None = None  # last programmed current, once known
        self._excursion = 0

    @contextmanager
    def sleeping_on(self, clock: Clock) -> Iterator[FieldAxis]:
        """Ramps and polls inside the block wait on ``clock``: one that does other work while
        it waits (a pulse train read on while the field ramps)."""
        saved, self.clock = self.clock, clock
        try:
            yield self
        finally:
            self.clock = saved

    @property
    def field(self) -> float:
        """The gaussmeter's reading in Oe; an overloaded probe raises FieldAxisError naming
        the axis."""
        try:
            return self.gaussmeter.field
        except FieldOverRangeError as exc:
            raise FieldAxisError(f"axis {self.name}: {exc}") from exc

    @property
    def amps_per_oe(self) -> float:
        return 1.0 / abs(self.calibration.oe_per_amp)

    @property
    def zero_band_A(self) -> float:
        """A supply current this close to zero is zero: half the tolerance's worth (>= 0.1 mA)."""
        return max(1e-4, 0.5 * self.tolerance_Oe * self.amps_per_oe)

    def set_field(self, target_Oe: float, rate_Oe_s: float | None = None,
                  on_step: Callable[[], None] | None = None) -> float:
        """Ramp to ``target_Oe`` at ``rate_Oe_s`` (default: the limit), verify, return Oe.

        ``on_step`` is called after every supply step, ramp poll and settling read (a sweep
        reads the gaussmeter there; a procedure drains a buffer). If it or ``stop_check``
        raises, the ramp stops where it is, and the axis still knows the current it last
        programmed.
        """
        current, rate = self._checked_target(target_Oe, rate_Oe_s)
        on_step = self._checked_steps(on_step)
        self.supply.enable()
        self._ramp_current(current, rate, on_step)
        measured = self._settled_field(on_step)
        error = target_Oe - measured
        if abs(error) > self.tolerance_Oe:
            log.info("axis %s: %.1f Oe for %.1f Oe; correcting", self.name, measured, target_Oe)
            corrected = self._checked_current(current + error / self.calibration.oe_per_amp)
            self._ramp_current(corrected, rate, on_step)
            measured = self._settled_field(on_step)
            if abs(target_Oe - measured) > self.tolerance_Oe:
                raise FieldAxisError(
                    f"axis {self.name}: field is {measured:.1f} Oe after one correction, "
                    f"target {target_Oe:.1f} Oe, tolerance {self.tolerance_Oe:g} Oe")
        self.target_Oe = target_Oe
        return measured

    def ramp_to(self, target_Oe: float, rate_Oe_s: float | None = None,
                on_step: Callable[[], None] | None = None) -> None:
        """Ramp the supply to the current for ``target_Oe`` and return at once: no settling,
        no gaussmeter check (the magnet still lags by L/R). For field pulses and for starting
        a pulse train the moment the field arrives; ``set_field`` when the field must be sure.
        Limits are checked before any output, as in ``set_field``.
        """
        current, rate = self._checked_target(target_Oe, rate_Oe_s)
        on_step = self._checked_steps(on_step)
        self.supply.enable()
        self._ramp_current(current, rate, on_step)
        self.target_Oe = target_Oe

    def _checked_steps(self, on_step: Callable[[], None] | None) -> Callable[[], None] | None:
        """``on_step`` preceded by ``stop_check`` (whichever of them is set)."""
        stop_check = self.stop_check
        if stop_check is None or on_step is None:
            return stop_check or on_step

        def step() -> None:
            stop_check()
            on_step()
        return step

    def check(self, target_Oe: float, rate_Oe_s: float | None = None) -> None:
        """Raise, naming the value and the limit, if ``target_Oe`` (its field, its ramp rate or
        the supply current it needs) is beyond this axis's limits. Sends nothing."""
        self._checked_target(target_Oe, rate_Oe_s)

    def _checked_target(self, target_Oe: float, rate_Oe_s: float | None) -> tuple[float, float]:
        """(supply current, ramp rate) for a field, refused beyond the limits."""
        lim = self.limits
        check_range(f"axis {self.name} field", target_Oe,
                    -lim.max_field_Oe, lim.max_field_Oe, "Oe")
        rate = lim.max_ramp_rate_Oe_s if rate_Oe_s is None else rate_Oe_s
        check_range(f"axis {self.name} ramp rate", rate, 1e-9, lim.max_ramp_rate_Oe_s, "Oe/s")
        branch = _sign(target_Oe) or self._excursion
        return self._checked_current(self.calibration.current_A(target_Oe, branch)), rate

    def ramp_to_zero(self, rate_Oe_s: float | None = None,
                     on_step: Callable[[], None] | None = None) -> None:
        """Ramp the current to zero at a bounded rate, wait for the coil to follow, then turn
        the output off. ``on_step`` as in ``set_field`` (e.g. a field log during a reset)."""
        rate = self.limits.max_ramp_rate_Oe_s if rate_Oe_s is None else rate_Oe_s
        check_range(f"axis {self.name} ramp rate", rate,
                    1e-9, self.limits.max_ramp_rate_Oe_s, "Oe/s")
        self._current_A = None  # a shutdown asks the supply, it does not trust what was sent
        on_step = self._checked_steps(on_step)
        self._ramp_current(0.0, rate, on_step)
        self._wait_current_decayed(on_step)
        self.supply.disable()
        self.target_Oe = None

    def _wait_current_decayed(self, on_step: Callable[[], None] | None = None) -> None:
        """Wait (up to ``settle_s``) for the coil current to follow the setpoint to zero.

        A magnet lags its supply by L/R: at the end of a fast ramp the coil still carries
        current, and turning the output off then would leave a field on the sample (and dump
        the stored energy into the supply). The supply's own current reading is used, not the
        gaussmeter, so this works when the gaussmeter is the instrument that failed.
        """
        band = self.zero_band_A
        waited = 0.0
        while abs(current := self.supply.measured_current) > band:
            if waited >= self.settle_s:
                raise FieldAxisError(
                    f"axis {self.name}: coil current still {current:.4g} A {self.settle_s:g} s "
                    f"after ramping to zero (band {band:.2g} A); output left on")
            if on_step is not None:
                on_step()
            self.clock.sleep(self.step_s)
            waited += self.step_s

    def _checked_current(self, amps: float) -> float:
        check_range(f"axis {self.name} current", amps,
                    -self.limits.max_current_A, self.limits.max_current_A, "A")
        return amps

    def _ramp_current(self, target_A: float, rate_Oe_s: float,
                      on_step: Callable[[], None] | None = None) -> None:
        rate_A_s = rate_Oe_s * self.amps_per_oe
        start = self._current_A if self._current_A is not None else self.supply.output_setpoint
        if target_A:
            self._excursion = _sign(target_A)
        if self.supply.ramps_internally:
            self.supply.set_ramp_rate(rate_A_s)
            self.supply.set_current(target_A)
            self._current_A = target_A  # the supply walks there by itself, at the rate
            self._wait_ramp_done(abs(target_A - start) / rate_A_s, on_step)
            return

        def step(amps: float) -> None:
            self.supply.set_current(amps)
            self._current_A = amps  # known at every step, so a stop mid-ramp loses nothing
            if on_step is not None:
                on_step()

        step_current(step, start, target_A, rate_A_s, self.clock, self.step_s)
        self._current_A = target_A

    def _wait_ramp_done(self, expected_s: float,
                        on_step: Callable[[], None] | None = None) -> None:
        # The first answer comes after the supply has taken the new setpoint (one link, in
        # order), so the deadline counts from there; each later poll counts by when it was
        # asked, so a late reply (a busy client, a socket) is not taken for a slow ramp.
        done = self.supply.ramp_done
        deadline = self.clock.now() + 2 * expected_s + 10 * self.step_s
        while not done:
            if on_step is not None:
                on_step()
            self.clock.sleep(self.step_s)
            asked_at = self.clock.now()
            done = self.supply.ramp_done
            if not done and asked_at > deadline:
                raise FieldAxisError(
                    f"axis {self.name}: supply ramp not done {2 * expected_s:.1f} s after "
                    f"an expected {expected_s:.1f} s")

    def _confirm_setpoint(self) -> None:
        """Ask a stepping supply what it drives before the gaussmeter is read: a write is only
        queued on the supply's own link, and a probe on another link would otherwise see the
        old field hold still and take it for settled. (A 643 was already asked: ramp done.)"""
        programmed = self.supply.output_setpoint
        if abs(programmed - self._current_A) > 1e-5 * abs(self._current_A) + 1e-6:  # 6 digits
            raise FieldAxisError(
                f"axis {self.name}: supply drives {programmed:.6g} A after being set to "
                f"{self._current_A:.6g} A")

    def _settled_field(self, on_step: Callable[[], None] | None = None) -> float:
        """Read the field until two readings one step apart agree within tolerance / 10.

        A magnet relaxing with time constant L/R is still (change per step) x L/R / step from
        its final field: 0.5 Oe per 0.1 s at L/R = 0.25 s leaves ~1 Oe, a fifth of the default
        tolerance (creep in these devices changes by ~5 % per Oe of drive).
        """
        if not self.supply.ramps_internally:
            self._confirm_setpoint()
        band = self.tolerance_Oe / 10
        previous = self.field
        waited = 0.0
        while waited < self.settle_s:
            if on_step is not None:
                on_step()
            self.clock.sleep(self.step_s)
            waited += self.step_s
            now = self.field
            if abs(now - previous) <= band:
                return now
            previous = now
        return previous
