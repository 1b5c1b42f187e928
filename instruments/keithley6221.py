"""Keithley 6221 current source: PyMeasure's driver plus pulse delta, sweeps and buffers.

The DW-neuron measurements time their current pulses with the 6221's pulse-delta mode (the
2182A on the 6221's RS-232 and Trigger Link does the reading), so the timing is done by the
instruments, not by Python. PyMeasure's class has DC output, delta mode and waveforms; this
subclass adds pulse delta, linear and list sweeps, arbitrary waveforms of up to 65,535 points
with the phase marker on the trigger link (on a line apart from ``TRIG:OLIN``, which the 6221
insists on), FORM:ELEM-aware buffer reads, the 2182A serial pass-through (polled until the
2182A's reply has arrived, on the lab's clock) and a shutdown that always leaves the output off.

It also fixes PyMeasure's pitfalls (docs/instruments.md): settings that truncated an out-of-range
current, compliance or delay now refuse it; the buffer size is 1-65536 (not 1e6);
``delta_values`` comes back as (reading, timestamp) pairs; a socket gets ``\\n`` terminations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley6221 as PyMeasureKeithley6221

from dwlab.clock import Clock, RealClock
from dwlab.instruments.limits import (
    OVERFLOW,
    all_of,
    check_all_in_range,
    check_range,
    in_range,
    in_range_or,
    on_off,
    one_of,
    overflow_to_nan,
    scpi_list,
)

log = logging.getLogger(__name__)

MAX_CURRENT_A = 0.105  # 100 mA range plus 5 % over-range
COMPLIANCE_V = (0.1, 105.0)
SOURCE_DELAY_S = (1e-3, 999999.999)
MAX_LIST_POINTS = 65535  # as the simulated 6221 takes it (unconfirmed: stricter reading)
BUFFER_POINTS = (1, 65536)
ARB_POINTS = (2, 65535)  # the 6221 holds at most 65,535 (INSTRUMENTS.md, settled facts)
TRIGGER_LINES = (1, 2, 3, 4, 5, 6)
VALUES_PER_COMMAND = 100  # ARB:DATA, LIST:CURR/DEL/COMP and each :APP take at most 100
WAVE_FREQUENCY_HZ = (1e-3, 1e5)
WAVE_FUNCTIONS = {"sine": "SIN", "ramp": "RAMP", "square": "SQU",
                  **{f"arbitrary{n}": f"ARB{n}" for n in range(5)}}

#: FORM:ELEM items that come back as numbers in TRAC:DATA? (UNIT would append text).
DATA_ELEMENTS = ("READ", "TST", "RNUM", "SOUR", "COMP", "AVOL")
_ELEMENT_ALIASES = {"ALL": DATA_ELEMENTS, "DEF": ("READ", "TST")}
_ELEMENT_SHORT = {"READING": "READ", "TSTAMP": "TST", "RNUMBER": "RNUM", "SOURCE": "SOUR",
                  "COMPLIANCE": "COMP", "AVOLTAGE": "AVOL", "DEFAULT": "DEF"}

SOCKET_TERMINATIONS = {"read_termination": "\n", "write_termination": "\n"}

_ON_OFF = {True: "ON", False: "OFF"}


def _count(reply) -> int | str:
    """A count reply as an int, or "INF" (sent back as INF, inf or the 9.9E37 marker)."""
    value = float(reply)
    return "INF" if value >= OVERFLOW else int(value)


def _duration(reply) -> float | str:
    """A waveform duration reply as a float, or "INF" (the 9.9E37 marker)."""
    value = float(reply)
    return "INF" if value >= OVERFLOW else value


def _elements(reply: list[str]) -> list[str]:
    """FORM:ELEM? reply as short element names, with ALL / DEF expanded."""
    names = []
    for item in reply:
        word = str(item).strip().strip('"').upper()
        word = _ELEMENT_SHORT.get(word, word)
        names.extend(_ELEMENT_ALIASES.get(word, (word,)))
    return names


def _event_enable(name: str, query: str, command: str, register: str, high: int):
    """PyMeasure's status-register enable (same commands), refusing a mask beyond ``high``
    where PyMeasure truncated it."""
    return Instrument.control(
        query, command,
        f"""Control which {register} events are enabled (bit mask, whole number 0 to {high}).""",
        validator=in_range(name, integer=True),
        values=(0, high),
        cast=int,
    )


class Keithley6221(PyMeasureKeithley6221):
    """Keithley 6221 AC/DC current source with pulse delta, sweeps and buffer pairs.

    .. code-block:: python

        k = Keithley6221("TCPIP::192.168.1.20::1394::SOCKET")
        k.pulse_delta_high = 5e-3          # A
        k.pulse_delta_low = 0.0
        k.pulse_delta_width = 1e-3         # s
        k.pulse_delta_count = 10
        k.buffer_points = 10
        k.pulse_delta_arm()
        k.start()
        readings, timestamps = k.buffer_pairs()
        k.shutdown()                       # output off, whatever happened
    """

    def __init__(self, adapter, name="Keithley 6221 current source", clock: Clock | None = None,
                 **kwargs):
        kwargs.setdefault("tcpip", SOCKET_TERMINATIONS)
        super().__init__(adapter, name, **kwargs)
        self.clock = clock if clock is not None else RealClock()  # pass-through polling waits on it

    # ---- DC source: PyMeasure truncated these; here an out-of-range value is refused ----

    source_current = Instrument.control(
        ":SOUR:CURR?", ":SOUR:CURR %g",
        """Control the DC source current in A (strictly -0.105 to 0.105).""",
        validator=in_range("source_current", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    source_compliance = Instrument.control(
        ":SOUR:CURR:COMP?", ":SOUR:CURR:COMP %g",
        """Control the voltage compliance in V (strictly 0.1 to 105). Set it at least 2 V
        above the expected load voltage: a current step can overshoot.""",
        validator=in_range("source_compliance", "V"),
        values=COMPLIANCE_V,
    )

    source_range = Instrument.control(
        ":SOUR:CURR:RANG?", ":SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG %g",
        """Control the source current range in A: the largest current expected (strictly
        0 to 0.105; the 6221 picks the range that holds it). Setting it turns auto-range
        off.""",
        validator=in_range("source_range", "A"),
        values=(0, MAX_CURRENT_A),  # a negative range (unconfirmed: stricter reading, refused)
    )

    source_delay = Instrument.control(
        # %.10g: PyMeasure's %g rounds 999999.999 to 1e+06, which the 6221 refuses
        ":SOUR:DEL?", ":SOUR:DEL %.10g",
        """Control the source delay in s (strictly 1e-3 to 999999.999).""",
        validator=in_range("source_delay", "s"),
        values=SOURCE_DELAY_S,
    )

    waveform_amplitude = Instrument.control(
        ":SOUR:WAVE:AMPL?", ":SOUR:WAVE:AMPL %g",
        """Control the peak waveform amplitude in A (strictly 2e-12 to 0.105).""",
        validator=in_range("waveform_amplitude", "A"),
        values=(2e-12, MAX_CURRENT_A),
    )

    waveform_offset = Instrument.control(
        ":SOUR:WAVE:OFFS?", ":SOUR:WAVE:OFFS %g",
        """Control the waveform offset in A (strictly -0.105 to 0.105).""",
        validator=in_range("waveform_offset", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    # ---- status registers: PyMeasure truncated these; here a bad mask is refused ----

    measurement_event_enabled = _event_enable(
        "measurement_event_enabled", ":STAT:MEAS:ENAB?", ":STAT:MEAS:ENAB %d", "measurement", 65535)
    operation_event_enabled = _event_enable(
        "operation_event_enabled", ":STAT:OPER:ENAB?", ":STAT:OPER:ENAB %d", "operation", 65535)
    questionable_event_enabled = _event_enable(
        "questionable_event_enabled", ":STAT:QUES:ENAB?", ":STAT:QUES:ENAB %d", "questionable",
        65535)
    # PyMeasure sent "ESE" (no "*": the 6221 answers -113 Undefined header) with 16 bits; the
    # IEEE-488.2 register has 8
    standard_event_enabled = _event_enable(
        "standard_event_enabled", "*ESE?", "*ESE %d", "standard", 255)
    srq_event_enabled = _event_enable(
        "srq_event_enabled", "*SRE?", "*SRE %d", "service-request", 255)

    # ---- waveforms (SOUR:WAVE): PyMeasure truncated these; here a bad value is refused ----

    waveform_function = Instrument.control(
        ":SOUR:WAVE:FUNC?", ":SOUR:WAVE:FUNC %s",
        """Control the wave function: "sine", "ramp", "square" or "arbitrary0" (the
        volatile ARB0 that :meth:`define_arbitrary_waveform` loads) to "arbitrary4".""",
        validator=one_of("waveform_function"),
        values=WAVE_FUNCTIONS,
        map_values=True,
    )

    waveform_frequency = Instrument.control(
        ":SOUR:WAVE:FREQ?", ":SOUR:WAVE:FREQ %g",
        """Control the waveform frequency in Hz (strictly 1e-3 to 1e5); the period is
        1 / frequency and an arbitrary waveform's point time is period / points.""",
        validator=in_range("waveform_frequency", "Hz"),
        values=WAVE_FREQUENCY_HZ,
    )

    waveform_dutycycle = Instrument.control(
        ":SOUR:WAVE:DCYC?", ":SOUR:WAVE:DCYC %g",
        """Control the square/ramp duty cycle in percent (strictly 0 to 100).""",
        validator=in_range("waveform_dutycycle", "%"),
        values=(0, 100),
    )

    waveform_duration_time = Instrument.control(
        ":SOUR:WAVE:DUR:TIME?", ":SOUR:WAVE:DUR:TIME %s",
        """Control the waveform duration in s (1e-7 to 999999.999, or "INF").""",
        validator=in_range_or("waveform_duration_time", ["INF"], "s"),
        values=(100e-9, 999999.999),
        get_process=_duration,
    )

    waveform_duration_cycles = Instrument.control(
        ":SOUR:WAVE:DUR:CYCL?", ":SOUR:WAVE:DUR:CYCL %s",
        """Control the waveform duration in periods (1e-3 to 99999999900, or "INF").""",
        validator=in_range_or("waveform_duration_cycles", ["INF"]),
        values=(1e-3, 99999999900),
        get_process=_duration,
    )

    waveform_ranging = Instrument.control(
        ":SOUR:WAVE:RANG?", ":SOUR:WAVE:RANG %s",
        """Control the waveform source ranging: "best" (one range for the whole waveform)
        or "fixed" (the present source range).""",
        validator=one_of("waveform_ranging"),
        values={"best": "BEST", "fixed": "FIX"},
        map_values=True,
    )

    waveform_phasemarker_phase = Instrument.control(
        ":SOUR:WAVE:PMAR?", ":SOUR:WAVE:PMAR %g",
        """Control the phase of the phase marker in degrees into each period (strictly
        0 to 360; the manual's exact span was not confirmed, PyMeasure used -180 to 180).""",
        validator=in_range("waveform_phasemarker_phase", "deg"),
        values=(0, 360),
    )

    waveform_phasemarker_line = Instrument.control(
        ":SOUR:WAVE:PMAR:OLIN?", ":SOUR:WAVE:PMAR:OLIN %d",
        """Control the Trigger Link line the phase marker pulses (1 to 6; default 3). It must
        differ from :attr:`trigger_output_line`, or the 6221 keeps the old line (-221): use
        :meth:`set_trigger_lines` to move both.""",
        validator=one_of("waveform_phasemarker_line"),
        values=TRIGGER_LINES,
        cast=int,
    )

    arbitrary_points = Instrument.measurement(
        ":SOUR:WAVE:ARB:POIN?",
        """Get how many points the volatile slot ARB0 holds.""",
        cast=int,
    )

    def define_arbitrary_waveform(self, points, location: int = 0):
        """Load normalised ``points`` (each in [-1, 1], 2 to 65,535 of them) into ARB0 and
        select it; ``location`` 1-4 also copies it to that non-volatile slot and selects that.

        The current of point k is ``waveform_offset + waveform_amplitude * points[k]``. The
        6221 takes at most 100 points per command: ``ARB:DATA`` the first 100, ``ARB:APP``
        the rest. Every point is checked before anything is sent.
        """
        points = check_all_in_range("define_arbitrary_waveform points", list(points), -1.0, 1.0)
        check_range("define_arbitrary_waveform number of points", len(points), *ARB_POINTS)
        if location not in range(5):
            raise ValueError(f"define_arbitrary_waveform location = {location!r} is not one "
                             f"of 0 (volatile ARB0), 1, 2, 3, 4")
        self._write_in_chunks(":SOUR:WAVE:ARB:DATA", ":SOUR:WAVE:ARB:APP", points)
        if location:
            self.write(f":SOUR:WAVE:ARB:COPY {location}")
        self.waveform_function = f"arbitrary{location}"

    def define_arbitary_waveform(self, datapoints, location: int = 1):
        """PyMeasure's method, with its default: load ``datapoints`` into ARB0, copy them to
        ``location`` (1-4, default 1) and select that slot. Unlike PyMeasure's, it takes up to
        65,535 points (sent 100 per command) and ``location`` 0 (ARB0 alone)."""
        self.define_arbitrary_waveform(datapoints, location)

    def enable_source(self):
        """Turn the output on."""
        self.write("OUTP ON")

    def disable_source(self):
        """Turn the output off."""
        self.write("OUTP OFF")

    def clear_source(self):
        """Zero the source and turn the output off (``SOUR:CLE``)."""
        self.write("SOUR:CLE")

    # ---- pulse delta ----

    pulse_delta_high = Instrument.control(
        "SOUR:PDEL:HIGH?", "SOUR:PDEL:HIGH %g",
        """Control the pulse-delta high (pulse) current in A (strictly -0.105 to 0.105).""",
        validator=in_range("pulse_delta_high", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    pulse_delta_low = Instrument.control(
        "SOUR:PDEL:LOW?", "SOUR:PDEL:LOW %g",
        """Control the pulse-delta low (between pulses) current in A
        (strictly -0.105 to 0.105).""",
        validator=in_range("pulse_delta_low", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    pulse_delta_width = Instrument.control(
        "SOUR:PDEL:WIDT?", "SOUR:PDEL:WIDT %g",
        """Control the pulse width in s (strictly 50e-6 to 12e-3).""",
        validator=in_range("pulse_delta_width", "s"),
        values=(50e-6, 12e-3),
    )

    pulse_delta_source_delay = Instrument.control(
        "SOUR:PDEL:SDEL?", "SOUR:PDEL:SDEL %g",
        """Control the delay from pulse start to the 2182A reading in s
        (strictly 16e-6 to 11.966e-3).""",
        validator=in_range("pulse_delta_source_delay", "s"),
        values=(16e-6, 11.966e-3),
    )

    pulse_delta_count = Instrument.control(
        "SOUR:PDEL:COUN?", "SOUR:PDEL:COUN %s",
        """Control the number of pulse-delta cycles (whole number 1 to 65536, or "INF").""",
        validator=in_range_or("pulse_delta_count", ["INF"], integer=True),
        values=(1, 65536),
        get_process=_count,
    )

    pulse_delta_range = Instrument.control(
        "SOUR:PDEL:RANG?", "SOUR:PDEL:RANG %s",
        """Control the pulse-delta source ranging: "BEST" (one range fits high and low)
        or "FIX" (the present source range).""",
        validator=one_of("pulse_delta_range"),
        values=("BEST", "FIX"),
    )

    pulse_delta_interval = Instrument.control(
        "SOUR:PDEL:INT?", "SOUR:PDEL:INT %d",
        """Control the pulse repetition period in power-line cycles (whole number 5 to
        999999); the period is interval / line frequency, which bounds the duty cycle.""",
        validator=in_range("pulse_delta_interval", "PLC", integer=True),
        values=(5, 999999),
        cast=int,
    )

    pulse_delta_sweep_enabled = Instrument.control(
        "SOUR:PDEL:SWE?", "SOUR:PDEL:SWE %s",
        """Control whether pulse delta steps through the configured sweep (bool).""",
        validator=one_of("pulse_delta_sweep_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    pulse_delta_low_measurements = Instrument.control(
        "SOUR:PDEL:LME?", "SOUR:PDEL:LME %d",
        """Control how many low-level readings each pulse-delta cycle takes (1 or 2).""",
        validator=one_of("pulse_delta_low_measurements"),
        values=(1, 2),
        cast=int,
    )

    pulse_delta_connected = Instrument.measurement(
        "SOUR:PDEL:NVPR?",
        """Get whether the 2182A answers on the 6221's RS-232 (bool).""",
        cast=bool,
    )

    pulse_delta_armed = Instrument.measurement(
        "SOUR:PDEL:ARM?",
        """Get whether pulse delta is armed (bool).""",
        cast=bool,
    )

    def pulse_delta_arm(self):
        """Arm pulse delta with the present settings (start it with :meth:`start`)."""
        self.write("SOUR:PDEL:ARM")

    def start(self):
        """Start the armed sweep, delta or pulse-delta run (``INIT:IMM``)."""
        self.write("INIT:IMM")

    def abort(self):
        """Stop any running sweep, delta or pulse-delta run and disarm it."""
        self.write("SOUR:SWE:ABOR")

    # ---- buffer ----

    buffer_points = Instrument.control(
        "TRAC:POIN?", "TRAC:POIN %d",
        """Control the buffer size in readings (whole number 1 to 65536).""",
        validator=in_range("buffer_points", integer=True),
        values=BUFFER_POINTS,
        cast=int,
    )

    delta_buffer_points = buffer_points  # PyMeasure allowed 1e6 here

    buffer_points_actual = Instrument.measurement(
        "TRAC:POIN:ACT?",
        """Get how many readings the buffer holds now.""",
        cast=int,
    )

    buffer_type = Instrument.measurement(
        "TRAC:DATA:TYPE?",
        """Get which test filled the buffer: "NONE", "DELT", "DCON", "PULS" (or "SWE",
        "WAVE" in the simulated 6221).""",
    )

    data_elements = Instrument.control(
        "FORM:ELEM?", "FORM:ELEM %s",
        """Control which elements TRAC:DATA? returns per reading, as a list of
        "READ", "TST", "RNUM", "SOUR", "COMP", "AVOL" (default READ, TST).""",
        validator=all_of("data_elements"),
        values=DATA_ELEMENTS,
        set_process=",".join,
        cast=str,
        get_process=lambda item: _elements([item]),
        get_process_list=_elements,
    )

    def clear_buffer(self):
        """Empty the reading buffer (``TRAC:CLE``)."""
        self.write("TRAC:CLE")

    def buffer_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Read the buffer as (readings, timestamps), two float arrays.

        Asks FORM:ELEM? first, so the layout is right whatever elements are on; an overflow
        or invalid reading (+9.9E37) becomes NaN.
        """
        return self.buffer_columns(("READ", "TST"))

    def buffer_columns(self, wanted: Sequence[str], elements: Sequence[str] | None = None,
                       start: int = 0, count: int | None = None) -> tuple[np.ndarray, ...]:
        """Read the buffer as one float array per element in ``wanted`` (READ with overflow as
        NaN). ``elements``: the FORM:ELEM the caller set (None: ask). ``count`` readings from
        number ``start`` on (the first is 0) with ``TRAC:DATA:SEL? start,count``, so a
        buffer read while it fills costs only what is new; None: all (``TRAC:DATA?``)."""
        elements = self._with(wanted, elements)
        query = "TRAC:DATA?" if count is None else f"TRAC:DATA:SEL? {start:d},{count:d}"
        raw = self.values(query)
        stride = len(elements)
        if len(raw) % stride:
            raise ValueError(
                f"{query} returned {len(raw)} values, not a multiple of the "
                f"{stride} elements {elements}")
        table = np.asarray(raw, dtype=float).reshape(-1, stride)
        return tuple(self._column(table[:, elements.index(e)], e) for e in wanted)

    def _with(self, wanted: Sequence[str], elements: Sequence[str] | None) -> list[str]:
        elements = list(self.data_elements if elements is None else elements)
        missing = [e for e in wanted if e not in elements]
        if missing:
            raise ValueError(f"reading {list(wanted)} needs {missing} in FORM:ELEM, "
                             f"got {elements}")
        return elements

    @staticmethod
    def _column(values: np.ndarray, element: str) -> np.ndarray:
        return overflow_to_nan(values) if element == "READ" else values

    # ---- delta mode: PyMeasure took fractions, a zero delay and "INF" delay here ----

    delta_delay = Instrument.control(
        ":SOUR:DELT:DELay?", ":SOUR:DELT:DELay %s",
        """Control the delta delay in s (strictly 1e-3 to 9999.999; unconfirmed: stricter
        reading, PyMeasure also took 0 and "INF").""",
        validator=in_range("delta_delay", "s"),
        values=(1e-3, 9999.999),
    )

    delta_cycles = Instrument.control(
        ":SOUR:DELT:COUN?", ":SOUR:DELT:COUN %s",
        """Control the number of delta cycles (whole number 1 to 65536, or "INF").""",
        validator=in_range_or("delta_cycles", ["INF"], integer=True),
        values=(1, 65536),
        get_process=_count,
    )

    delta_measurement_sets = Instrument.control(
        ":SOUR:SWEep:COUN?", ":SOUR:SWEep:COUN %s",
        """Control how many delta measurement sets run (whole number 1 to 9999, or "INF";
        the sweep count, as :attr:`sweep_count`).""",
        validator=in_range_or("delta_measurement_sets", ["INF"], integer=True),
        values=(1, 9999),  # as the simulated 6221 takes it (unconfirmed: stricter reading)
        get_process=_count,
    )

    @property
    def delta_values(self) -> np.ndarray:
        """Get the buffered delta readings as an (n, 2) array of (reading, timestamp s)."""
        return np.column_stack(self.buffer_pairs())

    # ---- linear and list sweeps ----

    sweep_spacing = Instrument.control(
        "SOUR:SWE:SPAC?", "SOUR:SWE:SPAC %s",
        """Control the sweep type: "LIN", "LOG" or "LIST".""",
        validator=one_of("sweep_spacing"),
        values=("LIN", "LOG", "LIST"),
    )

    sweep_start = Instrument.control(
        "SOUR:CURR:STAR?", "SOUR:CURR:STAR %g",
        """Control the first current of a staircase sweep in A (strictly -0.105 to 0.105).""",
        validator=in_range("sweep_start", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    sweep_stop = Instrument.control(
        "SOUR:CURR:STOP?", "SOUR:CURR:STOP %g",
        """Control the last current of a staircase sweep in A (strictly -0.105 to 0.105).""",
        validator=in_range("sweep_stop", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    sweep_step = Instrument.control(
        "SOUR:CURR:STEP?", "SOUR:CURR:STEP %g",
        """Control the current step of a linear sweep in A (strictly -0.105 to 0.105, the
        range of a source level; unconfirmed: stricter reading).""",
        validator=in_range("sweep_step", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    sweep_points = Instrument.control(
        "SOUR:SWE:POIN?", "SOUR:SWE:POIN %d",
        """Control the number of sweep points (whole number 1 to 65535).""",
        validator=in_range("sweep_points", integer=True),
        values=(1, 65535),
        cast=int,
    )

    sweep_ranging = Instrument.control(
        "SOUR:SWE:RANG?", "SOUR:SWE:RANG %s",
        """Control the sweep source ranging: "BEST", "AUTO" or "FIX".""",
        validator=one_of("sweep_ranging"),
        values=("BEST", "AUTO", "FIX"),
    )

    sweep_count = Instrument.control(
        "SOUR:SWE:COUN?", "SOUR:SWE:COUN %s",
        """Control how many times the sweep repeats (whole number 1 to 9999, or "INF").""",
        validator=in_range_or("sweep_count", ["INF"], integer=True),
        values=(1, 9999),  # as the simulated 6221 takes it (unconfirmed: stricter reading)
        get_process=_count,
    )

    sweep_compliance_abort_enabled = Instrument.control(
        "SOUR:SWE:CAB?", "SOUR:SWE:CAB %s",
        """Control whether a sweep aborts when the source reaches compliance (bool).""",
        validator=one_of("sweep_compliance_abort_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    def sweep_arm(self):
        """Arm the configured sweep (start it with :meth:`start`)."""
        self.write("SOUR:SWE:ARM")

    def list_sweep(self, currents, delays, compliance=None):
        """Load a list sweep: one current (A) and one delay (s) per point (1 to 65,535).

        ``compliance`` (V) is one value for every point or one per point; None leaves the
        instrument's list compliance alone. Every value is checked before anything is sent;
        each list goes 100 values per command (``SOUR:LIST:CURR`` then ``...:APP``) and its
        length is read back (RuntimeError if the 6221 holds another number of points).
        """
        currents = check_all_in_range("list_sweep currents", currents,
                                      -MAX_CURRENT_A, MAX_CURRENT_A, "A")
        delays = check_all_in_range("list_sweep delays", delays, *SOURCE_DELAY_S, "s")
        check_range("list_sweep points", len(currents), 1, MAX_LIST_POINTS)
        if len(delays) != len(currents):
            raise ValueError(f"list_sweep: {len(currents)} currents but {len(delays)} delays")
        if compliance is not None:
            if np.isscalar(compliance):
                compliance = [compliance] * len(currents)
            compliance = check_all_in_range("list_sweep compliance", compliance,
                                            *COMPLIANCE_V, "V")
            if len(compliance) != len(currents):
                raise ValueError(f"list_sweep: {len(currents)} currents but "
                                 f"{len(compliance)} compliance values")
        self.sweep_spacing = "LIST"
        lists = {"CURR": currents, "DEL": delays}
        if compliance is not None:
            lists["COMP"] = compliance
        for word, values in lists.items():
            self._write_in_chunks(f"SOUR:LIST:{word}", f"SOUR:LIST:{word}:APP", values)
        for word, values in lists.items():  # a refused chunk would leave a short list
            held = int(float(self.ask(f"SOUR:LIST:{word}:POIN?")))
            if held != len(values):
                raise RuntimeError(f"6221 list sweep: sent {len(values)} SOUR:LIST:{word} "
                                   f"points, it holds {held}")

    def _write_in_chunks(self, first: str, more: str, values) -> None:
        """``first`` with the first 100 values, then ``more`` with each further 100."""
        for start in range(0, len(values), VALUES_PER_COMMAND):
            chunk = scpi_list(values[start:start + VALUES_PER_COMMAND])
            self.write(f"{first if start == 0 else more} {chunk}")

    # ---- trigger link ----

    trigger_output_line = Instrument.control(
        "TRIG:OLIN?", "TRIG:OLIN %d",
        """Control the Trigger Link line the 6221 drives (1 to 6; default 2). It must differ
        from :attr:`waveform_phasemarker_line`: use :meth:`set_trigger_lines` to move both.""",
        validator=one_of("trigger_output_line"),
        values=TRIGGER_LINES,
        cast=int,
    )

    trigger_input_line = Instrument.control(
        "TRIG:ILIN?", "TRIG:ILIN %d",
        """Control the Trigger Link line the 6221 listens on (1 to 6).""",
        validator=one_of("trigger_input_line"),
        values=TRIGGER_LINES,
        cast=int,
    )

    trigger_output_event = Instrument.control(
        "TRIG:OUTP?", "TRIG:OUTP %s",
        """Control when the output trigger fires: "SOUR", "DEL" or "NONE".""",
        validator=one_of("trigger_output_event"),
        values=("SOUR", "DEL", "NONE"),
    )

    def set_trigger_lines(self, output_line: int, marker_line: int) -> None:
        """Put ``TRIG:OLIN`` on ``output_line`` and the phase marker on ``marker_line``.

        The 6221 refuses (-221, keeping the old line) any command that would put the two on
        one line, so the present lines are asked first and the writes ordered to avoid that
        (a swap goes through a spare line). Both are read back: RuntimeError if the 6221 kept
        another line.
        """
        for name, line in (("output_line", output_line), ("marker_line", marker_line)):
            if line not in TRIGGER_LINES:
                raise ValueError(f"set_trigger_lines {name} = {line!r} is not one of "
                                 f"{list(TRIGGER_LINES)}")
        if output_line == marker_line:
            raise ValueError(f"set_trigger_lines: output_line and marker_line are both "
                             f"{output_line}; the 6221 needs two different lines")
        output_now, marker_now = self.trigger_output_line, self.waveform_phasemarker_line
        if output_line == marker_now:  # the marker must leave first
            spare = next(n for n in TRIGGER_LINES[::-1]
                         if n not in (output_now, marker_now, output_line, marker_line))
            marker_now = marker_line if marker_line != output_now else spare
            self.waveform_phasemarker_line = marker_now
        if output_line != output_now:
            self.trigger_output_line = output_line
        if marker_line != marker_now:
            self.waveform_phasemarker_line = marker_line
        got = (self.trigger_output_line, self.waveform_phasemarker_line)
        if got != (output_line, marker_line):
            raise RuntimeError(f"6221 trigger lines: asked TRIG:OLIN {output_line} and "
                               f"PMAR:OLIN {marker_line}, it kept {got[0]} and {got[1]}")

    # ---- the 2182A on the 6221's RS-232 ----

    def nanovoltmeter_send(self, command: str):
        """Send ``command`` to the 2182A through the 6221's serial port."""
        if any(c in command for c in "\r\n"):
            raise ValueError(f"nanovoltmeter command must be one line, got {command!r}")
        quoted = command.replace('"', '""')  # SCPI string: a quote is doubled
        self.write(f'SYST:COMM:SER:SEND "{quoted}"')

    def nanovoltmeter_query(self, command: str, timeout_s: float = 5.0,
                            poll_s: float = 0.02) -> str:
        """Send ``command`` to the 2182A and return what it answered (stripped).

        The reply reaches the 6221 only after the 2182A has finished (a reading takes its
        aperture), and ``ENT?`` answers an empty line until then: poll it every ``poll_s`` on
        the lab's clock, up to ``timeout_s`` (Keithley's own examples wait seconds).
        """
        self.nanovoltmeter_send(command)
        deadline = self.clock.now() + timeout_s
        while True:
            reply = str(self.ask("SYST:COMM:SER:ENT?")).strip()
            if reply:
                return reply
            if self.clock.now() >= deadline:
                raise TimeoutError(f"2182A pass-through: no reply to {command!r} within "
                                   f"{timeout_s:g} s")
            self.clock.sleep(poll_s)

    # ---- leaving it safe ----

    def shutdown(self):
        """Leave the output off: abort any sweep and any waveform, SOUR:CLE, OUTP OFF.

        Every step is tried even if an earlier one raises; the error is re-raised after the
        output-off command has been sent.
        """
        log.info("Shutting down %s.", self.name)
        try:
            try:
                try:
                    self.abort()
                finally:
                    self.waveform_abort()
            finally:
                self.clear_source()
        finally:
            super().shutdown()  # PyMeasure's: disable_source() (OUTP OFF), then mark shut down
