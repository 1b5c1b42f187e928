"""The instrument-timed write/read pulse train shared by the neuron procedures (Fig 3d).

One period of the train is one period of a 6221 arbitrary waveform (ARB0, ``POINT_MIN_S`` =
10 µs per point, so a 10 ms period is 1000 points):

    I_write for write_width | I_read for the rest of the period

repeated ``SOUR:WAVE:DUR:CYCL`` times; a read-only train (write_width 0) is I_read throughout.
The 6221's phase marker pulses the Trigger Link once per period, ``read_delay`` after the write
has ended, and the 2182A (``TRIG:SOUR EXT``, buffer on ``TRAC:FEED:CONT NEXT``) takes one
reading of ``VOLTMETER_NPLC`` there, well inside the read part. This is how the paper's 0.5 ms
writes are made: a list sweep's points last >= 1 ms, a waveform's 10 µs.

Why this measures V_AHE at the read current: the 2182A integrates only while I_read flows
(marker after the write, aperture shorter than the rest of the period), so the write current
never enters a reading. Within one waveform the read has one polarity, so a reading is
I_read R_AHE + V_offset + V_thermoEMF. Just before each train a DC current-reversal pair,
V(+I_read) and V(-I_read), measures the current-independent part, (V+ + V-)/2 = V_offset +
V_thermoEMF, which is subtracted from every reading of the train. The thermal EMF drifts
slowly: about 1 µV varying by 30 % over minutes, i.e. < 10 nV/s, so over a 0.2 s write train
(or a 2 s reset train) the pair is stale by < 20 nV, against a 45 µV integration swing. The
2182A's digital filter is off (it would mix periods) and its range fixed (no autorange between
trains); the 6221 uses one range for the whole waveform (``SOUR:WAVE:RANG BEST``), so no
range change glitches the bar, but the read level is then sourced on the write's range and
carries that range's absolute accuracy: compare V levels within one run.

Real-hardware facts behind the limits: an ARB holds 2-65,535 points and runs at 1 mHz-100 kHz;
the 2182A buffer holds 1024 readings (one per period of a segment), and a trigger that
reaches it while a reading is still under way is lost, so one reading (aperture + overhead)
must end within a period. The phase marker goes on Trigger Link line ``MARKER_LINE``, the one the 2182A listens
to; the 6221 refuses to share a line with its own ``TRIG:OLIN`` (default 2), which is moved to
``PARKED_OUTPUT_LINE`` first. The 2182A is set up as Keithley's examples do for fast triggered
buffers: continuous initiation, front autozero, line sync and autozero off. Not confirmed from
the manual: the phase marker's degree span (0-360 used) and the 2182A's overhead per reading
(``READING_OVERHEAD_S``, a margin).

A train runs in segments of at most ``SEGMENT_S`` (0.1 s) of periods, one period at least:
the 6221 runs a segment's periods as one waveform while the 2182A stores one reading per
period. Once the segment's waveform has ended (the 6221's ``*OPC?``), the 2182A's buffer is
read, the next segment is armed and started, and then the readings go to the store and the
live plot. So a crash loses at most one segment's readings (the store's 0.25 s bound), not a
whole train (2 s of reset reads). The 2182A is never asked anything while a trigger may still
reach it: whether a bus query can make it miss a trigger is not in its manual, and a missed
trigger ruins the train (stricter reading; the simulated 2182A loses a trigger that comes
while it answers a query). With periods longer than a segment, each period is a segment and
its reading is read ``START_MARGIN_S`` after it is due, before the period ends. The price is
a pause between segments, as long as the re-arming takes (a few commands, ~10-30 ms on GPIB),
with no current: the same pause as between the baseline, write and reset trains of a cycle,
during which the fields alone hold the wall (the baseline is the control that they do).
Whatever sleeps while a train runs (the reset's field ramp) sleeps on a ``ServicingClock``,
so segments follow each other on time. The readings' times carry the pauses.

Times of the readings come from the waveform itself (the instrument's schedule), counted from
the segment's start: halfway between sending ``SOUR:WAVE:INIT`` and the 6221's next answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dwlab.procedures.buffer_drain import MAX_DRAIN_S

POINT_MIN_S = 10e-6  # ARB point time: the write width's resolution
ARB_POINTS_MAX = 65535
VOLTMETER_BUFFER = 1024  # 2182A TRAC:POIN maximum: one reading per period of a segment
TRAIN_PERIODS_MAX = 1024  # periods per train a procedure may ask for (~10 s at 10 ms)
SEGMENT_S = MAX_DRAIN_S  # a segment's readings span at most this: read within the store's bound
# After a period's reading is due, how long an early read waits for it: covers the 6221's
# latency from answering a query to starting the waveform (not in the manual: a margin).
START_MARGIN_S = 0.02
VOLTMETER_NPLC = 0.2  # 3.3 ms at 60 Hz, 4 ms at 50 Hz
APERTURE_MAX_S = VOLTMETER_NPLC / 50.0  # worst case, 50 Hz mains
READING_OVERHEAD_S = 2e-3  # 2182A time per reading beyond the aperture (unconfirmed: a margin)
VOLTMETER_RANGE_V = 0.1  # reads are ~0.1 mV plus the cross offset
MARKER_LINE = 2  # Trigger Link line of the 2182A's trigger input
PARKED_OUTPUT_LINE = 4  # TRIG:OLIN moves here: it may not share the marker's line (-221)


class PulseTrainError(ValueError):
    """Timing the instruments cannot run; names the parameter, the value and the limit."""


@dataclass(frozen=True)
class TrainTiming:
    """One period, in s: the write, then reads; the 2182A reads ``read_delay_s`` after the
    write ends. ``write_width_s`` 0 means a read-only period."""

    period_s: float
    write_width_s: float
    read_delay_s: float = 1e-3

    def __post_init__(self):
        if not 1e-5 <= self.period_s <= 1e3:
            raise PulseTrainError(f"period = {self.period_s * 1e3:g} ms is outside the 6221 "
                                  f"waveform's 0.01 ms - 1000 s (1 mHz - 100 kHz)")
        if self.write_width_s < 0 or self.read_delay_s < 0:
            raise PulseTrainError(f"write width = {self.write_width_s * 1e3:g} ms and read "
                                  f"delay = {self.read_delay_s * 1e3:g} ms must be >= 0")
        written = self.write_points * self.point_s
        if self.write_width_s and abs(written - self.write_width_s) > 1e-3 * self.write_width_s:
            raise PulseTrainError(
                f"write width = {self.write_width_s * 1e3:g} ms is not a whole number of "
                f"{self.point_s * 1e6:.4g} µs waveform points ({self.points} per period)")
        window = self.period_s - self.write_width_s - self.read_delay_s
        if window < APERTURE_MAX_S:
            raise PulseTrainError(
                f"period = {self.period_s * 1e3:g} ms leaves {window * 1e3:.3g} ms after the "
                f"write ({self.write_width_s * 1e3:g} ms) and the read delay "
                f"({self.read_delay_s * 1e3:g} ms); the 2182A reading needs "
                f"{APERTURE_MAX_S * 1e3:g} ms ({VOLTMETER_NPLC:g} NPLC at 50 Hz)")
        reading = APERTURE_MAX_S + READING_OVERHEAD_S
        if reading >= self.period_s:  # the next period's trigger would be lost
            raise PulseTrainError(
                f"period = {self.period_s * 1e3:g} ms is shorter than one 2182A reading, "
                f"{reading * 1e3:g} ms ({VOLTMETER_NPLC:g} NPLC at 50 Hz + "
                f"{READING_OVERHEAD_S * 1e3:g} ms overhead)")

    @property
    def points(self) -> int:
        return min(ARB_POINTS_MAX, max(2, round(self.period_s / POINT_MIN_S)))

    @property
    def point_s(self) -> float:
        return self.period_s / self.points

    @property
    def write_points(self) -> int:
        return round(self.write_width_s / self.point_s)

    @property
    def read_time_s(self) -> float:
        """When, within a period, the 2182A reading starts (the phase marker)."""
        return self.write_points * self.point_s + self.read_delay_s

    def waveform(self, write_A: float, read_A: float) -> tuple[float, list[float]]:
        """(amplitude A, normalised points) of one period: current = amplitude x point."""
        amplitude = max(abs(write_A), abs(read_A)) if self.write_points else abs(read_A)
        n_write = self.write_points
        return amplitude, ([write_A / amplitude] * n_write
                           + [read_A / amplitude] * (self.points - n_write))


@dataclass
class RunningTrain:
    """A train under way: what it is, the offset (V) measured just before it, the segment
    the instruments run now (periods from ``first``, started at ``t0_s`` on the lab clock) and
    the readings read so far (``t_s``, ``v_uV``)."""

    periods: int
    timing: TrainTiming
    read_A: float
    offset_V: float
    first: int = 0
    ended: bool = False  # the last segment's waveform has ended: the train is done
    t0_s: float = math.nan
    started_s: float = math.nan  # the 6221 had surely started the segment by then
    t_s: list[float] = field(default_factory=list)
    v_uV: list[float] = field(default_factory=list)

    @property
    def per_segment(self) -> int:
        """Periods per segment: their readings span at most ``SEGMENT_S`` (one at least)."""
        return min(VOLTMETER_BUFFER, max(1, int(SEGMENT_S / self.timing.period_s + 1e-9)))

    @property
    def segment(self) -> int:
        """Periods in the segment under way."""
        return min(self.per_segment, self.periods - self.first)

    @property
    def read(self) -> int:
        """Periods read so far."""
        return len(self.v_uV)

    @property
    def segment_read(self) -> bool:
        return self.read >= self.first + self.segment

    @property
    def early_read(self) -> bool:
        """Periods longer than a segment: each is a segment, and its reading is read before
        the period ends (it would wait up to the period)."""
        return self.timing.period_s > SEGMENT_S

    @property
    def segment_end_s(self) -> float:
        """When the segment's waveform is due to end (lab clock)."""
        return self.started_s + self.segment * self.timing.period_s

    @property
    def next_s(self) -> float:
        """When :meth:`PulseTrain.service` has something to do next (lab clock): read an
        early-read period once its reading is due (plus ``START_MARGIN_S``), else end the
        segment."""
        if self.early_read and not self.segment_read:
            return (self.started_s + self.timing.read_time_s + APERTURE_MAX_S
                    + READING_OVERHEAD_S + START_MARGIN_S)
        return self.segment_end_s

    @property
    def start_s(self) -> float:
        """The segment's start as the readings' times count it: between sending
        ``SOUR:WAVE:INIT`` and the 6221's next answer."""
        return (self.t0_s + self.started_s) / 2


class PulseTrain:
    """Runs write/read trains on a lab's 6221 and 2182A; returns V_AHE per period."""

    def __init__(self, lab, sleep):
        self.lab = lab
        self.sleep = sleep  # the procedure's abort-aware wait on the lab clock
        self._loaded: list[float] | None = None  # ARB0 as last sent: reload only on change

    def prepare(self, compliance_V: float) -> None:
        """Static settings, once per run: 2182A fast, unfiltered, fixed range, triggered;
        6221 compliance, waveform ranging and phase marker on the 2182A's line."""
        vm, source = self.lab.voltmeter, self.lab.source
        vm.abort()
        vm.continuous_enabled = False  # after *RST it may be continuous: INIT would post -213
        vm.front_autozero_enabled = False  # Keithley's examples: off for fast readings
        vm.line_sync_enabled = False
        vm.active_channel = 1
        vm.ch_1.voltage_range = VOLTMETER_RANGE_V
        vm.voltage_nplc = VOLTMETER_NPLC
        vm.auto_zero_enabled = False  # the reversal pair measures the offset instead
        vm.digital_filter_enabled = False
        vm.analog_filter_enabled = False  # adds ~125 ms of settling
        vm.trigger_delay = 0.0
        source.source_compliance = compliance_V
        source.waveform_ranging = "best"
        source.waveform_offset = 0.0
        source.waveform_use_phasemarker = True
        # the marker may not share TRIG:OLIN's line (-221, old line kept): move that first
        source.set_trigger_lines(output_line=PARKED_OUTPUT_LINE, marker_line=MARKER_LINE)

    def offset_V(self, read_A: float) -> float:
        """(V(+I_read) + V(-I_read)) / 2: the cross offset and thermal EMF, which do not
        reverse with the current. Leaves the source at 0 A, output on."""
        source, vm = self.lab.source, self.lab.voltmeter
        vm.abort()
        vm.trigger_source = "IMM"
        vm.trigger_count = 1
        readings = []
        for level in (read_A, -read_A):
            source.source_current = level
            source.enable_source()
            # the 2182A is on another link: read only once the 6221 has taken the level
            source.complete  # noqa: B018 - *OPC?
            readings.append(float(vm.voltage))
        source.source_current = 0.0
        return (readings[0] + readings[1]) / 2

    def start(self, periods: int, timing: TrainTiming, write_A: float,
              read_A: float) -> RunningTrain:
        """Measure the offset, load the waveform and start the train's first segment; returns
        at once (the instruments time it). :meth:`service` reads it on."""
        if periods < 1:
            raise PulseTrainError(f"train length = {periods} periods; at least 1")
        source = self.lab.source
        train = RunningTrain(periods, timing, read_A, self.offset_V(read_A))
        amplitude, points = timing.waveform(write_A, read_A)
        if points != self._loaded:
            source.define_arbitrary_waveform(points)
            self._loaded = points
        source.waveform_frequency = 1.0 / timing.period_s
        source.waveform_amplitude = amplitude
        source.waveform_phasemarker_phase = 360.0 * timing.read_time_s / timing.period_s
        self._start_segment(train)
        return train

    def _start_segment(self, train: RunningTrain) -> None:
        """Arm the 2182A for the segment's triggers, then run its periods on the 6221."""
        source, vm, n = self.lab.source, self.lab.voltmeter, train.segment
        source.waveform_duration_cycles = n
        vm.trigger_source = "EXT"
        vm.trigger_count = n
        vm.clear_buffer()
        vm.buffer_points = max(2, n)  # the 2182A buffer takes at least 2
        vm.buffer_feed = "SENS"
        vm.buffer_feed_control = "NEXT"
        vm.initiate()
        # the 2182A has its own link: a query is answered only after INIT has been parsed, so
        # the waveform cannot start before the 2182A waits for its triggers
        armed = vm.trigger_count
        if armed != n:
            raise RuntimeError(f"2182A trigger count reads {armed}, expected {n}")
        source.waveform_arm()
        train.t0_s = self.lab.clock.now()
        source.waveform_start()
        # answered only after the start has been parsed: from here on the segment runs
        cycles = source.waveform_duration_cycles
        train.started_s = self.lab.clock.now()
        if cycles != n:
            raise RuntimeError(f"6221 waveform cycles read {cycles}, expected {n}")

    def service(self, train: RunningTrain, on_readings=None) -> bool:
        """Once the segment under way has ended (the 6221's ``*OPC?``: no trigger can still
        come), read its readings, start the next segment, then hand the readings to
        ``on_readings(first, t_s, v_uV)``. True when the whole train is read and has ended.

        Waits at most for the rest of a segment, never longer: call it often, or sleep on a
        :class:`ServicingClock`. An early-read period (``RunningTrain.early_read``) is read
        ``START_MARGIN_S`` after its reading is due, before its period ends.
        """
        if train.ended or self.lab.clock.now() < train.next_s:
            return train.ended
        if train.early_read and not train.segment_read:
            self._hand_on(train, self._read_segment(train), on_readings)
            return False
        self.lab.source.complete  # noqa: B018 - *OPC?: the segment's waveform has ended
        readings = None if train.segment_read else self._read_segment(train)
        if train.first + train.segment < train.periods:
            train.first += train.segment
            self._start_segment(train)
        else:
            train.ended = True
        if readings is not None:
            self._hand_on(train, readings, on_readings)
        return train.ended

    @staticmethod
    def _hand_on(train: RunningTrain, readings, on_readings) -> None:
        t, v = readings
        first = train.read
        train.t_s.extend(t)
        train.v_uV.extend(v)
        if on_readings is not None:
            on_readings(first, t, v)

    def _read_segment(self, train: RunningTrain) -> tuple[np.ndarray, np.ndarray]:
        """The segment's readings: (t_s when each reading started, V_uV at +I_read)."""
        vm, timing, n = self.lab.voltmeter, train.timing, train.segment
        vm.complete  # noqa: B018 - *OPC?: the last reading is stored
        volts = np.atleast_1d(np.asarray(vm.buffer_data, dtype=float))
        if volts.size != n:
            raise RuntimeError(f"2182A buffer holds {volts.size} readings after a segment of "
                               f"{n} periods: the phase marker missed periods")
        t = train.start_s + np.arange(n) * timing.period_s + timing.read_time_s
        return t, (volts - train.offset_V) * 1e6

    def finish(self, train: RunningTrain, on_readings=None) -> tuple[np.ndarray, np.ndarray]:
        """Read the train to its end (as :meth:`service`); (t_s, V_uV) of all its periods."""
        while not self.service(train, on_readings):
            self.sleep(max(0.0, train.next_s - self.lab.clock.now()))
        return np.asarray(train.t_s), np.asarray(train.v_uV)

    def run(self, periods: int, timing: TrainTiming, write_A: float, read_A: float,
            on_readings=None) -> tuple[np.ndarray, np.ndarray]:
        return self.finish(self.start(periods, timing, write_A, read_A), on_readings)


class ServicingClock:
    """The lab clock, with sleeps that keep a running train read and its next segment
    started on time: for what sleeps while a train runs (a field ramp between its steps,
    a wait for the field to go off), so the pause between segments stays the re-arming's."""

    def __init__(self, trains: PulseTrain, train: RunningTrain, on_readings=None):
        self.trains, self.train, self.on_readings = trains, train, on_readings
        self.clock = trains.lab.clock

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        end = self.clock.now() + seconds
        while not self.train.ended and self.train.next_s < end:
            self.clock.sleep(max(0.0, self.train.next_s - self.clock.now()))
            self.trains.service(self.train, self.on_readings)
        self.clock.sleep(max(0.0, end - self.clock.now()))
