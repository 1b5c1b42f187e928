"""Simulated Keithley 2182A nanovoltmeter, reading the device's anomalous Hall voltage.

A conversion integrates for NPLC/60 s of clock time and samples V_AHE at the current flowing
then (the 6221 sets it). A reading takes its aperture plus ``READING_OVERHEAD_S`` (plus a line
cycle with ``SYST:LSYNC ON``). The trigger model is the 2182A's: ``INIT`` arms ``TRIG:COUN``
readings that start on the trigger source (``IMM`` at once, ``EXT`` on each pulse on Trigger
Link line ``TRIGGER_INPUT_LINE``, ``BUS`` on ``*TRG``, ``TIM`` every ``TRIG:TIM``); a trigger
that arrives while a reading is still being taken is lost, not queued (a timer tick too), and
so is an external trigger that comes while the 2182A answers a bus query (``QUERY_BUSY_S``).
Readings go to the buffer while ``TRAC:FEED:CONT NEXT`` and it is not full. ``READ?`` is
``ABOR;INIT;FETC?`` and needs the immediate trigger source. A reading beyond 120 % of the range
is +9.9E37; a channel's relative offset (``CHAN<n>:REF``, on with ``:REF:STAT``) is
subtracted from its readings.

After ``*RST`` (and at power-on) initiation is continuous (``INIT:CONT ON``): ``INIT`` and
``READ?`` post -213 "Init ignored" until ``INIT:CONT OFF`` (the settled facts allow "may be";
unconfirmed: stricter reading). Commands that arrive through the 6221's RS-232 pass-through
run on their own time line (``handle_later``): a ``READ?`` there does not hold the lab's clock,
its reply is ready when the reading would be.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from dwlab.instruments.sim.lab import LINE_FREQUENCY_HZ
from dwlab.instruments.sim.scpi import (
    DATA_STALE,
    SETTINGS_CONFLICT,
    TRIGGER_DEADLOCK,
    Bool,
    Choice,
    Num,
    ScpiError,
    ScpiResponder,
    Text,
    no_args,
    one_arg,
    require,
)

OVERFLOW = 9.9e37
RANGES_V = {1: (0.01, 0.1, 1.0, 10.0, 100.0), 2: (0.1, 1.0, 10.0)}
INIT_IGNORED = (-213, "Init ignored")
BUFFER_FULL_BIT = 512
# The Trigger Link line the 2182A's external trigger input listens on: the one the 6221's
# delta modes use, TRIG:OLIN's default (unconfirmed: stricter reading, one fixed line).
TRIGGER_INPUT_LINE = 2
# Time per reading beyond the aperture (A/D housekeeping, buffer store): not found in a source
# (unconfirmed: stricter reading, 1 ms). Front and ordinary autozero are not charged extra time.
READING_OVERHEAD_S = 1e-3
# While external triggers may come (TRIG:SOUR EXT, readings armed), answering a bus query keeps
# the 2182A busy this long (parse, format, send) and a Trigger Link pulse then is lost. Whether
# a query can delay a reading is not in the manual (unconfirmed: stricter reading, it can).
QUERY_BUSY_S = 2e-3


class Keithley2182Sim(ScpiResponder):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,4000123,C02  /A02  "

    def build(self, tree) -> None:
        s = self.s = {}
        tree.add("[SENSe:]FUNCtion", self._set_function, lambda a: '"VOLT:DC"')
        tree.setting("[SENSe:]CHANnel", s, "channel", Num(1, 2, 1, integer=True))
        tree.setting("[SENSe:]VOLTage[:DC]:NPLCycles", s, "nplc", Num(0.01, 60.0, 5.0))
        for ch in (1, 2):
            tree.add(f"[SENSe:]VOLTage[:DC]:CHANnel{ch}:RANGe[:UPPer]",
                     lambda a, ch=ch: self._set_range(ch, a), lambda a, ch=ch: self._fmt(self.s["range"][ch]))
            tree.add(f"[SENSe:]VOLTage[:DC]:CHANnel{ch}:RANGe:AUTO",
                     lambda a, ch=ch: self._set_auto(ch, a), lambda a, ch=ch: Bool().format(self.s["auto"][ch]))
            top = 1.2 * RANGES_V[ch][-1]  # relative offset: within the channel's reach
            tree.add(f"[SENSe:]VOLTage[:DC]:CHANnel{ch}:REFerence",
                     lambda a, ch=ch, top=top: self._set_ref(ch, Num(-top, top, unit="V"), a),
                     lambda a, ch=ch: self._fmt(self.s["ref"][ch]))
            tree.add(f"[SENSe:]VOLTage[:DC]:CHANnel{ch}:REFerence:STATe",
                     lambda a, ch=ch: self._set_ref(ch, Bool(), a, key="ref_on"),
                     lambda a, ch=ch: Bool().format(self.s["ref_on"][ch]))
        tree.add("[SENSe:]VOLTage[:DC]:RANGe[:UPPer]",
                 lambda a: self._set_range(self.s["channel"], a),
                 lambda a: self._fmt(self.s["range"][self.s["channel"]]))
        tree.add("[SENSe:]VOLTage[:DC]:RANGe:AUTO", lambda a: self._set_auto(self.s["channel"], a),
                 lambda a: Bool().format(self.s["auto"][self.s["channel"]]))
        tree.setting("DISPlay:ENABle", s, "display_on", Bool())
        tree.setting("SYSTem:AZERo[:STATe]", s, "azero", Bool())
        tree.setting("SYSTem:FAZero[:STATe]", s, "front_azero", Bool())
        tree.setting("SYSTem:LSYNc[:STATe]", s, "line_sync", Bool())
        tree.setting("[SENSe:]VOLTage[:DC]:LPASs[:STATe]", s, "lpass", Bool())
        tree.setting("[SENSe:]VOLTage[:DC]:DFILter[:STATe]", s, "dfilter", Bool(), after=self._clear_filter)
        tree.setting("[SENSe:]VOLTage[:DC]:DFILter:COUNt", s, "dfil_count", Num(1, 100, 10, integer=True),
                     after=self._clear_filter)
        tree.setting("[SENSe:]VOLTage[:DC]:DFILter:TCONtrol", s, "dfil_tcon", Choice("MOVing", "REPeat"),
                     after=self._clear_filter)
        tree.add("READ", getter=self._read)
        tree.add("FETCh", getter=self._fetch)
        tree.add("[SENSe:]DATA:FRESh", getter=self._fresh)
        tree.add("[SENSe:]DATA[:LATest]", getter=self._fetch)
        # buffer and statistics
        tree.setting("TRACe:POINts", s, "trace_points", Num(2, 1024, 2, integer=True), guard=self._idle_buffer)
        tree.add("TRACe:POINts:ACTual", getter=lambda a: (no_args(a), str(len(self.buffer)))[1])
        tree.setting("TRACe:FEED", s, "feed", Choice("SENSe", "CALCulate", "NONE"))
        tree.setting("TRACe:FEED:CONTrol", s, "feed_control", Choice("NEVer", "NEXT", "ALWays"))
        tree.add("TRACe:CLEar", setter=lambda a: (no_args(a), self._clear_buffer()))
        tree.add("TRACe:DATA", getter=self._trace_data)
        tree.setting("CALCulate2:FORMat", s, "calc_form",
                     Choice("MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK"))
        tree.setting("CALCulate2:STATe", s, "calc_on", Bool())
        tree.add("CALCulate2:IMMediate", setter=lambda a: no_args(a), getter=self._calc)
        tree.add("CALCulate2:DATA", getter=self._calc)
        tree.setting("STATus:MEASurement:ENABle", s, "meas_enable", Num(0, 65535, 0, integer=True))
        tree.add("STATus:MEASurement[:EVENt]", getter=lambda a: str(self._meas_event()))
        # trigger model
        tree.setting("TRIGger[:SEQuence]:SOURce", s, "trig_source",
                     Choice("IMMediate", "EXTernal", "BUS", "TIMer", "MANual"), guard=self._idle)
        tree.setting("TRIGger[:SEQuence]:COUNt", s, "trig_count", Num(1, 9999, 1, integer=True, inf=True),
                     guard=self._idle)
        tree.setting("TRIGger[:SEQuence]:DELay", s, "trig_delay", Num(0.0, 99999.999, 0.0), guard=self._idle)
        tree.setting("TRIGger[:SEQuence]:TIMer", s, "trig_timer", Num(0.001, 999999.999, 0.1), guard=self._idle)
        tree.add("INITiate[:IMMediate]", setter=lambda a: (no_args(a), self._initiate()))
        tree.setting("INITiate:CONTinuous", s, "init_cont", Bool(), after=lambda on: self.abort() if on else None)
        tree.add("ABORt", setter=lambda a: (no_args(a), self.abort()))

    def reset(self) -> None:
        self.lab.cancel(self)
        self.s.update(channel=1, nplc=5.0, range={1: 100.0, 2: 10.0}, auto={1: True, 2: True},
                      azero=True, lpass=False, dfilter=True, dfil_count=10, dfil_tcon="MOV",
                      trace_points=2, feed="SENS", feed_control="NEV", calc_form="MEAN",
                      calc_on=False, meas_enable=0, trig_source="IMM", trig_count=1,
                      trig_delay=0.0, trig_timer=0.1, init_cont=True, front_azero=True,
                      line_sync=False, display_on=True, ref={1: 0.0, 2: 0.0},
                      ref_on={1: False, 2: False})
        self.buffer: list[float] = []
        self.returned = 0  # readings a TRAC:DATA? sent while the buffer was still filling
        self.latest: float | None = None
        self.pending = 0  # readings still to take in the present INIT
        self.busy_until = self.lab.t  # a reading under way ends then; triggers before are lost
        self.lost_triggers = 0
        self._filter: deque[float] = deque()
        self._deferred_t: float | None = None  # the pass-through's own time line (handle_later)

    # ------------------------------------------------------------ conversions
    @property
    def nplc(self) -> float:
        return self.s["nplc"]

    @property
    def aperture_s(self) -> float:
        return self.s["nplc"] / LINE_FREQUENCY_HZ

    def reading_time_s(self) -> float:
        """From trigger to stored reading: delay, aperture(s), overhead, line sync."""
        repeats = self.s["dfil_count"] if self.s["dfilter"] and self.s["dfil_tcon"] == "REP" else 1
        # with line sync on, a conversion waits for the next line-cycle edge: up to one cycle
        # (unconfirmed: stricter reading, a whole cycle every time)
        sync = 1.0 / LINE_FREQUENCY_HZ if self.s["line_sync"] else 0.0
        return self.s["trig_delay"] + repeats * (self.aperture_s + sync) + READING_OVERHEAD_S

    def handle_later(self, command: str, at: float) -> tuple[str | None, float]:
        """Handle ``command`` arriving at ``at`` through the 6221's RS-232 port.

        Its waits move a private time line instead of the lab's clock; returns the reply and
        the time it is ready (after the reading a ``READ?`` takes).
        """
        self._deferred_t = max(at, self.lab.t)
        try:
            return self.handle(command), self._deferred_t
        finally:
            self._deferred_t = None

    def handle(self, message: str) -> str | None:
        """As every responder; a query answered while external triggers may come holds the
        2182A for ``QUERY_BUSY_S`` (on the lab clock: the client waits for the reply)."""
        with self.lab.lock:
            self.lab.advance()
            arrived = self.lab.t
            waiting = (self._deferred_t is None and self.s["trig_source"] == "EXT"
                       and self.pending > 0)
            reply = super().handle(message)
            if waiting and reply is not None:
                self.busy_until = max(self.busy_until, arrived + QUERY_BUSY_S)
                self.lab.run_until(arrived + QUERY_BUSY_S)
            return reply

    def _now(self) -> float:
        return self.lab.t if self._deferred_t is None else self._deferred_t

    def _wait(self, seconds: float) -> float:
        """Let ``seconds`` pass (the lab clock, or the pass-through's time line); the new time."""
        if self._deferred_t is None:
            self.lab.run_until(self.lab.t + seconds)
        else:
            self._deferred_t += seconds
        return self._now()

    def conversion(self, t: float, nplc: float | None = None) -> float:
        """One A/D conversion at time ``t`` on the selected channel: the raw volts."""
        nplc = self.s["nplc"] if nplc is None else nplc
        if self.s["channel"] == 2:  # nothing is wired to channel 2: its own noise only
            return float(self.lab.device.noise_rng.normal(0.0, 20e-9 / math.sqrt(nplc)))
        return float(self.lab.device.v_ahe_V(self.lab.source_current_A, t, nplc=nplc, noise=True))

    def in_range(self, volts: float) -> float:
        """The reading as displayed: +9.9E37 beyond 120 % of a fixed range (auto always fits),
        else less the channel's relative offset (``CHAN<n>:REF``) while it is on."""
        ch = self.s["channel"]
        top = RANGES_V[ch][-1] if self.s["auto"][ch] else self.s["range"][ch]
        if abs(volts) > 1.2 * top:
            return OVERFLOW
        return volts - self.s["ref"][ch] if self.s["ref_on"][ch] else volts

    def _reading(self, t: float) -> float:
        """A filtered reading: the digital filter averages ``DFIL:COUN`` conversions."""
        if not self.s["dfilter"]:
            return self.in_range(self.conversion(t))
        n = self.s["dfil_count"]
        if self.s["dfil_tcon"] == "REP":
            values = [self.conversion(t + k * self.aperture_s) for k in range(n)]
            return self.in_range(float(np.mean(values)))
        self._filter.append(self.conversion(t))
        while len(self._filter) > n:
            self._filter.popleft()
        return self.in_range(float(np.mean(self._filter)))

    def _store(self, value: float) -> None:
        self.latest = value
        if (self.s["feed_control"] in ("NEXT", "ALW") and self.s["feed"] != "NONE"
                and len(self.buffer) < self.s["trace_points"]):
            self.buffer.append(value)
            if len(self.buffer) == self.s["trace_points"] and self.s["feed_control"] == "NEXT":
                self.s["feed_control"] = "NEV"

    # ------------------------------------------------------------ trigger model
    def _idle(self) -> None:
        require(self.pending == 0, SETTINGS_CONFLICT, "a measurement is in progress")

    def _idle_buffer(self) -> None:
        require(self.s["feed_control"] == "NEV" or not self.buffer, SETTINGS_CONFLICT, "buffer in use")

    def _initiate(self) -> None:
        require(self.pending == 0 and not self.s["init_cont"], INIT_IGNORED)
        self.pending = self.s["trig_count"]
        if self.s["trig_source"] in ("IMM", "TIM"):
            self._schedule_next(self.lab.t, self._self_trigger_period_s())

    def _self_trigger_period_s(self) -> float:
        """Readings with IMM follow each other; a TIM tick while a reading runs is lost, so
        timer readings come every whole number of timer periods that holds a reading."""
        if self.s["trig_source"] == "IMM":
            return self.reading_time_s()
        timer = self.s["trig_timer"]
        return timer * math.ceil(self.reading_time_s() / timer - 1e-9)

    def _schedule_next(self, t: float, period: float) -> None:
        def take(t_now: float) -> None:
            if self.pending <= 0:
                return
            self._take_triggered(t_now)
            if self.pending > 0:
                self.lab.schedule(t_now + period, take, owner=self)
        self.lab.schedule(t + period, take, owner=self)  # a reading is ready when it ends

    def _take_triggered(self, t: float) -> None:
        self._store(self._reading(t))
        self.pending -= 1

    def external_trigger(self, t: float) -> None:
        """A pulse on the 2182A's Trigger Link input at ``t``: one reading if one is armed
        and none is under way (a trigger while busy is lost, as on the real one)."""
        if self.s["trig_source"] != "EXT" or self.pending <= 0:
            return
        if t < self.busy_until:
            self.lost_triggers += 1
            return
        self.pending -= 1
        self.busy_until = t + self.reading_time_s()
        start = t + self.s["trig_delay"]

        def convert(t_start: float) -> None:  # integrates from the trigger (+ delay) on
            value = self._reading(t_start)
            self.lab.schedule(self.busy_until, lambda _t: self._store(value), owner=self)

        if start <= self.lab.t:  # before the source moves on to its next step
            convert(start)
        else:
            self.lab.schedule(start, convert, owner=self)

    def bus_trigger(self) -> None:
        if self.s["trig_source"] == "BUS" and self.pending > 0 and self.lab.t >= self.busy_until:
            self.busy_until = self.lab.t + self.reading_time_s()
            self._take_triggered(self.lab.t)
        else:
            super().bus_trigger()

    def abort(self) -> None:
        self.lab.cancel(self)
        self.pending = 0
        self.busy_until = min(self.busy_until, self.lab.t)

    def wait_complete(self) -> None:
        """``*OPC?``: let the clock run until the triggered readings are taken (IMM, TIM) and
        a reading under way is stored."""
        if self.s["trig_source"] in ("IMM", "TIM") and 0 < self.pending < math.inf:
            period = self._self_trigger_period_s()
            self.lab.run_until(self.lab.t + self.pending * period + self.aperture_s)
        if self.busy_until > self.lab.t:
            self.lab.run_until(self.busy_until)

    # ------------------------------------------------------------ queries
    def _read(self, args) -> str:
        no_args(args)
        require(not self.s["init_cont"], INIT_IGNORED, "READ? with INIT:CONT ON")
        require(self.s["trig_source"] == "IMM", TRIGGER_DEADLOCK, "READ? needs TRIG:SOUR IMM")
        self.abort()
        count = 1 if self.s["trig_count"] == math.inf else self.s["trig_count"]
        for _ in range(count):
            self._store(self._reading(self._wait(self.reading_time_s())))
        return self._fmt(self.latest)

    def _fetch(self, args) -> str:
        no_args(args)
        if self.s["init_cont"]:  # free-running: the newest conversion is always fresh
            self._store(self._reading(self.lab.t))
        require(self.latest is not None, DATA_STALE, "no reading yet")
        return self._fmt(self.latest)

    def _fresh(self, args) -> str:
        no_args(args)
        require(self.s["init_cont"] or self.s["trig_source"] == "IMM", TRIGGER_DEADLOCK)
        self._store(self._reading(self._wait(self.reading_time_s())))
        return self._fmt(self.latest)

    def _trace_data(self, args) -> str:
        """The buffer's readings. While it still fills (``TRAC:FEED:CONT NEXT``), only those
        no earlier TRAC:DATA? sent, as Keithley's 2700 documents (unconfirmed for the 2182A:
        the stricter reading; a client that takes each reply for the whole buffer breaks);
        once full, all of them."""
        no_args(args)
        require(bool(self.buffer), DATA_STALE, "buffer empty")
        sent = self.buffer
        if self.s["feed_control"] == "NEXT":
            sent = self.buffer[self.returned:]
            require(bool(sent), DATA_STALE, "no reading since the last TRAC:DATA?")
            self.returned = len(self.buffer)
        return ",".join(self._fmt(v) for v in sent)

    def _calc(self, args) -> str:
        no_args(args)
        require(self.s["calc_on"], SETTINGS_CONFLICT, "CALC2:STAT is OFF")
        require(bool(self.buffer), DATA_STALE, "buffer empty")
        data = np.array(self.buffer)
        form = self.s["calc_form"]
        value = {"MEAN": np.mean, "SDEV": lambda d: np.std(d, ddof=1) if len(d) > 1 else 0.0,
                 "MAX": np.max, "MIN": np.min, "PKPK": np.ptp}[form](data)
        return self._fmt(float(value))

    def _meas_event(self) -> int:
        return BUFFER_FULL_BIT if len(self.buffer) >= self.s["trace_points"] else 0

    def measurement_summary(self) -> int:
        return 1 if self._meas_event() & self.s["meas_enable"] else 0

    # ------------------------------------------------------------ settings
    def _set_function(self, args) -> None:
        name = Text().parse(one_arg(args)).upper()
        if name not in ("VOLT", "VOLT:DC", "VOLTAGE", "VOLTAGE:DC"):
            raise ScpiError((-224, "Illegal parameter value"), f"function {name!r} not simulated")

    def _set_range(self, ch: int, args) -> None:
        value = Num(0.0, 1.2 * RANGES_V[ch][-1], unit="V").parse(one_arg(args))
        # the lowest range that holds it; beyond the top range is its 120 % over-range
        self.s["range"][ch] = next((r for r in RANGES_V[ch] if r >= value * (1 - 1e-9)),
                                   RANGES_V[ch][-1])
        self.s["auto"][ch] = False

    def _set_ref(self, ch: int, kind, args, key: str = "ref") -> None:
        self.s[key][ch] = kind.parse(one_arg(args))

    def _set_auto(self, ch: int, args) -> None:
        self.s["auto"][ch] = Bool().parse(one_arg(args))

    def _clear_filter(self, _value) -> None:
        self._filter.clear()

    def _clear_buffer(self) -> None:
        self.buffer, self.returned = [], 0

    @staticmethod
    def _fmt(value: float) -> str:
        return f"{value:+.7E}"
