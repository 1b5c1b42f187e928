"""Simulated Keithley 6221 current source, with the 2182A on its RS-232 and trigger link.

The current it sources flows through the simulated bar (``lab.set_source_current``), limited
by the compliance voltage over the bar's resistance. Pulse delta, delta and the staircase/list
sweeps are run by the instrument on the lab's clock, as scheduled events: pulse edges, 2182A
conversions and trigger-link pulses happen at their own times however the client polls, and
the wall in the device model moves only while a pulse is high. Test readings go to the 6221's
buffer with their timestamps (s since the test started), read back as ``FORM:ELEM`` lays out.

Pulse delta cycle k (period T = INT / 60 Hz) rises at ``T/2 + kT``, is read at SDEL into the
pulse, falls at WIDT, and the low level is read SDEL after the fall. Its reading is
``V_high - (V_low_before + V_low_after)/2`` (``LME 2``) or ``V_high - V_low_before``
(``LME 1``): a slowly drifting thermal EMF cancels. Delta alternates HIGH/LOW every
DEL + NPLC/60 and reads ``(A - 2B + C)/4 * (-1)^n`` over three successive conversions.
After a test ends or is aborted the output stays on at the DC level (``SOUR:CURR``).

Waveform mode (``SOUR:WAVE``): one period is the ARB0..ARB4 points (normalised -1..1, loaded
into ARB0 by ``ARB:DATA`` + ``ARB:APP``, at most 100 per command and 65,536 in all, copied to
ARB1..4 by ``ARB:COPY``) or a square wave of duty ``DCYC``; the current is ``OFFS + AMPL x
point``, each point lasting period / points. Consecutive equal points merge into one segment,
so a 1000-point period of [write][read] costs two current changes, not 1000 events; the wall
moves only while the write segment flows. With ``PMAR:STAT ON`` the phase marker pulses the
trigger link once per period at ``PMAR`` degrees into it (which triggers the 2182A).
``SOUR:WAVE:ARM`` checks the settings (``AMPL + |OFFS|`` <= 105 mA, ranging), ``SOUR:WAVE:INIT``
turns the output on and starts; at the end of ``DUR:CYCL`` / ``DUR:TIME``, and on
``SOUR:WAVE:ABOR``, the output turns off at the DC level (the user's manual: "the output will
turn off after the duration period has expired"; that ABOR does the same is assumed). SIN and
RAMP are accepted as settings but not simulated: arming them posts -221.
"""

from __future__ import annotations

import math

import numpy as np

from dwlab.instruments.sim.lab import LINE_FREQUENCY_HZ
from dwlab.instruments.sim.scpi import (
    DATA_OUT_OF_RANGE,
    DATA_STALE,
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
ELEMENTS = ("READ", "TST", "RNUM", "SOUR", "COMP", "AVOL")
CURRENT = Num(-I_MAX, I_MAX, 0.0, unit="A")
DURATION_TIME = Num(100e-9, 999999.999, math.inf, unit="S", inf=True)
DURATION_CYCLES = Num(1e-3, 99999999900.0, math.inf, inf=True)
ARB_POINTS_MAX = 65536
ARB_POINTS_PER_COMMAND = 100
WAVE_FUNCTIONS = ("SINusoid", "SQUare", "RAMP", "ARB0", "ARB1", "ARB2", "ARB3", "ARB4")


class Keithley6221Sim(ScpiResponder):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,4123456,D03  /700x "

    def build(self, tree) -> None:
        s = self.s = {}
        idle = self._idle
        tree.add("OUTPut[:STATe]", self._set_output, lambda a: (no_args(a), Bool().format(self.output_on))[1])
        tree.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_level,
                 lambda a: (no_args(a), CURRENT.format(self.s["level"]))[1])
        tree.add("[SOURce:]CURRent:RANGe", self._set_range, lambda a: f"{self.s['range']:+.6E}")
        tree.setting("[SOURce:]CURRent:RANGe:AUTO", s, "range_auto", Bool(), guard=idle)
        tree.setting("[SOURce:]CURRent:COMPliance", s, "compliance", Num(0.1, 105.0, 10.0, unit="V"),
                     after=lambda v: self._apply_dc())
        tree.setting("[SOURce:]DELay", s, "delay", Num(1e-3, 999999.999, 1e-3, unit="S"), guard=idle)
        tree.add("[SOURce:]CLEar[:IMMediate]", setter=lambda a: (no_args(a), self._clear()))
        # pulse delta
        p = "SOURce:PDELta:"
        tree.setting(p + "HIGH", s, "pdel_high", CURRENT, guard=idle)
        tree.setting(p + "LOW", s, "pdel_low", CURRENT, guard=idle)
        tree.setting(p + "WIDTh", s, "pdel_width", Num(50e-6, 12e-3, 110e-6, unit="S"), guard=idle)
        tree.setting(p + "SDELay", s, "pdel_sdel", Num(16e-6, 11.966e-3, 16e-6, unit="S"), guard=idle)
        tree.setting(p + "COUNt", s, "pdel_count", Num(1, 65536, 10, integer=True, inf=True), guard=idle)
        tree.setting(p + "RANGing", s, "pdel_ranging", Choice("BEST", "FIXed"), guard=idle)
        tree.setting(p + "INTerval", s, "pdel_interval", Num(5, 999999, 5, integer=True), guard=idle)
        tree.setting(p + "SWEep[:STATe]", s, "pdel_sweep", Bool(), guard=idle)
        tree.setting(p + "LMEasure", s, "pdel_lme", Num(1, 2, 2, integer=True), guard=idle)
        tree.add(p + "NVPResent", getter=self._nvpresent)
        tree.add(p + "ARM", setter=lambda a: self._arm(a, "PULS"), getter=self._armed)
        # delta
        d = "SOURce:DELTa:"
        # the manual: setting HIGH also sets LOW to -HIGH (LOW may then be set on its own)
        tree.setting(d + "HIGH", s, "delt_high", Num(0.0, I_MAX, 1e-3, unit="A"), guard=idle,
                     after=lambda high: s.__setitem__("delt_low", -high))
        tree.setting(d + "LOW", s, "delt_low", CURRENT, guard=idle)
        tree.setting(d + "DELay", s, "delt_delay", Num(1e-3, 9999.999, 2e-3, unit="S"), guard=idle)
        tree.setting(d + "COUNt", s, "delt_count", Num(1, 65536, math.inf, integer=True, inf=True), guard=idle)
        tree.setting(d + "CABort", s, "delt_cab", Bool(), guard=idle)
        tree.setting(d + "CSWitch", s, "delt_csw", Bool(), guard=idle)
        tree.add(d + "NVPResent", getter=self._nvpresent)
        tree.add(d + "ARM", setter=lambda a: self._arm(a, "DELT"), getter=self._armed)
        # staircase and list sweeps
        w = "SOURce:SWEep:"
        tree.setting(w + "SPACing", s, "spacing", Choice("LINear", "LOGarithmic", "LIST"), guard=idle)
        tree.setting(w + "POINts", s, "points", Num(1, 65535, 11, integer=True), guard=idle)
        tree.setting(w + "RANGing", s, "swe_ranging", Choice("BEST", "AUTO", "FIXed"), guard=idle)
        tree.setting(w + "COUNt", s, "swe_count", Num(1, 9999, 1, integer=True, inf=True), guard=idle)
        tree.setting(w + "CABort", s, "swe_cab", Bool(), guard=idle)
        tree.add(w + "ARM", setter=lambda a: self._arm(a, "SWE"), getter=self._armed)
        tree.add(w + "ABORt", setter=lambda a: (no_args(a), self.abort()))
        for key in ("STARt", "STOP", "STEP"):
            tree.setting(f"[SOURce:]CURRent:{key}", s, key[:4].lower(), CURRENT, guard=idle)
        tree.add("SOURce:LIST:CURRent", lambda a: self._set_list("list_curr", a, CURRENT),
                 lambda a: self._get_list("list_curr"))
        tree.add("SOURce:LIST:DELay", lambda a: self._set_list("list_del", a, Num(1e-3, 999999.999, unit="S")),
                 lambda a: self._get_list("list_del"))
        tree.add("SOURce:LIST:COMPliance", lambda a: self._set_list("list_comp", a, Num(0.1, 105.0, unit="V")),
                 lambda a: self._get_list("list_comp"))
        for key, name in (("list_curr", "CURRent"), ("list_del", "DELay"), ("list_comp", "COMPliance")):
            tree.add(f"SOURce:LIST:{name}:POINts", getter=lambda a, k=key: str(len(self.s[k])))
        tree.add("INITiate[:IMMediate]", setter=lambda a: (no_args(a), self._initiate()))
        # waveform
        v = "SOURce:WAVE:"
        tree.setting(v + "FUNCtion", s, "wave_func", Choice(*WAVE_FUNCTIONS), guard=idle)
        tree.setting(v + "FREQuency", s, "wave_freq", Num(1e-3, 1e5, 1e3, unit="HZ"), guard=idle)
        tree.setting(v + "AMPLitude", s, "wave_ampl", Num(2e-12, I_MAX, 2e-12, unit="A"), guard=idle)
        tree.setting(v + "OFFSet", s, "wave_offs", CURRENT, guard=idle)
        tree.setting(v + "DCYCle", s, "wave_dcyc", Num(0.0, 100.0, 50.0), guard=idle)
        tree.add(v + "DURation:TIME", lambda a: self._set_duration(a, "TIME"),
                 lambda a: (no_args(a), DURATION_TIME.format(self._duration_s()))[1])
        tree.add(v + "DURation:CYCLes", lambda a: self._set_duration(a, "CYCL"),
                 lambda a: (no_args(a), DURATION_CYCLES.format(self._duration_s() * self.s["wave_freq"]))[1])
        tree.setting(v + "RANGing", s, "wave_ranging", Choice("BEST", "FIXed"), guard=idle)
        tree.setting(v + "PMARker:STATe", s, "pmar_on", Bool(), guard=idle)
        tree.setting(v + "PMARker[:LEVel]", s, "pmar_deg", Num(0.0, 360.0, 0.0), guard=idle)
        tree.setting(v + "PMARker:OLINe", s, "pmar_olin", Num(1, 6, 3, integer=True), guard=idle)
        tree.add(v + "ARBitrary:DATA", lambda a: self._load_arb(a, append=False),
                 lambda a: (no_args(a), ",".join(f"{p:+.6E}" for p in self.arb[0]))[1])
        tree.add(v + "ARBitrary:APPend", lambda a: self._load_arb(a, append=True))
        tree.add(v + "ARBitrary:COPY", self._copy_arb)
        tree.add(v + "ARBitrary:POINts", getter=lambda a: (no_args(a), str(len(self.arb[0])))[1])
        tree.add(v + "ARM", setter=lambda a: (no_args(a), self._wave_arm()), getter=self._armed)
        tree.add(v + "INITiate", setter=lambda a: (no_args(a), self._wave_initiate()))
        tree.add(v + "ABORt", setter=lambda a: (no_args(a), self.abort()))
        # trigger link
        tree.setting("TRIGger:OLINe", s, "olin", Num(1, 6, 2, integer=True), guard=idle)
        tree.setting("TRIGger:ILINe", s, "ilin", Num(1, 6, 1, integer=True), guard=idle)
        tree.setting("TRIGger:OUTPut", s, "trig_out", Choice("SOURce", "DELay", "SENSe", "NONE"), guard=idle)
        # buffer
        tree.setting("TRACe:POINts", s, "trace_points", Num(1, 65536, 100, integer=True), guard=idle)
        tree.add("TRACe:POINts:ACTual", getter=lambda a: (no_args(a), str(len(self.buffer)))[1])
        tree.add("TRACe:CLEar", setter=lambda a: (no_args(a), self._clear_buffer()))
        tree.add("TRACe:DATA", getter=self._trace_data)
        tree.add("TRACe:DATA:TYPE", getter=lambda a: (no_args(a), self.buffer_type)[1])
        tree.add("[SENSe:]DATA[:LATest]", getter=self._latest)
        tree.add("FORMat:ELEMents", self._set_elements, lambda a: ",".join(self.s["elements"]))
        tree.setting("FORMat[:DATA]", s, "format", Choice("ASCii"))
        # the 2182A on the RS-232 port
        tree.add("SYSTem:COMMunicate:SERial:SEND", setter=self._serial_send)
        tree.add("SYSTem:COMMunicate:SERial:ENTer", getter=self._serial_enter)

    def reset(self) -> None:
        self.lab.cancel(self)
        self.output_on = False
        self.s.update(level=0.0, range=2e-3, range_auto=True, compliance=10.0, delay=1e-3,
                      pdel_high=1e-3, pdel_low=0.0, pdel_width=110e-6, pdel_sdel=16e-6,
                      pdel_count=10, pdel_ranging="BEST", pdel_interval=5, pdel_sweep=False,
                      pdel_lme=2, delt_high=1e-3, delt_low=-1e-3, delt_delay=2e-3,
                      delt_count=math.inf, delt_cab=False, delt_csw=False, spacing="LIN",
                      points=11, swe_ranging="BEST", swe_count=1, swe_cab=False, star=0.0,
                      stop=0.0, step=0.0, list_curr=[], list_del=[], list_comp=[], olin=2,
                      ilin=1, trig_out="NONE", trace_points=100, elements=["READ", "TST"],
                      format="ASC", wave_func="SIN", wave_freq=1e3, wave_ampl=2e-12,
                      wave_offs=0.0, wave_dcyc=50.0, wave_duration=("TIME", math.inf),
                      wave_ranging="BEST", pmar_on=False, pmar_deg=0.0, pmar_olin=3)
        self.arb: list[list[float]] = [[] for _ in range(5)]  # ARB0 (volatile) .. ARB4
        self.armed: str | None = None
        self.running: str | None = None
        self.buffer: list[dict] = []
        self.buffer_type = "NONE"
        self.serial_reply: str | None = None
        self._apply_dc()

    # ------------------------------------------------------------ DC output
    @property
    def level_A(self) -> float:
        return self.s["level"]

    def drive(self, current_A: float) -> None:
        """Source ``current_A`` now, limited by compliance over the bar's resistance."""
        limit = self.s["compliance"] / self.lab.bar_resistance_ohm
        self.lab.set_source_current(float(np.clip(current_A, -limit, limit)) if self.output_on else 0.0)

    def in_compliance(self, current_A: float) -> bool:
        return abs(current_A) * self.lab.bar_resistance_ohm > self.s["compliance"]

    def _apply_dc(self) -> None:
        if not self.running:
            self.drive(self.s["level"])

    def _set_output(self, args) -> None:
        on = Bool().parse(one_arg(args))
        if not on:
            self.abort()
        self.output_on = on
        self._apply_dc()

    def _clear(self) -> None:
        """``SOUR:CLE``: stop any test, source zero and turn the output off."""
        self.abort()
        self.s["level"] = 0.0
        self.output_on = False
        self._apply_dc()

    def _set_range(self, args) -> None:
        value = Num(0.0, I_MAX, unit="A").parse(one_arg(args))
        self._idle()
        new_range = next(r for r in CURRENT_RANGES_A if r >= value * (1 - 1e-9))
        require(abs(self.s["level"]) <= 1.05 * new_range, SETTINGS_CONFLICT,
                f"level {self.s['level']} A exceeds the {new_range} A range")
        self.s.update(range=new_range, range_auto=False)

    def _set_level(self, args) -> None:
        level = CURRENT.parse(one_arg(args))
        self._idle()
        if self.s["range_auto"]:
            self.s["range"] = next(r for r in CURRENT_RANGES_A if r * 1.05 >= abs(level))
        require(abs(level) <= 1.05 * self.s["range"], DATA_OUT_OF_RANGE,
                f"{level} A exceeds the fixed {self.s['range']} A range")
        self.s["level"] = level
        self._apply_dc()

    def _idle(self) -> None:
        require(self.running is None, SETTINGS_CONFLICT, "a test is running; SOUR:SWE:ABOR first")

    # ------------------------------------------------------------ tests
    def _nvpresent(self, args) -> str:
        no_args(args)
        return "1"  # the simulated 2182A is always on the RS-232 port

    def _armed(self, args) -> str:
        no_args(args)
        return "1" if self.armed or self.running else "0"

    def _arm(self, args, mode: str) -> None:
        no_args(args)
        self._idle()
        if mode == "PULS":
            s = self.s
            period = s["pdel_interval"] / LINE_FREQUENCY_HZ
            require(s["pdel_sdel"] < s["pdel_width"], SETTINGS_CONFLICT,
                    f"SDEL {s['pdel_sdel']} s must be shorter than WIDT {s['pdel_width']} s")
            require(s["pdel_width"] + s["pdel_sdel"] < period / 2, SETTINGS_CONFLICT,
                    f"WIDT + SDEL must fit in half the {period} s cycle")
        if mode == "PULS":
            require(not self.s["pdel_sweep"], SETTINGS_CONFLICT, "pulse-delta sweeps are not simulated")
        if mode == "SWE":
            require(bool(self._sweep_points()), SETTINGS_CONFLICT, "empty sweep")
        self.armed = mode

    def _initiate(self) -> None:
        require(self.armed not in (None, "WAVE"), SETTINGS_CONFLICT,
                "INIT before ARM (an armed waveform starts with SOUR:WAVE:INIT)")
        self._idle()
        mode, self.armed = self.armed, None
        self.running = mode
        self.output_on = True
        self.t_start = self.lab.t
        if mode in ("PULS", "DELT"):
            count = self.s["pdel_count" if mode == "PULS" else "delt_count"]
            self.buffer = []
            self.buffer_type = "PULS" if mode == "PULS" else "DELT"
            self.s["trace_points"] = 65536 if count == math.inf else count
            self.remaining = count
        self.finite = self.remaining != math.inf if mode != "SWE" else self.s["swe_count"] != math.inf
        {"PULS": self._pulse_start, "DELT": self._delta_start, "SWE": self._sweep_start}[mode]()

    def abort(self) -> None:
        """``SOUR:SWE:ABOR`` (and the end of a test): stop, back to the DC level.

        A waveform (running or armed) also turns the output off.
        """
        if "WAVE" in (self.running, self.armed):
            self.output_on = False
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
        if len(self.buffer) < self.s["trace_points"]:
            self.buffer.append({"READ": reading, "TST": t - self.t_start, "RNUM": len(self.buffer),
                                "SOUR": source_A, "COMP": int(self.in_compliance(source_A)),
                                "AVOL": avg_V})
        if self.remaining != math.inf:
            self.remaining -= 1
        if self.remaining == 0:
            self.abort()

    # pulse delta
    def _pulse_start(self) -> None:
        self.drive(self.s["pdel_low"])

        def read_first_low(t):
            self._low_before = self._conversion(t, self._pdel_nplc())

        self._at(self.lab.t + self.s["pdel_sdel"], read_first_low)
        self._pulse_cycle(self.lab.t + self._pdel_period() / 2)

    def _pdel_period(self) -> float:
        return self.s["pdel_interval"] / LINE_FREQUENCY_HZ

    def _pdel_nplc(self) -> float:
        """The 2182A integrates within the pulse: from SDEL to the falling edge."""
        aperture = self.s["pdel_width"] - self.s["pdel_sdel"]
        return float(np.clip(aperture * LINE_FREQUENCY_HZ, 0.01, self.lab.voltmeter.s["nplc"]))

    def _pulse_cycle(self, t_rise: float) -> None:
        s = self.s
        high = {}

        def rise(t):
            self.drive(s["pdel_high"])

        def read_high(t):
            high["V"] = self._conversion(t, self._pdel_nplc())

        def fall(t):
            self.drive(s["pdel_low"])

        def read_low(t):
            low_after = self._conversion(t, self._pdel_nplc())
            low = (self._low_before + low_after) / 2 if s["pdel_lme"] == 2 else self._low_before
            self._low_before = low_after
            self._store(t_rise + s["pdel_sdel"], high["V"] - low, s["pdel_high"], (high["V"] + low) / 2)
            if self.running == "PULS":
                self._pulse_cycle(t_rise + self._pdel_period())

        self._at(t_rise, rise)
        self._at(t_rise + s["pdel_sdel"], read_high)
        self._at(t_rise + s["pdel_width"], fall)
        self._at(t_rise + s["pdel_width"] + s["pdel_sdel"], read_low)

    # delta
    def _delta_start(self) -> None:
        self._delta_values: list[float] = []
        self._delta_step(self.lab.t, 0)

    def _delta_step(self, t: float, i: int) -> None:
        s = self.s
        current = s["delt_high"] if i % 2 == 0 else s["delt_low"]
        self.drive(current)
        vm = self.lab.voltmeter

        def convert(t_read):
            self._delta_values.append(self._conversion(t_read))
            v = self._delta_values
            if len(v) >= 3:
                n = len(v) - 3
                reading = (v[-3] - 2 * v[-2] + v[-1]) / 4 * (-1) ** n
                self._store(t_read, reading, s["delt_high"], float(np.mean(v[-3:])))
            if self.running == "DELT":
                self._at(t_read + vm.aperture_s, lambda t2: self._delta_step(t2, i + 1))

        self._at(t + s["delt_delay"], convert)

    # sweeps
    def _sweep_points(self) -> list[tuple[float, float]]:
        """(current, delay) for each step of one sweep."""
        s = self.s
        if s["spacing"] == "LIST":
            dels = s["list_del"] or [s["delay"]] * len(s["list_curr"])
            return list(zip(s["list_curr"], dels + [s["delay"]] * (len(s["list_curr"]) - len(dels))))
        if s["spacing"] == "LIN":
            n = s["points"]
            levels = np.linspace(s["star"], s["stop"], n) if n > 1 else [s["star"]]
        else:
            require(s["star"] * s["stop"] > 0, SETTINGS_CONFLICT, "LOG sweep needs START, STOP of one sign")
            levels = np.sign(s["star"]) * np.geomspace(abs(s["star"]), abs(s["stop"]), s["points"])
        return [(float(c), s["delay"]) for c in levels]

    def _sweep_start(self) -> None:
        points = self._sweep_points()
        count = self.s["swe_count"]
        self.remaining = math.inf

        def step(t, k):
            if count != math.inf and k >= count * len(points):
                self.abort()
                return
            current, delay = points[k % len(points)]
            self.drive(current)
            if self.s["trig_out"] == "SOUR":
                self._trigger_link(t)
            self._at(t + delay, lambda t2: end_of_step(t2, k))

        def end_of_step(t, k):
            if self.s["trig_out"] in ("DEL", "SENS"):
                self._trigger_link(t)
            step(t, k + 1)

        step(self.lab.t, 0)

    def _trigger_link(self, t: float) -> None:
        """A pulse on the trigger-link output line; the cable takes it to the 2182A."""
        self.lab.voltmeter.external_trigger(t)

    # ------------------------------------------------------------ waveform
    def _set_duration(self, args, kind: str) -> None:
        value = (DURATION_TIME if kind == "TIME" else DURATION_CYCLES).parse(one_arg(args))
        self._idle()
        self.s["wave_duration"] = (kind, value)

    def _duration_s(self) -> float:
        kind, value = self.s["wave_duration"]
        return value if kind == "TIME" else value / self.s["wave_freq"]

    def _load_arb(self, args, append: bool) -> None:
        values = parse_list(args, Num(-1.0, 1.0), max_len=ARB_POINTS_PER_COMMAND)
        self._idle()
        total = (len(self.arb[0]) if append else 0) + len(values)
        require(total <= ARB_POINTS_MAX, DATA_OUT_OF_RANGE,
                f"{total} ARB points, at most {ARB_POINTS_MAX}")
        self.arb[0] = (self.arb[0] if append else []) + values

    def _copy_arb(self, args) -> None:
        slot = Num(1, 4, integer=True).parse(one_arg(args))
        self._idle()
        require(len(self.arb[0]) >= 2, SETTINGS_CONFLICT, "ARB0 holds fewer than 2 points")
        self.arb[slot] = list(self.arb[0])

    def _wave_segments(self) -> list[tuple[float, float]]:
        """(duration s, current A) of one period, equal consecutive points merged."""
        s = self.s
        period = 1.0 / s["wave_freq"]
        func = s["wave_func"]
        require(func == "SQU" or func.startswith("ARB"), SETTINGS_CONFLICT,
                f"waveform {func} is not simulated (SQU, ARB0..ARB4 are)")
        if func == "SQU":
            high = s["wave_dcyc"] / 100.0
            shape = [(high, 1.0), (1.0 - high, -1.0)]
        else:
            points = self.arb[int(func[3])]
            require(len(points) >= 2, SETTINGS_CONFLICT, f"{func} holds fewer than 2 points")
            shape = [(1.0 / len(points), p) for p in points]
        segments: list[tuple[float, float]] = []
        for fraction, point in shape:
            if fraction <= 0:
                continue
            current = s["wave_offs"] + s["wave_ampl"] * point
            if segments and segments[-1][1] == current:
                segments[-1] = (segments[-1][0] + fraction * period, current)
            else:
                segments.append((fraction * period, current))
        return segments

    def _wave_arm(self) -> None:
        self._idle()
        s = self.s
        peak = s["wave_ampl"] + abs(s["wave_offs"])
        require(peak <= I_MAX * (1 + 1e-12), SETTINGS_CONFLICT,
                f"AMPL + |OFFS| = {peak} A exceeds {I_MAX} A")
        if s["wave_ranging"] == "FIX":
            require(peak <= 1.05 * s["range"], SETTINGS_CONFLICT,
                    f"AMPL + |OFFS| = {peak} A exceeds the fixed {s['range']} A range")
        self._segments = self._wave_segments()
        self.armed = "WAVE"

    def _wave_initiate(self) -> None:
        require(self.armed == "WAVE", SETTINGS_CONFLICT, "SOUR:WAVE:INIT before SOUR:WAVE:ARM")
        self.armed, self.running = None, "WAVE"
        self.output_on = True
        self.t_start = self.lab.t
        duration = self._duration_s()
        self.finite = duration != math.inf
        self._wave_end = self.t_start + duration
        if self.finite:
            self._at(self._wave_end, lambda t: self.abort())
        self._wave_cycle(self.t_start)

    def _wave_cycle(self, t0: float) -> None:
        """Schedule one period's current changes and phase marker, then the next period."""
        period = 1.0 / self.s["wave_freq"]
        t = t0
        for duration, current in self._segments:
            if t >= self._wave_end:
                return
            self._at(t, lambda _t, c=current: self.drive(c))
            t += duration
        marker = t0 + self.s["pmar_deg"] / 360.0 * period
        if self.s["pmar_on"] and marker < self._wave_end:
            self._at(marker, self._trigger_link)
        if t0 + period < self._wave_end:
            self._at(t0 + period, self._wave_cycle)

    # ------------------------------------------------------------ lists and buffer
    def _set_list(self, key: str, args, kind) -> None:
        values = parse_list(args, kind, max_len=65535)
        self._idle()
        self.s[key] = values

    def _get_list(self, key: str) -> str:
        require(bool(self.s[key]), DATA_STALE, "list empty")
        return ",".join(f"{v:+.6E}" for v in self.s[key])

    def _clear_buffer(self) -> None:
        self._idle()
        self.buffer = []
        self.buffer_type = "NONE"

    def _set_elements(self, args) -> None:
        names = [Choice(*ELEMENTS, "READing", "TSTamp", "RNUMber", "SOURce", "COMPliance",
                        "AVOLtage").parse(a) for a in args] if args else []
        require(bool(names), DATA_OUT_OF_RANGE, "FORM:ELEM needs at least one element")
        self.s["elements"] = names

    def _format_point(self, point: dict) -> str:
        out = []
        for e in self.s["elements"]:
            out.append(str(point[e]) if e in ("RNUM", "COMP") else f"{point[e]:+.6E}")
        return ",".join(out)

    def _trace_data(self, args) -> str:
        no_args(args)
        require(bool(self.buffer), DATA_STALE, "buffer empty")
        return ",".join(self._format_point(p) for p in self.buffer)

    def _latest(self, args) -> str:
        no_args(args)
        require(bool(self.buffer), DATA_STALE, "no reading yet")
        return self._format_point(self.buffer[-1])

    def _serial_send(self, args) -> None:
        command = Text().parse(one_arg(args))
        require(self.running not in ("PULS", "DELT"), SETTINGS_CONFLICT, "the test owns the 2182A")
        self.serial_reply = self.lab.voltmeter.handle(command)

    def _serial_enter(self, args) -> str:
        no_args(args)
        require(self.serial_reply is not None, DATA_STALE, "nothing received from the 2182A")
        reply, self.serial_reply = self.serial_reply, None
        return reply

    def wait_complete(self) -> None:
        """``*OPC?`` after INIT: let the clock run until a finite test has finished."""
        while self.running and self.finite and self.lab.next_event_time() < math.inf:
            self.lab.run_until(self.lab.next_event_time())
