"""Simulated Keithley 6221 current source, with the 2182A on its RS-232 and trigger link.

The state is laid out as the manual's chapters: the DC source (``DcSource``), one dataclass
per test mode (``PulseDelta``, ``Delta``, ``Sweep``, ``Waveform``), the reading buffer
(``Buffer``), the Trigger Link (``TriggerLink``) and the RS-232 pass-through to the 2182A
(``SerialLink``). Each mode has one section below: its commands, its arm check and its run.

The current it sources flows through the simulated bar (``lab.set_source_current``), limited
by the compliance voltage over the bar's resistance. Pulse delta, delta, the staircase/list
sweeps and waveforms are run by the instrument on the lab's clock, as scheduled events: pulse
edges, 2182A conversions and trigger-link pulses happen at their own times however the client
polls, and the wall in the device model moves only while current flows. Test readings go to
the 6221's buffer with their timestamps (s since the test started), read back as ``FORM:ELEM``
lays out. After a test ends or is aborted the output stays on at the DC level
(``SOUR:CURR``); a waveform turns the output off.

Pulse delta cycle k (period T = INT / 60 Hz) rises at ``T/2 + kT``, is read at SDEL into the
pulse, falls at WIDT, and the low level is read SDEL after the fall. Its reading is
``V_high - (V_low_before + V_low_after)/2`` (``LME 2``) or ``V_high - V_low_before``
(``LME 1``): a slowly drifting thermal EMF cancels. Delta alternates HIGH/LOW every
DEL + NPLC/60 and reads ``(A - 2B + C)/4 * (-1)^n`` over three successive conversions.

Waveform mode (``SOUR:WAVE``): one period is the ARB0..ARB4 points (normalised -1..1, loaded
into ARB0 by ``ARB:DATA`` + ``ARB:APP``, at most 100 per command and 65,535 in all, copied to
ARB1..4 by ``ARB:COPY``) or a square wave of duty ``DCYC``; the current is ``OFFS + AMPL x
point``, each point lasting period / points. Consecutive equal points merge into one segment,
so a 1000-point period of [write][read] costs two current changes, not 1000 events. With
``PMAR:STAT ON`` the phase marker pulses its Trigger Link line (``PMAR:OLIN``, default 3) once
per period at ``PMAR`` degrees into it; only line 2 reaches the 2182A's trigger input.
``SOUR:WAVE:ARM`` checks the settings, ``SOUR:WAVE:INIT`` turns the output on and starts; at
the end of ``DUR:CYCL`` / ``DUR:TIME``, and on ``SOUR:WAVE:ABOR``, the output turns off at the
DC level (the user's manual: "the output will turn off after the duration period has
expired"; that ABOR does the same is assumed). SIN and RAMP are accepted as settings but not
simulated: arming them posts -221.

Trigger Link: ``TRIG:OLIN`` (default 2) and the phase marker's ``PMAR:OLIN`` (default 3) must
be different lines; a command that would put them on one line posts -221 "Settings conflict"
and keeps the old line (INSTRUMENTS.md, settled facts).

Serial pass-through: ``SYST:COMM:SER:SEND "<cmd>"`` hands the command to the 2182A; its reply
reaches the 6221 only once the 2182A has finished (a ``READ?`` takes its reading time) and the
characters have crossed the RS-232 line. ``SYST:COMM:SER:ENT?`` before then answers an empty
line, as the real one does when nothing has arrived.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from dwlab.instruments.sim.keithley2182 import OVERFLOW, TRIGGER_INPUT_LINE
from dwlab.instruments.sim.lab import LINE_FREQUENCY_HZ
from dwlab.instruments.sim.scpi import (
    DATA_OUT_OF_RANGE,
    DATA_STALE,
    MISSING_PARAMETER,
    PARAMETER_NOT_ALLOWED,
    SETTINGS_CONFLICT,
    Bool,
    Choice,
    Num,
    ScpiResponder,
    Text,
    no_args,
    one_arg,
    parse_list,
    require,
)

I_MAX = 0.105
CURRENT_RANGES_A = (2e-9, 20e-9, 200e-9, 2e-6, 20e-6, 200e-6, 2e-3, 20e-3, 100e-3)
CURRENT = Num(-I_MAX, I_MAX, 0.0, unit="A")
COMPLIANCE = Num(0.1, 105.0, 10.0, unit="V")
SOURCE_DELAY = Num(1e-3, 999999.999, 1e-3, unit="S")
DURATION_TIME = Num(100e-9, 999999.999, math.inf, unit="S", inf=True)
DURATION_CYCLES = Num(1e-3, 99999999900.0, math.inf, inf=True)
LINE = Num(1, 6, integer=True)
READING_NUMBER = Num(0, 65535, integer=True)  # TRAC:DATA:SEL?'s start, the first is #0
READING_COUNT = Num(1, 65536, integer=True)
ARB_POINTS_MAX = 65535  # the settled facts: at most 65,535 points, not 65,536
POINTS_PER_COMMAND = 100  # ARB:DATA/APP and LIST:...[:APP] take at most 100 values each
LIST_POINTS_MAX = 65535  # (unconfirmed: stricter reading, the same bound as SWE:POIN)
WAVE_FUNCTIONS = ("SINusoid", "SQUare", "RAMP", "ARB0", "ARB1", "ARB2", "ARB3", "ARB4")
SERIAL_BAUD = 19200  # 6221 <-> 2182A RS-232 (unconfirmed: stricter reading, the slower rate)


class Mode(Enum):
    """The 6221's test modes; the value is what ``TRAC:DATA:TYPE?`` names."""

    PULSE_DELTA = "PULS"
    DELTA = "DELT"
    SWEEP = "SWE"
    WAVE = "WAVE"


class Spacing(Enum):
    LINEAR = "LIN"
    LOG = "LOG"
    LIST = "LIST"


class TriggerEvent(Enum):
    """``TRIG:OUTP``: when a sweep pulses the output line."""

    SOURCE = "SOUR"
    DELAY = "DEL"
    SENSE = "SENS"
    NONE = "NONE"


def query(answer):
    """The getter of a query without parameters: it answers ``answer()``."""
    def getter(args):
        no_args(args)
        return answer()
    return getter


def command(action):
    """The setter of a command without parameters: it does ``action()``."""
    def setter(args):
        no_args(args)
        action()
    return setter


class Keyword:
    """A keyword parameter (as :class:`Choice`) stored as an enum member."""

    def __init__(self, enum: type[Enum], *words: str):
        self.enum, self.choice = enum, Choice(*words)

    def parse(self, text: str) -> Enum:
        return self.enum(self.choice.parse(text))

    def format(self, value: Enum) -> str:
        return value.value


# ---------------------------------------------------------------- state, chapter by chapter

@dataclass
class DcSource:
    level_A: float = 0.0
    range_A: float = 2e-3
    range_auto: bool = True
    compliance_V: float = 10.0
    delay_s: float = 1e-3
    output_on: bool = False
    low_to_earth: bool = False  # OUTP:LTE: output low connected to chassis earth
    inner_shield: str = "OLOW"  # OUTP:ISH: triax inner shield on output low or on guard


@dataclass
class PulseDelta:
    high_A: float = 1e-3
    low_A: float = 0.0
    width_s: float = 110e-6
    sense_delay_s: float = 16e-6
    count: float = 10
    ranging: str = "BEST"
    interval_plc: int = 5
    sweep: bool = False
    low_measurements: int = 2

    @property
    def period_s(self) -> float:
        return self.interval_plc / LINE_FREQUENCY_HZ

    def check(self) -> None:
        require(self.sense_delay_s < self.width_s, SETTINGS_CONFLICT,
                f"SDEL {self.sense_delay_s} s must be shorter than WIDT {self.width_s} s")
        require(self.width_s + self.sense_delay_s < self.period_s / 2, SETTINGS_CONFLICT,
                f"WIDT + SDEL must fit in half the {self.period_s} s cycle")
        require(not self.sweep, SETTINGS_CONFLICT, "pulse-delta sweeps are not simulated")


@dataclass
class Delta:
    high_A: float = 1e-3
    low_A: float = -1e-3
    delay_s: float = 2e-3
    count: float = math.inf
    compliance_abort: bool = False
    cold_switch: bool = False
    unit: str = "V"  # UNIT: delta readings in V, OHMS, W (peak power) or SIEM


@dataclass
class Panel:
    """Front panel and status registers: ``DISP:ENAB`` and the enable masks of the
    measurement, operation and questionable event registers. No condition the simulator
    models sets a bit in those three event registers: they always read 0."""

    display_on: bool = True
    measurement_enable: int = 0
    operation_enable: int = 0
    questionable_enable: int = 0


@dataclass
class Sweep:
    spacing: Spacing = Spacing.LINEAR
    points: int = 11
    ranging: str = "BEST"
    count: float = 1
    compliance_abort: bool = False
    start_A: float = 0.0
    stop_A: float = 0.0
    step_A: float = 0.0
    list_currents: list[float] = field(default_factory=list)
    list_delays: list[float] = field(default_factory=list)
    list_compliances: list[float] = field(default_factory=list)

    def steps(self, delay_s: float) -> list[tuple[float, float]]:
        """(current A, delay s) of each step of one sweep; ``delay_s`` is ``SOUR:DEL``."""
        if self.spacing is Spacing.LIST:
            n = len(self.list_currents)
            delays = (self.list_delays + [delay_s] * n)[:n]
            return list(zip(self.list_currents, delays, strict=True))
        if self.spacing is Spacing.LINEAR:
            n = self.points
            levels = np.linspace(self.start_A, self.stop_A, n) if n > 1 else [self.start_A]
        else:
            require(self.start_A * self.stop_A > 0, SETTINGS_CONFLICT,
                    "LOG sweep needs START, STOP of one sign")
            levels = np.sign(self.start_A) * np.geomspace(abs(self.start_A), abs(self.stop_A),
                                                          self.points)
        return [(float(c), delay_s) for c in levels]


@dataclass
class Waveform:
    function: str = "SIN"
    frequency_Hz: float = 1e3
    amplitude_A: float = 2e-12
    offset_A: float = 0.0
    duty_pct: float = 50.0
    duration_s: float = math.inf  # DUR:CYCL is kept as the time it lasts
    ranging: str = "BEST"
    marker_on: bool = False
    marker_deg: float = 0.0
    arb: list[list[float]] = field(default_factory=lambda: [[] for _ in range(5)])  # ARB0..4

    @property
    def period_s(self) -> float:
        return 1.0 / self.frequency_Hz

    def segments(self) -> list[tuple[float, float]]:
        """(duration s, current A) of one period, equal consecutive points merged."""
        func = self.function
        require(func == "SQU" or func.startswith("ARB"), SETTINGS_CONFLICT,
                f"waveform {func} is not simulated (SQU, ARB0..ARB4 are)")
        if func == "SQU":
            high = self.duty_pct / 100.0
            shape = [(high, 1.0), (1.0 - high, -1.0)]
        else:
            points = self.arb[int(func[3])]
            require(len(points) >= 2, SETTINGS_CONFLICT, f"{func} holds fewer than 2 points")
            shape = [(1.0 / len(points), p) for p in points]
        segments: list[tuple[float, float]] = []
        for fraction, point in shape:
            if fraction <= 0:
                continue
            current = self.offset_A + self.amplitude_A * point
            if segments and segments[-1][1] == current:
                segments[-1] = (segments[-1][0] + fraction * self.period_s, current)
            else:
                segments.append((fraction * self.period_s, current))
        return segments

    def check(self, dc: DcSource) -> None:
        peak = self.amplitude_A + abs(self.offset_A)
        require(peak <= I_MAX * (1 + 1e-12), SETTINGS_CONFLICT,
                f"AMPL + |OFFS| = {peak} A exceeds {I_MAX} A")
        if self.ranging == "FIX":
            require(peak <= 1.05 * dc.range_A, SETTINGS_CONFLICT,
                    f"AMPL + |OFFS| = {peak} A exceeds the fixed {dc.range_A} A range")


@dataclass
class Reading:
    """One buffer point; ``FORM:ELEM`` picks and orders its fields (``ELEMENTS``)."""

    reading: float
    timestamp: float
    number: int
    source_A: float
    compliance: int
    average_V: float


ELEMENTS = {"READ": "reading", "TST": "timestamp", "RNUM": "number", "SOUR": "source_A",
            "COMP": "compliance", "AVOL": "average_V"}
ELEMENT_WORDS = Choice("READing", "TSTamp", "RNUMber", "SOURce", "COMPliance", "AVOLtage")


@dataclass
class Buffer:
    points: int = 100
    elements: list[str] = field(default_factory=lambda: ["READ", "TST"])
    readings: list[Reading] = field(default_factory=list)
    kind: Mode | None = None  # the test that filled it (TRAC:DATA:TYPE?)

    def format(self, reading: Reading) -> str:
        values = (getattr(reading, ELEMENTS[e]) for e in self.elements)
        return ",".join(str(v) if isinstance(v, int) else f"{v:+.6E}" for v in values)


@dataclass
class TriggerLink:
    """The Trigger Link lines: the 6221's output (``TRIG:OLIN``) and input (``TRIG:ILIN``)
    lines and the phase marker's (``SOUR:WAVE:PMAR:OLIN``)."""

    output_line: int = 2
    input_line: int = 1
    marker_line: int = 3
    output_event: TriggerEvent = TriggerEvent.NONE

    def assign(self, **lines: int) -> None:
        """Move one or more lines; refused (-221, nothing moved) if two roles would share one."""
        new = {name: lines.get(name, getattr(self, name))
               for name in ("output_line", "input_line", "marker_line")}
        # the settled facts: the marker must differ from TRIG:OLIN
        require(new["marker_line"] != new["output_line"], SETTINGS_CONFLICT,
                f"phase marker and TRIG:OLIN both on line {new['output_line']}")
        # (unconfirmed: stricter reading) the output line may not be the input line either
        require(new["input_line"] != new["output_line"], SETTINGS_CONFLICT,
                f"TRIG:ILIN and TRIG:OLIN both on line {new['output_line']}")
        for name, line in new.items():
            setattr(self, name, line)


@dataclass
class SerialLink:
    """The RS-232 pass-through: the 2182A's last reply and when it reaches the 6221."""

    reply: str | None = None
    ready_at_s: float = 0.0


# ---------------------------------------------------------------- the instrument

class Keithley6221Sim(ScpiResponder):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,4123456,D03  /700x "

    def reset(self) -> None:
        self.lab.cancel(self)
        self.dc = DcSource()
        self.pdel = PulseDelta()
        self.delta = Delta()
        self.sweep = Sweep()
        self.wave = Waveform()
        self.buffer = Buffer()
        self.link = TriggerLink()
        self.serial = SerialLink()
        self.panel = Panel()
        self.armed: Mode | None = None
        self.running: Mode | None = None
        self.remaining = math.inf  # readings (or sweep steps) still to come in this test
        self.t_start = 0.0
        self._apply_dc()

    def build(self, tree) -> None:
        self._build_dc(tree)
        self._build_pulse_delta(tree)
        self._build_delta(tree)
        self._build_sweep(tree)
        self._build_waveform(tree)
        self._build_buffer(tree)
        self._build_trigger_link(tree)
        self._build_panel(tree)
        tree.add("SYSTem:COMMunicate:SERial:SEND", setter=self._serial_send)
        tree.add("SYSTem:COMMunicate:SERial:ENTer", getter=self._serial_enter)
        tree.add("INITiate[:IMMediate]", setter=self._initiate)

    def _setting(self, pattern: str, part: str, name: str, kind, locked: bool = True,
                 after=None) -> None:
        """``pattern value`` sets ``self.<part>.<name>``, ``pattern?`` reads it; ``locked``
        settings are refused (-221) while a test runs; ``after(value)`` is a side effect."""
        def setter(args):
            value = kind.parse(one_arg(args))
            if locked:
                self._idle()
            setattr(getattr(self, part), name, value)
            if after:
                after(value)

        def getter(args):
            no_args(args)
            return kind.format(getattr(getattr(self, part), name))

        self.tree.add(pattern, setter, getter)

    def _idle(self) -> None:
        require(self.running is None, SETTINGS_CONFLICT, "a test is running; SOUR:SWE:ABOR first")

    # ------------------------------------------------------------ DC output
    def _build_dc(self, tree) -> None:
        tree.add("OUTPut[:STATe]", self._set_output, self._get_output)
        tree.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_level,
                 self._get_level)
        tree.add("[SOURce:]CURRent:RANGe", self._set_range, self._get_range)
        self._setting("[SOURce:]CURRent:RANGe:AUTO", "dc", "range_auto", Bool())
        self._setting("[SOURce:]CURRent:COMPliance", "dc", "compliance_V", COMPLIANCE,
                      locked=False, after=lambda _v: self._apply_dc())
        self._setting("[SOURce:]DELay", "dc", "delay_s", SOURCE_DELAY)
        self._setting("OUTPut:LTEarth", "dc", "low_to_earth", Bool(), locked=False)
        self._setting("OUTPut:ISHield", "dc", "inner_shield", Choice("OLOW", "GUARd"),
                      locked=False)
        tree.add("[SOURce:]CLEar[:IMMediate]", setter=self._clear)

    @property
    def output_on(self) -> bool:
        return self.dc.output_on

    @property
    def level_A(self) -> float:
        return self.dc.level_A

    def drive(self, current_A: float) -> None:
        """Source ``current_A`` now, limited by compliance over the bar's resistance."""
        limit = self.dc.compliance_V / self.lab.bar_resistance_ohm
        on = self.dc.output_on
        self.lab.set_source_current(float(np.clip(current_A, -limit, limit)) if on else 0.0)

    def in_compliance(self, current_A: float) -> bool:
        return abs(current_A) * self.lab.bar_resistance_ohm > self.dc.compliance_V

    def _apply_dc(self) -> None:
        if not self.running:
            self.drive(self.dc.level_A)

    def _get_output(self, args) -> str:
        no_args(args)
        return Bool().format(self.dc.output_on)

    def _set_output(self, args) -> None:
        on = Bool().parse(one_arg(args))
        if not on:
            self.abort()
        self.dc.output_on = on
        self._apply_dc()

    def _clear(self, args) -> None:
        """``SOUR:CLE``: stop any test, source zero and turn the output off."""
        no_args(args)
        self.abort()
        self.dc.level_A = 0.0
        self.dc.output_on = False
        self._apply_dc()

    def _get_range(self, args) -> str:
        no_args(args)
        return f"{self.dc.range_A:+.6E}"

    def _set_range(self, args) -> None:
        value = Num(0.0, I_MAX, unit="A").parse(one_arg(args))
        self._idle()
        # the lowest range that holds it; up to 105 mA is the 100 mA range's over-range
        new_range = next((r for r in CURRENT_RANGES_A if r >= value * (1 - 1e-9)),
                         CURRENT_RANGES_A[-1])
        require(abs(self.dc.level_A) <= 1.05 * new_range, SETTINGS_CONFLICT,
                f"level {self.dc.level_A} A exceeds the {new_range} A range")
        self.dc.range_A, self.dc.range_auto = new_range, False

    def _get_level(self, args) -> str:
        no_args(args)
        return CURRENT.format(self.dc.level_A)

    def _set_level(self, args) -> None:
        level = CURRENT.parse(one_arg(args))
        self._idle()
        if self.dc.range_auto:
            self.dc.range_A = next(r for r in CURRENT_RANGES_A if r * 1.05 >= abs(level))
        require(abs(level) <= 1.05 * self.dc.range_A, DATA_OUT_OF_RANGE,
                f"{level} A exceeds the fixed {self.dc.range_A} A range")
        self.dc.level_A = level
        self._apply_dc()

    # ------------------------------------------------------------ tests: arm, start, stop
    def _nvpresent(self, args) -> str:
        no_args(args)
        return "1"  # the simulated 2182A is always on the RS-232 port

    def _armed(self, args) -> str:
        no_args(args)
        return "1" if self.armed or self.running else "0"

    def _arm(self, args, mode: Mode) -> None:
        no_args(args)
        self._idle()
        if mode is Mode.PULSE_DELTA:
            self.pdel.check()
        elif mode is Mode.SWEEP:
            require(bool(self.sweep.steps(self.dc.delay_s)), SETTINGS_CONFLICT, "empty sweep")
        self.armed = mode

    def _initiate(self, args) -> None:
        no_args(args)
        require(self.armed not in (None, Mode.WAVE), SETTINGS_CONFLICT,
                "INIT before ARM (an armed waveform starts with SOUR:WAVE:INIT)")
        self._idle()
        mode, self.armed = self.armed, None
        self._begin(mode)
        {Mode.PULSE_DELTA: self._pulse_delta_start, Mode.DELTA: self._delta_start,
         Mode.SWEEP: self._sweep_start}[mode]()

    def _begin(self, mode: Mode) -> None:
        self.running = mode
        self.dc.output_on = True
        self.t_start = self.lab.t

    def _begin_readings(self, count: float) -> None:
        """A delta or pulse-delta test owns the buffer: cleared, sized for ``count``."""
        self.buffer.readings = []
        self.buffer.kind = self.running
        self.buffer.points = 65536 if count == math.inf else int(count)
        self.remaining = count

    @property
    def finite(self) -> bool:
        """Does the running test end by itself (for ``*OPC?``)?"""
        return self.running is not None and self.remaining != math.inf

    def abort(self) -> None:
        """``SOUR:SWE:ABOR`` (and the end of a test): stop, back to the DC level.

        A waveform (running or armed) also turns the output off.
        """
        if Mode.WAVE in (self.running, self.armed):
            self.dc.output_on = False
        self.lab.cancel(self)
        self.armed = None
        self.running = None
        self._apply_dc()

    def _at(self, t: float, callback) -> None:
        self.lab.schedule(t, callback, owner=self)

    def _conversion(self, t: float, nplc: float | None = None) -> float:
        vm = self.lab.voltmeter
        return vm.in_range(vm.conversion(t, nplc))

    def _store(self, t: float, reading: float, source_A: float, avg_V: float) -> None:
        buffer = self.buffer
        if len(buffer.readings) < buffer.points:
            buffer.readings.append(Reading(reading, t - self.t_start, len(buffer.readings),
                                           source_A, int(self.in_compliance(source_A)), avg_V))
        self.remaining -= 1
        if self.remaining == 0:
            self.abort()

    def _pulse_line(self, line: int, t: float) -> None:
        """A pulse on Trigger Link ``line``; the cable takes line 2 to the 2182A's input."""
        if line == TRIGGER_INPUT_LINE:
            self.lab.voltmeter.external_trigger(t)

    # ------------------------------------------------------------ pulse delta
    def _build_pulse_delta(self, tree) -> None:
        p = "SOURce:PDELta:"
        self._setting(p + "HIGH", "pdel", "high_A", CURRENT)
        self._setting(p + "LOW", "pdel", "low_A", CURRENT)
        self._setting(p + "WIDTh", "pdel", "width_s", Num(50e-6, 12e-3, 110e-6, unit="S"))
        self._setting(p + "SDELay", "pdel", "sense_delay_s", Num(16e-6, 11.966e-3, 16e-6, unit="S"))
        self._setting(p + "COUNt", "pdel", "count", Num(1, 65536, 10, integer=True, inf=True))
        self._setting(p + "RANGing", "pdel", "ranging", Choice("BEST", "FIXed"))
        self._setting(p + "INTerval", "pdel", "interval_plc", Num(5, 999999, 5, integer=True))
        self._setting(p + "SWEep[:STATe]", "pdel", "sweep", Bool())
        self._setting(p + "LMEasure", "pdel", "low_measurements", Num(1, 2, 2, integer=True))
        tree.add(p + "NVPResent", getter=self._nvpresent)
        tree.add(p + "ARM", setter=lambda a: self._arm(a, Mode.PULSE_DELTA), getter=self._armed)

    def _pulse_delta_start(self) -> None:
        pdel = self.pdel
        self._begin_readings(pdel.count)
        self.drive(pdel.low_A)

        def read_first_low(t):
            self._low_before = self._conversion(t, self._pulse_delta_nplc())

        self._at(self.lab.t + pdel.sense_delay_s, read_first_low)
        self._pulse_delta_cycle(self.lab.t + pdel.period_s / 2)

    def _pulse_delta_nplc(self) -> float:
        """The 2182A integrates within the pulse: from SDEL to the falling edge."""
        aperture = self.pdel.width_s - self.pdel.sense_delay_s
        return float(np.clip(aperture * LINE_FREQUENCY_HZ, 0.01, self.lab.voltmeter.nplc))

    def _pulse_delta_cycle(self, t_rise: float) -> None:
        pdel = self.pdel
        high = {}

        def rise(t):
            self.drive(pdel.high_A)

        def read_high(t):
            high["V"] = self._conversion(t, self._pulse_delta_nplc())

        def fall(t):
            self.drive(pdel.low_A)

        def read_low(t):
            low_after = self._conversion(t, self._pulse_delta_nplc())
            low = (self._low_before + low_after) / 2 if pdel.low_measurements == 2 \
                else self._low_before
            self._low_before = low_after
            self._store(t_rise + pdel.sense_delay_s, high["V"] - low, pdel.high_A,
                        (high["V"] + low) / 2)
            if self.running is Mode.PULSE_DELTA:
                self._pulse_delta_cycle(t_rise + pdel.period_s)

        self._at(t_rise, rise)
        self._at(t_rise + pdel.sense_delay_s, read_high)
        self._at(t_rise + pdel.width_s, fall)
        self._at(t_rise + pdel.width_s + pdel.sense_delay_s, read_low)

    # ------------------------------------------------------------ delta
    def _build_delta(self, tree) -> None:
        d = "SOURce:DELTa:"
        # the manual: setting HIGH also sets LOW to -HIGH (LOW may then be set on its own)
        self._setting(d + "HIGH", "delta", "high_A", Num(0.0, I_MAX, 1e-3, unit="A"),
                      after=lambda high: setattr(self.delta, "low_A", -high))
        # LOW is at most 0 A, as PyMeasure takes it (unconfirmed: stricter reading)
        self._setting(d + "LOW", "delta", "low_A", Num(-I_MAX, 0.0, -1e-3, unit="A"))
        self._setting(d + "DELay", "delta", "delay_s", Num(1e-3, 9999.999, 2e-3, unit="S"))
        self._setting(d + "COUNt", "delta", "count", Num(1, 65536, math.inf, integer=True, inf=True))
        self._setting(d + "CABort", "delta", "compliance_abort", Bool())
        self._setting(d + "CSWitch", "delta", "cold_switch", Bool())
        # the reading unit, in the words PyMeasure sends (unconfirmed: stricter reading, no
        # other spelling)
        self._setting("UNIT[:VOLTage][:DC]", "delta", "unit", Choice("V", "OHMS", "W", "SIEMens"))
        tree.add(d + "NVPResent", getter=self._nvpresent)
        tree.add(d + "ARM", setter=lambda a: self._arm(a, Mode.DELTA), getter=self._armed)

    def _delta_start(self) -> None:
        self._begin_readings(self.delta.count)
        self._delta_values: list[float] = []
        self._delta_step(self.lab.t, 0)

    def _delta_step(self, t: float, i: int) -> None:
        delta = self.delta
        self.drive(delta.high_A if i % 2 == 0 else delta.low_A)
        vm = self.lab.voltmeter

        def convert(t_read):
            v = self._delta_values
            v.append(self._conversion(t_read))
            if len(v) >= 3:
                reading = (v[-3] - 2 * v[-2] + v[-1]) / 4 * (-1) ** (len(v) - 3)
                self._store(t_read, in_unit(reading, delta.high_A, delta.unit), delta.high_A,
                            float(np.mean(v[-3:])))
            if self.running is Mode.DELTA:
                self._at(t_read + vm.aperture_s, lambda t2: self._delta_step(t2, i + 1))

        self._at(t + delta.delay_s, convert)

    # ------------------------------------------------------------ staircase and list sweeps
    def _build_sweep(self, tree) -> None:
        w = "SOURce:SWEep:"
        self._setting(w + "SPACing", "sweep", "spacing",
                      Keyword(Spacing, "LINear", "LOGarithmic", "LIST"))
        self._setting(w + "POINts", "sweep", "points", Num(1, 65535, 11, integer=True))
        self._setting(w + "RANGing", "sweep", "ranging", Choice("BEST", "AUTO", "FIXed"))
        self._setting(w + "COUNt", "sweep", "count", Num(1, 9999, 1, integer=True, inf=True))
        self._setting(w + "CABort", "sweep", "compliance_abort", Bool())
        tree.add(w + "ARM", setter=lambda a: self._arm(a, Mode.SWEEP), getter=self._armed)
        tree.add(w + "ABORt", setter=command(self.abort))
        for word, name in (("STARt", "start_A"), ("STOP", "stop_A"), ("STEP", "step_A")):
            self._setting(f"[SOURce:]CURRent:{word}", "sweep", name, CURRENT)
        for word, name, kind in (("CURRent", "list_currents", CURRENT),
                                 ("DELay", "list_delays", SOURCE_DELAY),
                                 ("COMPliance", "list_compliances", COMPLIANCE)):
            tree.add(f"SOURce:LIST:{word}", lambda a, n=name, k=kind: self._set_list(n, a, k),
                     lambda a, n=name: self._get_list(n))
            tree.add(f"SOURce:LIST:{word}:APPend",
                     lambda a, n=name, k=kind: self._set_list(n, a, k, append=True))
            tree.add(f"SOURce:LIST:{word}:POINts",
                     getter=query(lambda n=name: str(len(getattr(self.sweep, n)))))

    def _set_list(self, name: str, args, kind, append: bool = False) -> None:
        values = parse_list(args, kind, max_len=POINTS_PER_COMMAND)
        self._idle()
        old = getattr(self.sweep, name) if append else []
        require(len(old) + len(values) <= LIST_POINTS_MAX, DATA_OUT_OF_RANGE,
                f"{len(old) + len(values)} list points, at most {LIST_POINTS_MAX}")
        setattr(self.sweep, name, old + values)

    def _get_list(self, name: str) -> str:
        values = getattr(self.sweep, name)
        require(bool(values), DATA_STALE, "list empty")
        return ",".join(f"{v:+.6E}" for v in values)

    def _sweep_start(self) -> None:
        steps = self.sweep.steps(self.dc.delay_s)
        count = self.sweep.count
        self.remaining = math.inf if count == math.inf else count * len(steps)
        event = self.link.output_event

        def step(t, k):
            if k >= self.remaining:
                self.abort()
                return
            current, delay = steps[k % len(steps)]
            self.drive(current)
            if event is TriggerEvent.SOURCE:
                self._pulse_line(self.link.output_line, t)
            self._at(t + delay, lambda t2: end_of_step(t2, k))

        def end_of_step(t, k):
            if event in (TriggerEvent.DELAY, TriggerEvent.SENSE):
                self._pulse_line(self.link.output_line, t)
            step(t, k + 1)

        step(self.lab.t, 0)

    # ------------------------------------------------------------ waveform
    def _build_waveform(self, tree) -> None:
        v = "SOURce:WAVE:"
        self._setting(v + "FUNCtion", "wave", "function", Choice(*WAVE_FUNCTIONS))
        self._setting(v + "FREQuency", "wave", "frequency_Hz", Num(1e-3, 1e5, 1e3, unit="HZ"))
        self._setting(v + "AMPLitude", "wave", "amplitude_A", Num(2e-12, I_MAX, 2e-12, unit="A"))
        self._setting(v + "OFFSet", "wave", "offset_A", CURRENT)
        self._setting(v + "DCYCle", "wave", "duty_pct", Num(0.0, 100.0, 50.0))
        tree.add(v + "DURation:TIME", lambda a: self._set_duration(a, DURATION_TIME, 1.0),
                 query(lambda: DURATION_TIME.format(self.wave.duration_s)))
        tree.add(v + "DURation:CYCLes",
                 lambda a: self._set_duration(a, DURATION_CYCLES, self.wave.period_s),
                 query(lambda: DURATION_CYCLES.format(
                     self.wave.duration_s * self.wave.frequency_Hz)))
        self._setting(v + "RANGing", "wave", "ranging", Choice("BEST", "FIXed"))
        self._setting(v + "PMARker:STATe", "wave", "marker_on", Bool())
        self._setting(v + "PMARker[:LEVel]", "wave", "marker_deg", Num(0.0, 360.0, 0.0))
        tree.add(v + "PMARker:OLINe", lambda a: self._set_line("marker_line", a),
                 query(lambda: str(self.link.marker_line)))
        tree.add(v + "ARBitrary:DATA", lambda a: self._load_arb(a, append=False),
                 query(lambda: ",".join(f"{p:+.6E}" for p in self.wave.arb[0])))
        tree.add(v + "ARBitrary:APPend", lambda a: self._load_arb(a, append=True))
        tree.add(v + "ARBitrary:COPY", self._copy_arb)
        tree.add(v + "ARBitrary:POINts", getter=query(lambda: str(len(self.wave.arb[0]))))
        tree.add(v + "ARM", setter=self._wave_arm, getter=self._armed)
        tree.add(v + "INITiate", setter=self._wave_initiate)
        tree.add(v + "ABORt", setter=command(self.abort))

    def _set_duration(self, args, kind: Num, seconds_per_unit: float) -> None:
        value = kind.parse(one_arg(args))
        self._idle()
        self.wave.duration_s = value * seconds_per_unit

    def _load_arb(self, args, append: bool) -> None:
        values = parse_list(args, Num(-1.0, 1.0), max_len=POINTS_PER_COMMAND)
        self._idle()
        old = self.wave.arb[0] if append else []
        require(len(old) + len(values) <= ARB_POINTS_MAX, DATA_OUT_OF_RANGE,
                f"{len(old) + len(values)} ARB points, at most {ARB_POINTS_MAX}")
        self.wave.arb[0] = old + values

    def _copy_arb(self, args) -> None:
        slot = Num(1, 4, integer=True).parse(one_arg(args))
        self._idle()
        require(len(self.wave.arb[0]) >= 2, SETTINGS_CONFLICT, "ARB0 holds fewer than 2 points")
        self.wave.arb[slot] = list(self.wave.arb[0])

    def _wave_arm(self, args) -> None:
        no_args(args)
        self._idle()
        self.wave.check(self.dc)
        self._segments = self.wave.segments()
        self.armed = Mode.WAVE

    def _wave_initiate(self, args) -> None:
        no_args(args)
        require(self.armed is Mode.WAVE, SETTINGS_CONFLICT, "SOUR:WAVE:INIT before SOUR:WAVE:ARM")
        self.armed = None
        self._begin(Mode.WAVE)
        self._wave_end = self.t_start + self.wave.duration_s
        self.remaining = math.inf if self.wave.duration_s == math.inf else 1
        if self._wave_end < math.inf:
            self._at(self._wave_end, lambda t: self.abort())
        self._wave_cycle(self.t_start)

    def _wave_cycle(self, t0: float) -> None:
        """Schedule one period's current changes and phase marker, then the next period."""
        wave = self.wave
        t = t0
        for duration, current in self._segments:
            if t >= self._wave_end:
                return
            self._at(t, lambda _t, c=current: self.drive(c))
            t += duration
        marker = t0 + wave.marker_deg / 360.0 * wave.period_s
        if wave.marker_on and marker < self._wave_end:
            self._at(marker, lambda t_m: self._pulse_line(self.link.marker_line, t_m))
        if t0 + wave.period_s < self._wave_end:
            self._at(t0 + wave.period_s, self._wave_cycle)

    # ------------------------------------------------------------ buffer
    def _build_buffer(self, tree) -> None:
        self._setting("TRACe:POINts", "buffer", "points", Num(1, 65536, 100, integer=True))
        tree.add("TRACe:POINts:ACTual",
                 getter=query(lambda: str(len(self.buffer.readings))))
        tree.add("TRACe:CLEar", setter=self._clear_buffer)
        tree.add("TRACe:DATA", getter=self._trace_data)
        tree.add("TRACe:DATA:SELected", getter=self._trace_selected)
        tree.add("TRACe:DATA:TYPE", getter=query(self._buffer_type))
        tree.add("[SENSe:]DATA[:LATest]", getter=self._latest)
        tree.add("FORMat:ELEMents", self._set_elements,
                 query(lambda: ",".join(self.buffer.elements)))
        tree.add("FORMat[:DATA]", lambda a: Choice("ASCii").parse(one_arg(a)),
                 query(lambda: "ASC"))

    def _buffer_type(self) -> str:
        return self.buffer.kind.value if self.buffer.kind else "NONE"

    def _clear_buffer(self, args) -> None:
        no_args(args)
        self._idle()
        self.buffer.readings = []
        self.buffer.kind = None

    def _set_elements(self, args) -> None:
        names = [ELEMENT_WORDS.parse(a) for a in args]
        require(bool(names), DATA_OUT_OF_RANGE, "FORM:ELEM needs at least one element")
        self.buffer.elements = names

    def _trace_data(self, args) -> str:
        no_args(args)
        require(bool(self.buffer.readings), DATA_STALE, "buffer empty")
        return ",".join(self.buffer.format(r) for r in self.buffer.readings)

    def _trace_selected(self, args) -> str:
        """``TRAC:DATA:SEL? start,count``: the readings from #start on, the first being #0
        (6220/6221 Reference Manual, section 6). Asking past the last stored reading is -222
        (unconfirmed: stricter reading; the manual does not say)."""
        require(len(args) >= 2, MISSING_PARAMETER, "TRAC:DATA:SEL? needs start,count")
        require(len(args) == 2, PARAMETER_NOT_ALLOWED, f"{len(args)} parameters, 2 expected")
        start, count = READING_NUMBER.parse(args[0]), READING_COUNT.parse(args[1])
        require(bool(self.buffer.readings), DATA_STALE, "buffer empty")
        require(start + count <= len(self.buffer.readings), DATA_OUT_OF_RANGE,
                f"readings {start}..{start + count - 1} asked, "
                f"{len(self.buffer.readings)} stored")
        chosen = self.buffer.readings[start:start + count]
        return ",".join(self.buffer.format(r) for r in chosen)

    def _latest(self, args) -> str:
        no_args(args)
        require(bool(self.buffer.readings), DATA_STALE, "no reading yet")
        return self.buffer.format(self.buffer.readings[-1])

    # ------------------------------------------------------------ trigger link
    def _build_trigger_link(self, tree) -> None:
        tree.add("TRIGger:OLINe", lambda a: self._set_line("output_line", a),
                 query(lambda: str(self.link.output_line)))
        tree.add("TRIGger:ILINe", lambda a: self._set_line("input_line", a),
                 query(lambda: str(self.link.input_line)))
        self._setting("TRIGger:OUTPut", "link", "output_event",
                      Keyword(TriggerEvent, "SOURce", "DELay", "SENSe", "NONE"))

    # ------------------------------------------------------------ display and status registers
    def _build_panel(self, tree) -> None:
        self._setting("DISPlay:ENABle", "panel", "display_on", Bool(), locked=False)
        for word, name in (("MEASurement", "measurement"), ("OPERation", "operation"),
                           ("QUEStionable", "questionable")):
            self._setting(f"STATus:{word}:ENABle", "panel", f"{name}_enable",
                          Num(0, 65535, 0, integer=True), locked=False)
            tree.add(f"STATus:{word}[:EVENt]", getter=query(lambda: "0"))

    def _set_line(self, role: str, args) -> None:
        line = LINE.parse(one_arg(args))
        self._idle()
        self.link.assign(**{role: line})

    # ------------------------------------------------------------ the 2182A on the RS-232 port
    def _serial_send(self, args) -> None:
        command = Text().parse(one_arg(args))
        require(self.running not in (Mode.PULSE_DELTA, Mode.DELTA), SETTINGS_CONFLICT,
                "the test owns the 2182A")
        vm = self.lab.voltmeter
        arrives = self.lab.t + _line_time_s(command)
        reply, done = vm.handle_later(command, arrives)
        if reply is not None:
            self.serial = SerialLink(reply, done + _line_time_s(reply))

    def _serial_enter(self, args) -> str:
        no_args(args)
        if self.serial.reply is None or self.lab.t < self.serial.ready_at_s:
            return ""  # nothing has come back over the RS-232 line yet
        reply, self.serial = self.serial.reply, SerialLink()
        return reply

    def wait_complete(self) -> None:
        """``*OPC?`` after INIT: let the clock run until a finite test has finished."""
        while self.finite and self.lab.next_event_time() < math.inf:
            self.lab.run_until(self.lab.next_event_time())


def in_unit(volts: float, current_A: float, unit: str) -> float:
    """A delta reading (V) in the ``UNIT`` chosen: V, OHMS (V/I), W (V x I) or SIEM (I/V)."""
    if unit == "OHMS":
        return volts / current_A if current_A else OVERFLOW
    if unit == "W":
        return volts * current_A
    if unit == "SIEM":
        return current_A / volts if volts else OVERFLOW
    return volts


def _line_time_s(text: str) -> float:
    """How long ``text`` and its terminator take on the RS-232 line (10 bits a character)."""
    return (len(text) + 1) * 10 / SERIAL_BAUD

