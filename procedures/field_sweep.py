"""Continuous Hz sweeps with V_AHE read on the fly: what `hysteresis` and `loop-shift` share.

The field sweeps without stopping: the field axis steps its supply at the sweep rate on the
lab's clock (``FieldAxis.set_field(target, rate)``) while the voltmeter reads on its own
instrument-timed schedule into a buffer. The magnet lags its supply by L/R (~0.25 s, 25 Oe at
100 Oe/s), so the field of a reading is never taken from the supply setpoint: the gaussmeter
is read at every supply step (``FieldRecorder``) and each reading gets the gaussmeter field
interpolated at its own time. Between two steps (0.1 s) the field changes by rate x 0.1 s,
smoothly (the coil's lag rounds the staircase), so the interpolation is good to ~1 Oe.

Two ways of reading V_AHE (``Sense``):

- ``DeltaSense``: the 6221's delta mode with the 2182A on its RS-232 / trigger link. The
  6221 alternates +I / -I and the 2182A forms (V1 - 2 V2 + V3)/4 from three successive
  conversions: V_AHE at +I with the thermal EMF (about 1 µV, drifting) cancelled to first
  order in its drift. The instruments set the reading rate and timestamp each reading, so
  Python's timing does not enter. Used for hysteresis at a small read current.
- ``DcSense``: the 6221 sources a steady DC current and the 2182A takes timer-triggered
  readings into its buffer. Used for loop shift, where the DC current is itself the
  experiment (its SOT shifts the loop) and V_AHE at mA currents is mV, so the µV thermal
  EMF does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dwlab.instruments.field_axis import FieldAxis
from dwlab.lab import LimitError
from dwlab.procedures.buffer_drain import BufferDrain, WholeBufferReads

DELTA_ELEMENTS = ["READ", "TST"]  # the 6221's FORM:ELEM for a delta sweep


@dataclass(frozen=True)
class SweepTrace:
    """One branch of a sweep: reading times (lab clock, s), fields (Oe) and voltages (V)."""

    t_s: np.ndarray
    Hz_Oe: np.ndarray
    V_V: np.ndarray


class FieldRecorder:
    """The gaussmeter field, logged at every supply step of a ramp: pass ``record`` as the
    field axis's ``on_step``. Each reading then gets the field interpolated at its own time
    (``field_at``), since the magnet lags its supply."""

    def __init__(self, axis: FieldAxis, clock):
        self.axis = axis
        self.clock = clock
        self.times: list[float] = []
        self.fields: list[float] = []

    def record(self) -> None:
        self.times.append(self.clock.now())
        self.fields.append(self.axis.field)

    def field_at(self, t_s: np.ndarray) -> np.ndarray:
        """The gaussmeter field interpolated at times ``t_s`` (held at the ends of the log)."""
        order = np.argsort(self.times, kind="stable")
        return np.interp(t_s, np.asarray(self.times)[order], np.asarray(self.fields)[order])


class DeltaSense:
    """V_AHE at +I by the 6221's delta mode (see the module docstring for why).

    ``current_A`` is the delta high level (the low level is -current_A); ``delay_s`` the
    6221's delta delay before each conversion, for the current to settle.
    """

    def __init__(self, source, voltmeter, current_A: float, nplc: float,
                 delay_s: float = 2e-3):
        self.source, self.voltmeter = source, voltmeter
        self.current_A, self.nplc, self.delay_s = current_A, nplc, delay_s
        self._t0 = 0.0

    @property
    def conversion_s(self) -> float:
        """Time between two conversions: the delay plus the 2182A's aperture."""
        return self.delay_s + aperture_s(self.nplc)

    def configure(self, compliance_V: float) -> None:
        vm = self.voltmeter
        vm.active_channel = 1
        vm.voltage_nplc = self.nplc
        vm.digital_filter_enabled = False  # each delta reading stands alone
        src = self.source
        src.source_compliance = compliance_V
        src.delta_high_source = self.current_A
        src.delta_low_source = -self.current_A  # the 6221 does this itself; be explicit
        src.delta_delay = self.delay_s
        src.delta_cycles = "INF"
        src.data_elements = DELTA_ELEMENTS

    def start(self, clock) -> None:
        src = self.source
        src.delta_arm()
        self._t0 = clock.now()
        src.start()
        self._drain = BufferDrain(
            lambda: src.buffer_points_actual,
            lambda start, n: src.buffer_columns(DELTA_ELEMENTS, DELTA_ELEMENTS, start, n))

    def drain(self) -> tuple[np.ndarray, np.ndarray]:
        """The readings new since the last drain: their times on the lab clock, and V.

        A reading combines three conversions; it is dated at the middle one, one conversion
        period before the 6221's timestamp (which is that of the last).
        """
        new = self._drain.new()
        if new is None:
            return np.empty(0), np.empty(0)
        volts, tst = new
        ok = np.isfinite(volts)
        return self._t0 + tst[ok] - self.conversion_s, volts[ok]

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """Stop the run; the readings not drained yet, as ``drain``."""
        self.source.abort()
        return self.drain()


class DcSense:
    """V_AHE under a steady DC current: timer-triggered 2182A readings into its buffer.

    The 2182A's buffer holds at most ``MAX_READINGS``; ``start`` spaces the readings so that
    the expected duration fits, never closer than one aperture plus ``gap_s``.
    """

    MAX_READINGS = 1024

    def __init__(self, source, voltmeter, nplc: float, gap_s: float = 5e-3):
        self.source, self.voltmeter = source, voltmeter
        self.nplc, self.gap_s = nplc, gap_s
        self._aperture = aperture_s(nplc)
        self._t0 = 0.0
        self._period = 0.0

    def configure(self, compliance_V: float) -> None:
        vm = self.voltmeter
        vm.active_channel = 1
        vm.voltage_nplc = self.nplc
        vm.digital_filter_enabled = False
        vm.continuous_enabled = False
        self.source.source_compliance = compliance_V

    def set_current(self, current_A: float) -> None:
        """Source ``current_A`` DC with the output on (0 turns the output off)."""
        self.source.source_current = current_A
        if current_A:
            self.source.enable_source()
        else:
            self.source.disable_source()
        # the 2182A is on another link: its readings start only once the 6221 has the current
        self.source.complete  # noqa: B018 - *OPC?

    def start(self, clock, expected_s: float) -> None:
        self._period = max(self._aperture + self.gap_s, expected_s / (self.MAX_READINGS - 1))
        vm = self.voltmeter
        vm.abort()
        vm.clear_buffer()
        vm.trigger_source = "TIM"
        vm.write(f"TRIG:TIM {self._period:.6f}")
        vm.trigger_count = self.MAX_READINGS
        vm.buffer_points = self.MAX_READINGS
        vm.buffer_feed = "SENS"
        vm.buffer_feed_control = "NEXT"
        self._t0 = clock.now()
        self._drain = BufferDrain(lambda: vm.buffer_points_actual,
                                  WholeBufferReads(lambda: vm.buffer_data))
        vm.initiate()

    def drain(self) -> tuple[np.ndarray, np.ndarray]:
        """The readings new since the last drain: times (mid-aperture) on the lab clock, V.

        The 2182A's readings carry no time; the k-th (from 1) came k timer periods after the
        start, less half an aperture."""
        first = self._drain.taken
        new = self._drain.new()
        if new is None:
            return np.empty(0), np.empty(0)
        (volts,) = new
        t = self._t0 + self._period * np.arange(first + 1, first + 1 + len(volts)) \
            - self._aperture / 2
        ok = np.isfinite(volts)
        return t[ok], volts[ok]

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """Stop the readings; those not drained yet, as ``drain``."""
        self.voltmeter.abort()
        return self.drain()


def sweep_branch(axis: FieldAxis, clock, target_Oe: float, rate_Oe_s: float, start,
                 drain, stop, on_step=None, on_readings=None) -> SweepTrace:
    """Sweep ``axis`` to ``target_Oe`` at ``rate_Oe_s`` while a sense reads; one branch.

    ``start()`` begins the readings just before the ramp; ``drain()`` returns (times, volts)
    of the readings new since its last call, and is called at every supply step, so each
    reading reaches ``on_readings(SweepTrace)`` (the store, the live plot) within a step of
    its moment; ``stop()`` ends them after the field has settled at the target and returns the
    rest. The field of every reading is the gaussmeter field interpolated at its time.
    ``on_step`` (e.g. the procedure's abort check) is called at every supply step too; if it
    raises, the sweep stops where it is. Returns the whole branch.
    """
    recorder = FieldRecorder(axis, clock)
    parts: list[SweepTrace] = []

    def hand_on(t: np.ndarray, volts: np.ndarray) -> None:
        if len(t):
            parts.append(SweepTrace(t_s=t, Hz_Oe=recorder.field_at(t), V_V=volts))
            if on_readings is not None:
                on_readings(parts[-1])

    def step() -> None:
        recorder.record()
        hand_on(*drain())
        if on_step is not None:
            on_step()

    recorder.record()
    start()
    axis.set_field(target_Oe, rate_Oe_s, on_step=step)
    recorder.record()
    hand_on(*stop())
    if not parts:
        return SweepTrace(t_s=np.empty(0), Hz_Oe=np.empty(0), V_V=np.empty(0))
    return SweepTrace(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("t_s", "Hz_Oe", "V_V")))


GAUSSMETER_RANGES_OE = (35.0, 350.0, 3500.0, 35000.0)  # Lake Shore 425 full scales (G = Oe in air)


def hold_gaussmeter_range(gaussmeter, max_field_Oe: float) -> None:
    """Fix the gaussmeter on the smallest range that holds ``max_field_Oe`` with headroom.

    Autoranging mid-sweep costs a range switch (a glitch, a lost reading, or an overload
    reading near a full scale) each time the field passes 35, 350 or 3500 Oe; one fixed range
    for the whole sweep has none. Undo with ``gaussmeter.auto_range()``.
    """
    need = abs(max_field_Oe) * 1.02 + 20.0
    fits = [r for r in GAUSSMETER_RANGES_OE if r >= need]
    if not fits:
        raise LimitError(f"|H| = {abs(max_field_Oe):g} Oe is beyond the gaussmeter's largest "
                         f"range, {GAUSSMETER_RANGES_OE[-1]:g} Oe")
    gaussmeter.range = int(fits[0])


def check_sweep_rate(lab, rate_Oe_s: float) -> None:
    """Refuse a sweep rate beyond the z axis's ramp-rate limit, before any output."""
    limit = lab.field_z.limits.max_ramp_rate_Oe_s
    if rate_Oe_s > limit:
        raise LimitError(f"sweep_rate_Oe_s = {rate_Oe_s:g} Oe/s exceeds the setup's limit "
                         f"field.z.max_ramp_rate_Oe_s = {limit:g} Oe/s")


def aperture_s(nplc: float) -> float:
    """The 2182A's integration time for ``nplc`` power-line cycles, at 60 Hz mains (the sim's
    and US labs'); a 50 Hz lab changes only the spacing of readings, not their meaning."""
    return nplc / 60.0
