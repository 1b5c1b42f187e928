"""The instrument-timed write/read pulse train shared by the neuron procedures (Fig 3d).

One period of the train is a 6221 list sweep of four points (three without a write):

    I_write for write_width | +I_read for read_dwell | -I_read for read_dwell | 0 A for the rest

repeated ``SOUR:SWE:COUN`` times. The 6221 fires the Trigger Link as each point is sourced
(``TRIG:OUTP SOUR``), and the 2182A (``TRIG:SOUR EXT``, its buffer on ``TRAC:FEED:CONT NEXT``)
takes one reading per point, after ``TRIG:DEL`` plus one aperture, inside that point's dwell.

Why this measures V_AHE at the read current: the two read points source exactly +I_read and
-I_read, and the 2182A integrates only while they flow (trigger on the source step, aperture
shorter than the dwell), so the write current never enters a read. Half their difference,
(V(+I) - V(-I)) / 2 = I_read R_AHE, is V_AHE at +I_read with the current-independent parts --
thermal EMF, the 2182A offset and drift -- cancelled; that is also why autozero can be off. The
readings taken on the write and rest points are discarded. The 2182A's digital filter must be
off (a moving average would mix the two polarities) and its range fixed (no autorange between
points of 20 mA and 100 µA); the 6221 uses one range for the whole list (``SOUR:SWE:RANG
BEST``), so no range change glitches the bar.

Real-hardware limits that set the parameter ranges: a 6221 list point lasts at least 1 ms
(``SOUR:LIST:DEL`` >= 1e-3 s), so write pulses are >= 1 ms in this mode; the 2182A buffer holds
1024 readings (about 250 periods); 0.02 PLC plus 0.2 ms trigger delay (0.6 ms at 50 Hz) fits
inside the 1 ms shortest point.

Times of the points come from the list itself (the instrument's schedule), counted from the
moment ``INIT`` was sent, not from Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LIST_POINT_MIN_S = 1e-3  # 6221 SOUR:LIST:DEL minimum
VOLTMETER_BUFFER = 1024  # 2182A TRAC:POIN maximum
VOLTMETER_NPLC = 0.02  # 0.33 ms at 60 Hz, 0.4 ms at 50 Hz
VOLTMETER_TRIGGER_DELAY_S = 2e-4  # settling of the Hall voltage after a current step
VOLTMETER_RANGE_V = 0.1  # reads are ~0.1 mV; a 20 mA write point reads ~20 mV + cross offset
READING_TIME_S = VOLTMETER_TRIGGER_DELAY_S + VOLTMETER_NPLC / 50.0  # worst case, 50 Hz mains


class PulseTrainError(ValueError):
    """Timing the instruments cannot run; names the parameter, the value and the limit."""


@dataclass(frozen=True)
class TrainTiming:
    """Durations of one period, in s. ``write_width_s`` 0 means a read-only period."""

    period_s: float
    write_width_s: float
    read_dwell_s: float

    def __post_init__(self):
        if self.write_width_s and self.write_width_s < LIST_POINT_MIN_S:
            raise PulseTrainError(
                f"write width = {self.write_width_s * 1e3:g} ms is shorter than the 6221's "
                f"shortest list point, {LIST_POINT_MIN_S * 1e3:g} ms")
        if self.read_dwell_s < max(LIST_POINT_MIN_S, READING_TIME_S):
            raise PulseTrainError(
                f"read dwell = {self.read_dwell_s * 1e3:g} ms is shorter than "
                f"{max(LIST_POINT_MIN_S, READING_TIME_S) * 1e3:g} ms (6221 list point, "
                f"2182A trigger delay + aperture)")
        if self.rest_s < LIST_POINT_MIN_S:
            raise PulseTrainError(
                f"period = {self.period_s * 1e3:g} ms leaves {self.rest_s * 1e3:.3g} ms after "
                f"the write ({self.write_width_s * 1e3:g} ms) and two reads "
                f"({self.read_dwell_s * 1e3:g} ms each); needs >= {LIST_POINT_MIN_S * 1e3:g} ms")

    @property
    def rest_s(self) -> float:
        return self.period_s - self.write_width_s - 2 * self.read_dwell_s

    def points(self, write_A: float, read_A: float) -> tuple[list[float], list[float]]:
        """(currents, dwells) of one period; the write point only when there is a write."""
        currents = [read_A, -read_A, 0.0]
        dwells = [self.read_dwell_s, self.read_dwell_s, self.rest_s]
        if self.write_width_s:
            currents.insert(0, write_A)
            dwells.insert(0, self.write_width_s)
        return currents, dwells


@dataclass
class RunningTrain:
    """A train the 6221 is running: what to expect back and when it started (lab clock)."""

    t0_s: float
    periods: int
    timing: TrainTiming
    read_A: float

    @property
    def points_per_period(self) -> int:
        return 4 if self.timing.write_width_s else 3

    @property
    def readings(self) -> int:
        return self.periods * self.points_per_period


class PulseTrain:
    """Runs write/read trains on a lab's 6221 and 2182A; returns V_AHE per period."""

    def __init__(self, lab, sleep):
        self.lab = lab
        self.sleep = sleep  # the procedure's abort-aware wait on the lab clock

    def prepare(self, compliance_V: float) -> None:
        """Static settings, once per run: 2182A fast, unfiltered, fixed range; 6221 compliance."""
        vm = self.lab.voltmeter
        vm.active_channel = 1
        vm.ch_1.voltage_range = VOLTMETER_RANGE_V
        vm.voltage_nplc = VOLTMETER_NPLC
        vm.auto_zero_enabled = False  # the +/- pair cancels offsets; autozero doubles the time
        vm.digital_filter_enabled = False
        vm.analog_filter_enabled = False  # adds ~125 ms of settling
        self.lab.source.source_compliance = compliance_V

    @staticmethod
    def check_periods(periods: int, with_write: bool, what: str) -> None:
        per = 4 if with_write else 3
        if periods * per > VOLTMETER_BUFFER:
            raise PulseTrainError(
                f"{what} = {periods} periods is {periods * per} 2182A readings; its buffer "
                f"holds {VOLTMETER_BUFFER} ({VOLTMETER_BUFFER // per} periods)")

    def start(self, periods: int, timing: TrainTiming, write_A: float,
              read_A: float) -> RunningTrain:
        """Load and start a train; returns at once (the instruments time it)."""
        self.check_periods(periods, bool(timing.write_width_s), "train length")
        source, vm = self.lab.source, self.lab.voltmeter
        currents, dwells = timing.points(write_A, read_A)
        train = RunningTrain(0.0, periods, timing, read_A)
        vm.abort()
        vm.trigger_source = "EXT"
        vm.trigger_delay = VOLTMETER_TRIGGER_DELAY_S
        vm.trigger_count = train.readings
        vm.clear_buffer()
        vm.buffer_points = train.readings
        vm.buffer_feed = "SENS"
        vm.buffer_feed_control = "NEXT"
        vm.initiate()
        source.list_sweep(currents, dwells)
        source.sweep_ranging = "BEST"
        source.sweep_count = periods
        source.trigger_output_event = "SOUR"
        source.sweep_arm()
        train.t0_s = self.lab.clock.now()
        source.start()
        return train

    def finish(self, train: RunningTrain) -> tuple[np.ndarray, np.ndarray]:
        """Wait for the train, read the 2182A buffer: (t_s, V_uV at +I_read) per period.

        ``t_s`` is when the period's read pair ended (lab clock).
        """
        remaining = train.t0_s + train.periods * train.timing.period_s - self.lab.clock.now()
        if remaining > 0:
            self.sleep(remaining)
        self.lab.source.complete  # noqa: B018 - *OPC?: the sweep has finished
        volts = np.atleast_1d(np.asarray(self.lab.voltmeter.buffer_data, dtype=float))
        if volts.size != train.readings:
            raise RuntimeError(f"2182A buffer holds {volts.size} readings after the train, "
                               f"expected {train.readings}: the trigger link missed points")
        table = volts.reshape(train.periods, train.points_per_period)
        plus, minus = table[:, -3], table[:, -2]
        v_uV = (plus - minus) / 2 * 1e6
        timing = train.timing
        t = (train.t0_s + np.arange(train.periods) * timing.period_s
             + timing.write_width_s + 2 * timing.read_dwell_s)
        return t, v_uV

    def run(self, periods: int, timing: TrainTiming, write_A: float,
            read_A: float) -> tuple[np.ndarray, np.ndarray]:
        return self.finish(self.start(periods, timing, write_A, read_A))
