"""Keithley 2182A nanovoltmeter: PyMeasure's driver plus filters, fetch, buffer and triggers.

V_AHE of a Hall bar is a few µV to mV; the 2182A reads it either on its own (READ?, FETC?,
SENS:DATA:FRES?, its buffer) or as the voltmeter half of the 6221's delta / pulse-delta modes.
PyMeasure's class has channels, ranges, NPLC, autozero, READ? and CALC2 statistics; this
subclass adds the analog and digital filters, FETC? / FRES?, the buffer as a numpy array, the
external / timer triggers and INIT / ABOR, front autozero and line sync (off for fast triggered
readings), and makes its buffer size strict (PyMeasure truncated). Its channels refuse a range
beyond their own: channel 2 goes to 10 V (12 V with over-range), channel 1 to 100 V (120 V);
PyMeasure meant to but set the limits before they could take effect, so both took 120 V.
"""

from __future__ import annotations

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.keithley import Keithley2182 as PyMeasureKeithley2182
from pymeasure.instruments.keithley.keithley2182 import Keithley2182Channel

from dwlab.instruments.limits import in_range, on_off, one_of, overflow_to_nan

SOCKET_TERMINATIONS = {"read_termination": "\n", "write_termination": "\n"}
_ON_OFF = {True: "ON", False: "OFF"}
#: Largest expected reading a channel's RANG takes, V: 120 % of its top range (100 V, 10 V).
CHANNEL_RANGE_MAX_V = {1: 120.0, 2: 12.0}


class Keithley2182AChannel(Keithley2182Channel):
    """A 2182A input channel whose range and offset limits are its own (PyMeasure's
    commands, byte for byte)."""

    voltage_range = Channel.control(
        ":SENS:VOLT:CHAN{ch}:RANG?", ":SENS:VOLT:CHAN{ch}:RANG %g",
        """Control the expected full-scale voltage in V (strictly 0 to 120 on channel 1,
        0 to 12 on channel 2); the 2182A picks the range that holds it (channel 1: 10 mV,
        100 mV, 1 V, 10 V, 100 V; channel 2: 100 mV, 1 V, 10 V). Turns auto-range off.""",
        validator=in_range("voltage_range", "V"),
        values=(0, CHANNEL_RANGE_MAX_V[1]),
        dynamic=True,
    )

    voltage_offset = Channel.control(
        ":SENS:VOLT:CHAN{ch}:REF?", ":SENS:VOLT:CHAN{ch}:REF %g",
        """Control the relative offset in V subtracted from readings (strictly within
        ±120 on channel 1, ±12 on channel 2).""",
        validator=in_range("voltage_offset", "V"),
        values=(-CHANNEL_RANGE_MAX_V[1], CHANNEL_RANGE_MAX_V[1]),
        dynamic=True,
    )

    def __init__(self, parent, id):
        super().__init__(parent, id)
        # set after the base class, or (as in PyMeasure) the class-wide 120 V stays in force
        top = CHANNEL_RANGE_MAX_V[id]
        self.voltage_range_values = (0, top)
        self.voltage_offset_values = (-top, top)


class Keithley2182A(PyMeasureKeithley2182):
    """Keithley 2182A nanovoltmeter.

    .. code-block:: python

        nv = Keithley2182A("GPIB::7")
        nv.active_channel = 1
        nv.voltage_nplc = 1
        nv.digital_filter_enabled = False
        print(nv.voltage)                  # V, one triggered reading
    """

    def __init__(self, adapter, name="Keithley 2182A nanovoltmeter", **kwargs):
        # PyMeasure forces read_termination="\r" on every interface; that is right for RS-232
        # but a socket (the simulated lab's server) answers with "\n".
        kwargs.setdefault("asrl", {"read_termination": "\r"})
        kwargs.setdefault("tcpip", SOCKET_TERMINATIONS)
        super(PyMeasureKeithley2182, self).__init__(adapter, name, **kwargs)

    ch_1 = Instrument.ChannelCreator(Keithley2182AChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keithley2182AChannel, 2)

    # ---- readings ----

    fetch = Instrument.measurement(
        "FETC?",
        """Get the latest reading in V without triggering a new one.""",
    )

    fresh = Instrument.measurement(
        "SENS:DATA:FRES?",
        """Get a reading in V that has not been read before (waits for a new one).""",
    )

    # ---- speed (Keithley's examples turn both off for fast triggered readings) ----

    front_autozero_enabled = Instrument.control(
        "SYST:FAZ?", "SYST:FAZ %s",
        """Control front autozero (bool); on by default, off for fast triggered readings.""",
        validator=one_of("front_autozero_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    line_sync_enabled = Instrument.control(
        "SYST:LSYNC?", "SYST:LSYNC %s",
        """Control line synchronisation (bool): each conversion waits for a power-line
        cycle edge; off for fast triggered readings.""",
        validator=one_of("line_sync_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    # ---- filters ----

    analog_filter_enabled = Instrument.control(
        "SENS:VOLT:LPAS?", "SENS:VOLT:LPAS %s",
        """Control the analog low-pass filter (bool); it adds ~125 ms of settling.""",
        validator=one_of("analog_filter_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    digital_filter_enabled = Instrument.control(
        "SENS:VOLT:DFIL?", "SENS:VOLT:DFIL %s",
        """Control the digital averaging filter (bool).""",
        validator=one_of("digital_filter_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    digital_filter_count = Instrument.control(
        "SENS:VOLT:DFIL:COUN?", "SENS:VOLT:DFIL:COUN %d",
        """Control how many readings the digital filter averages (whole number 1 to 100).""",
        validator=in_range("digital_filter_count", integer=True),
        values=(1, 100),
        cast=int,
    )

    digital_filter_type = Instrument.control(
        "SENS:VOLT:DFIL:TCON?", "SENS:VOLT:DFIL:TCON %s",
        """Control the digital filter type: "MOV" (moving) or "REP" (repeating; not in
        delta mode).""",
        validator=one_of("digital_filter_type"),
        values=("MOV", "REP"),
    )

    # ---- buffer ----

    buffer_points = Instrument.control(
        "TRAC:POIN?", "TRAC:POIN %d",
        """Control the buffer size in readings (whole number 2 to 1024).""",
        validator=in_range("buffer_points", integer=True),
        values=(2, 1024),
        cast=int,
    )

    buffer_feed = Instrument.control(
        "TRAC:FEED?", "TRAC:FEED %s",
        """Control what feeds the buffer: "SENS" (raw readings), "CALC" (math results)
        or "NONE".""",
        validator=one_of("buffer_feed"),
        values=("SENS", "CALC", "NONE"),
    )

    buffer_feed_control = Instrument.control(
        "TRAC:FEED:CONT?", "TRAC:FEED:CONT %s",
        """Control buffer filling: "NEXT" (fill once, then stop) or "NEV" (never).""",
        validator=one_of("buffer_feed_control"),
        values=("NEXT", "NEV"),
    )

    buffer_data = Instrument.measurement(
        "TRAC:DATA?",
        """Get the buffered readings in V as a numpy array; overflow (+9.9E37) is NaN.""",
        get_process=lambda v: overflow_to_nan([v]),
        get_process_list=overflow_to_nan,
    )

    buffer_points_actual = Instrument.measurement(
        "TRAC:POIN:ACT?",
        """Get how many readings the buffer holds now.""",
        cast=int,
    )

    measurement_events = Instrument.measurement(
        "STAT:MEAS?",
        """Get the measurement event register; bit 9 (512) is "buffer full".""",
        cast=int,
    )

    def clear_buffer(self):
        """Empty the reading buffer (``TRAC:CLE``)."""
        self.write("TRAC:CLE")

    # ---- triggering ----

    trigger_source = Instrument.control(
        "TRIG:SOUR?", "TRIG:SOUR %s",
        """Control the trigger source: "IMM", "EXT" (Trigger Link), "BUS", "TIM" or "MAN".""",
        validator=one_of("trigger_source"),
        values=("IMM", "EXT", "BUS", "TIM", "MAN"),
    )

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d",
        """Control how many readings one INIT takes (whole number 1 to 9999).""",
        validator=in_range("trigger_count", integer=True),
        values=(1, 9999),
        cast=int,
    )

    trigger_delay = Instrument.control(
        # %.10g: %g rounds 99999.999 up to 100000, beyond the range
        ":TRIG:DEL?", ":TRIG:DEL %.10g",
        """Control the delay before each reading in s (strictly 0 to 99999.999;
        unconfirmed: stricter reading, PyMeasure allowed 999999.999).""",
        validator=in_range("trigger_delay", "s"),
        values=(0, 99999.999),
    )

    trigger_timer = Instrument.control(
        ":TRIG:TIM?", ":TRIG:TIM %.10g",
        """Control the interval in s between timer triggers (``trigger_source = "TIM"``;
        strictly 0.001 to 999999.999).""",
        validator=in_range("trigger_timer", "s"),
        values=(0.001, 999999.999),
    )

    continuous_enabled = Instrument.control(
        "INIT:CONT?", "INIT:CONT %s",
        """Control continuous initiation (bool); off for buffered, triggered runs.""",
        validator=one_of("continuous_enabled"),
        values=_ON_OFF,
        map_values=True,
        get_process=on_off,
    )

    def initiate(self):
        """Leave the idle state and wait for triggers (``INIT``)."""
        self.write("INIT")

    def abort(self):
        """Return to idle, abandoning the trigger model (``ABOR``)."""
        self.write("ABOR")
