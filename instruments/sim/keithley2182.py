"""Simulated Keithley 2182A nanovoltmeter, reading the device's anomalous Hall voltage.

A conversion integrates for NPLC/60 s of clock time and samples V_AHE at the current flowing
then (the 6221 sets it). The trigger model is the 2182A's: ``INIT`` arms ``TRIG:COUN``
readings that start on the trigger source (``IMM`` at once, ``EXT`` on each trigger-link pulse
from the 6221, ``BUS`` on ``*TRG``, ``TIM`` every ``TRIG:TIM``); readings go to the buffer
while ``TRAC:FEED:CONT NEXT`` and it is not full. ``READ?`` is ``ABOR;INIT;FETC?`` and needs
the immediate trigger source. A reading beyond 120 % of the range is +9.9E37.
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
        tree.add("[SENSe:]VOLTage[:DC]:RANGe[:UPPer]",
                 lambda a: self._set_range(self.s["channel"], a),
                 lambda a: self._fmt(self.s["range"][self.s["channel"]]))
        tree.add("[SENSe:]VOLTage[:DC]:RANGe:AUTO", lambda a: self._set_auto(self.s["channel"], a),
                 lambda a: Bool().format(self.s["auto"][self.s["channel"]]))
        tree.setting("SYSTem:AZERo[:STATe]", s, "azero", Bool())
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
                      trig_delay=0.0, trig_timer=0.1, init_cont=False)
        self.buffer: list[float] = []
        self.latest: float | None = None
        self.pending = 0  # readings still to take in the present INIT
        self._filter: deque[float] = deque()

    # ------------------------------------------------------------ conversions
    @property
    def aperture_s(self) -> float:
        return self.s["nplc"] / LINE_FREQUENCY_HZ

    def conversion(self, t: float, nplc: float | None = None) -> float:
        """One A/D conversion at time ``t`` on the selected channel: the raw volts."""
        nplc = self.s["nplc"] if nplc is None else nplc
        if self.s["channel"] == 2:  # nothing is wired to channel 2: its own noise only
            return float(self.lab.rng.normal(0.0, 20e-9 / math.sqrt(nplc)))
        return float(self.lab.device.v_ahe_V(self.lab.source_current_A, t, nplc=nplc, noise=True))

    def in_range(self, volts: float) -> float:
        """The reading as displayed: +9.9E37 beyond 120 % of a fixed range (auto always fits)."""
        ch = self.s["channel"]
        if self.s["auto"][ch]:
            return volts if abs(volts) <= 1.2 * RANGES_V[ch][-1] else OVERFLOW
        return volts if abs(volts) <= 1.2 * self.s["range"][ch] else OVERFLOW

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

    def _reading_time_s(self) -> float:
        repeats = self.s["dfil_count"] if self.s["dfilter"] and self.s["dfil_tcon"] == "REP" else 1
        return self.s["trig_delay"] + repeats * self.aperture_s

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
        count = self.s["trig_count"]
        self.pending = count
        source = self.s["trig_source"]
        if source in ("IMM", "TIM"):
            period = self._reading_time_s() if source == "IMM" else max(self.s["trig_timer"],
                                                                        self._reading_time_s())
            self._schedule_next(self.lab.t, period)

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
        """A trigger-link pulse from the 6221 at time ``t``: one reading if one is armed."""
        if self.s["trig_source"] != "EXT" or self.pending <= 0:
            return
        if self.s["trig_delay"] == 0:  # before the source moves on to its next step
            self._take_triggered(t)
        else:
            self.lab.schedule(t + self.s["trig_delay"], self._take_triggered, owner=self)

    def bus_trigger(self) -> None:
        if self.s["trig_source"] == "BUS" and self.pending > 0:
            self._take_triggered(self.lab.t)
        else:
            super().bus_trigger()

    def abort(self) -> None:
        self.lab.cancel(self)
        self.pending = 0

    def wait_complete(self) -> None:
        """``*OPC?``: with immediate/timer triggering, let the clock run until all are taken."""
        if self.s["trig_source"] in ("IMM", "TIM") and self.pending > 0 and self.pending != math.inf:
            period = self._reading_time_s() if self.s["trig_source"] == "IMM" else self.s["trig_timer"]
            self.lab.run_until(self.lab.t + self.pending * period + self.aperture_s)

    # ------------------------------------------------------------ queries
    def _read(self, args) -> str:
        no_args(args)
        require(not self.s["init_cont"], INIT_IGNORED, "READ? with INIT:CONT ON")
        require(self.s["trig_source"] == "IMM", TRIGGER_DEADLOCK, "READ? needs TRIG:SOUR IMM")
        self.abort()
        count = 1 if self.s["trig_count"] == math.inf else self.s["trig_count"]
        for _ in range(count):
            self.lab.run_until(self.lab.t + self._reading_time_s())
            self._store(self._reading(self.lab.t))
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
        self.lab.run_until(self.lab.t + self._reading_time_s())
        self._store(self._reading(self.lab.t))
        return self._fmt(self.latest)

    def _trace_data(self, args) -> str:
        no_args(args)
        require(bool(self.buffer), DATA_STALE, "buffer empty")
        return ",".join(self._fmt(v) for v in self.buffer)

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
        self.s["range"][ch] = next(r for r in RANGES_V[ch] if r >= value * (1 - 1e-9))
        self.s["auto"][ch] = False

    def _set_auto(self, ch: int, args) -> None:
        self.s["auto"][ch] = Bool().parse(one_arg(args))

    def _clear_filter(self, _value) -> None:
        self._filter.clear()

    def _clear_buffer(self) -> None:
        self.buffer = []

    @staticmethod
    def _fmt(value: float) -> str:
        return f"{value:+.7E}"
