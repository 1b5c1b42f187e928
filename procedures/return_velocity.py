"""Return velocity of the wall under the SAF exchange field (paper Fig 4, section 5).

For each opposing Hz: saturate the soft layer to P (h = -Hz beyond H1; the wall is swept to
the notch and parks there), then set Hz so that h lies between H2 and H_ex. Nothing nucleates
(h > H2), but the exchange field pushes the wall back towards x = 0 with the drive h - H_ex < 0,
and it creeps past Hall bar 1, ``hall_bar_um`` (88.5 µm) from the notch, where V_AHE steps from
the P to the AP level. v = distance / crossing time; the creep fit and v at Hz = 0 (v_max) are
``dwlab.procedures.analysis.return_velocity``.

H_ex and H_c(soft) are measured, not typed: they come from a hysteresis run of the same sample
and device (``hysteresis_run``, 0 = the latest one in the database), which the run records
and its analysis names; without one the run is refused. Giving both ``H_ex_Oe`` and
``Hc_soft_Oe`` instead (measured elsewhere) is recorded as "given". The fields follow from
them (``dwlab.procedures.return_fields``): drives below H_c only (beyond it the soft layer
switches by nucleation, and given fields beyond it are refused), found as the run goes so
that the crossings take ~20 s to most of ``max_wait_s``. If the wall does not return even at
the strongest allowed drive the run fails, saying so.

Timing is the instruments': the 6221 runs a delta test at the read current (+I, -I alternating,
each reading (V1 - 2 V2 + V3)/4, so the thermal EMF cancels and the reading is V_AHE at I_read)
with the 2182A on the trigger link, and timestamps every reading in its own buffer. Python
drains that buffer while it fills (``BufferDrain``, every half reading interval, 0.1 s at
most), so each reading reaches the store and the live plot within the store's loss bound, and
stops a run once the wall has arrived; the times come from the buffer. The test starts while the field is still saturating (V at the P level),
so nothing is missed; points are kept from t = 0, the moment the field ramp reaches the target
(the run's first point is within one reading interval of it, which the analysis takes as the
start). Up to 65536 readings fit the buffer: 600 s at the default 0.2 s interval is 3000.
"""

from __future__ import annotations

import bisect
import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.lab import LimitError
from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.return_velocity import (
    ReturnVelocityResult,
    analyze_return_velocity,
    crossing,
    v_max_vs_hex,
)
from dwlab.procedures.base import FloatListParameter, LabProcedure, ParameterError, new_figure
from dwlab.procedures.buffer_drain import BufferDrain, drain_period_s
from dwlab.procedures.field_sweep import aperture_s
from dwlab.procedures.inputs import find_hysteresis
from dwlab.procedures.plot_view import PlotView
from dwlab.procedures.return_fields import FieldPlanner, check_field

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BUFFER_MAX = 65536
ELEMENTS = ["READ", "TST"]  # FORM:ELEM of the delta test: each reading with its timestamp
AFTER_ARRIVAL_FRACTION = 0.15  # keep reading this fraction of the elapsed time after arrival
AFTER_ARRIVAL_MIN_S = 2.0
FIELD_READ_S = 1.0  # lab time between gaussmeter reads while the readings are drained
MIN_STEP_UV = 5.0  # the smallest V step taken for the wall's passage (as the analysis)


class ReturnVelocity(LabProcedure):
    """Time the wall's return from the notch to Hall bar 1 under opposing Hz (Fig 4)."""

    NAME = "return-velocity"
    PLOT_VIEW = PlotView(label_by=("run", "Hz_Oe"))  # one curve per Hz, labelled
    VERSION = "1"
    COLUMNS = {"t_s": "s", "V_uV": "µV", "Hz_Oe": "Oe", "run": ""}

    Hz_list_Oe = FloatListParameter("Opposing Hz values", units="Oe", minimum=-20000.0,
                                    maximum=20000.0, allow_empty=True,
                                    default=[])  # empty: chosen from H_ex and H_c as it goes
    n_fields = IntegerParameter("Fields to time when they are chosen", minimum=3, maximum=20,
                                default=5)
    hysteresis_run = IntegerParameter("Hysteresis run giving H_ex and H_c (0 = the latest of "
                                      "this sample and device)", minimum=0,
                                      maximum=2**31 - 1, default=0)
    H_ex_Oe = FloatParameter("Exchange field H_ex (0 = from the hysteresis run)", units="Oe",
                             minimum=0.0, maximum=5000.0, default=0.0)
    Hc_soft_Oe = FloatParameter("Soft-layer coercivity H_c (0 = from the hysteresis run)",
                                units="Oe", minimum=0.0, maximum=5000.0, default=0.0)
    Hz_saturate_Oe = FloatParameter("Saturating Hz (beyond H1, along the hard layer)",
                                    units="Oe", minimum=-10000.0, maximum=0.0, default=-2500.0)
    saturate_s = FloatParameter("Saturation hold (wall to the notch)", units="s",
                                minimum=0.1, maximum=600.0, default=5.0)
    read_current_uA = FloatParameter("Read current", units="µA", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    reading_interval_s = FloatParameter("Time between readings", units="s", minimum=0.02,
                                        maximum=100.0, default=0.2)
    nplc = FloatParameter("2182A integration time", units="PLC", minimum=0.01, maximum=10.0,
                          default=1.0)
    max_wait_s = FloatParameter("Longest wait for the wall per field", units="s",
                                minimum=1.0, maximum=20000.0, default=900.0)
    arrival_uV = FloatParameter("V change that marks the wall's arrival", units="µV",
                                minimum=0.1, maximum=1000.0, default=10.0)

    # ---- parameters and limits ---------------------------------------------------------------
    def resolve_inputs(self, store, sample: str, device: str) -> None:
        """H_ex and H_c from the hysteresis run; refused when there is none to take them from."""
        if self.H_ex_Oe and self.Hc_soft_Oe and not self.hysteresis_run:
            return  # both given: measured elsewhere, recorded as given
        found = find_hysteresis(store, sample, device, self.hysteresis_run, self.NAME)
        if found is None:
            raise ParameterError(
                f"return-velocity: no finished hysteresis run of sample {sample!r} on device "
                f"{device!r} in the database to take H_ex and H_c from; run hysteresis first, "
                "or give --hysteresis-run ID")
        self.hysteresis_run = found.run_id
        self.H_ex_Oe, self.Hc_soft_Oe = found.result.H_ex_Oe, found.result.Hc_soft_Oe

    @property
    def H_ex_source(self) -> str:
        return (f"hysteresis run {self.hysteresis_run}" if self.hysteresis_run
                else "given (H_ex_Oe, Hc_soft_Oe)")

    def validate_parameters(self):
        values = super().validate_parameters()
        if bool(self.H_ex_Oe) != bool(self.Hc_soft_Oe):
            raise ParameterError("return-velocity: give both H_ex_Oe and Hc_soft_Oe, or neither "
                                 "(then they come from the hysteresis run)")
        if self.H_ex_Oe:
            for hz in self.Hz_list_Oe:
                problem = check_field(hz, self.H_ex_Oe, self.Hc_soft_Oe)
                if problem:
                    raise ParameterError(f"return-velocity: Hz_list_Oe: {problem} "
                                         f"(H_ex and H_c: {self.H_ex_source})")
            if not self.Hz_saturate_Oe < -(self.H_ex_Oe + self.Hc_soft_Oe):
                raise ParameterError(
                    f"return-velocity: Hz_saturate_Oe = {self.Hz_saturate_Oe:g} Oe does not "
                    f"saturate to P: it must be below -H1 = -(H_ex + H_c) = "
                    f"{-(self.H_ex_Oe + self.Hc_soft_Oe):.0f} Oe ({self.H_ex_source})")
        aperture = aperture_s(self.nplc)
        if self.reading_interval_s <= aperture + 1e-3:
            raise ParameterError(
                f"return-velocity: reading_interval_s = {self.reading_interval_s:g} s must exceed "
                f"the 2182A aperture nplc/60 = {aperture:.4g} s plus the 1 ms delta delay")
        readings = self._readings_per_run()
        if readings > BUFFER_MAX:
            raise ParameterError(
                f"return-velocity: max_wait_s = {self.max_wait_s:g} s at reading_interval_s = "
                f"{self.reading_interval_s:g} s is {readings} readings, beyond the 6221 buffer "
                f"of {BUFFER_MAX}")
        return values

    def _readings_per_run(self) -> int:
        before = self.saturate_s + 30.0  # the field ramp and its verification
        return math.ceil((self.max_wait_s * (1 + AFTER_ARRIVAL_FRACTION) + before)
                         / self.reading_interval_s)

    def check_limits(self, lab) -> None:
        device = lab.setup.device
        if device.hall_bar_um > device.x_notch_um:
            raise LimitError(
                f"device {device.name!r} has its notch {device.x_notch_um:g} µm "
                f"from the A/B junction, so no Hall bar lies hall_bar_um = "
                f"{device.hall_bar_um:g} µm before it: this bar cannot time a return (a "
                "return-velocity device is needed, e.g. --preset rv-1504 on the simulated lab)")
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        lab.check_field("z", self.Hz_saturate_Oe)
        for hz in self.Hz_list_Oe:
            lab.check_field("z", hz)
        if self.H_ex_Oe and not self.Hz_list_Oe:  # the chosen fields lie between these
            lab.check_field("z", -self.H_ex_Oe)

    # ---- measurement ---------------------------------------------------------------------------
    def execute(self) -> None:
        self._configure_voltmeter()
        self.event("input", f"H_ex = {self.H_ex_Oe:.1f} Oe, H_c = {self.Hc_soft_Oe:.1f} Oe "
                            f"from {self.H_ex_source}")
        planner = FieldPlanner(self.H_ex_Oe, self.Hc_soft_Oe, self.n_fields, self.max_wait_s,
                               self.Hz_list_Oe)
        for run, hz in enumerate(planner):
            self.emit("progress", min(99.0, 100.0 * run / planner.planned))
            planner.record(hz, self._time_return(run, hz))
        self.emit("progress", 100.0)

    def _time_return(self, run: int, hz: float) -> float | None:
        """Saturate, set ``hz``, record V_AHE until the wall has passed (or max_wait_s); the
        crossing time, None when the wall did not come."""
        lab = self.lab
        lab.field_z.set_field(self.Hz_saturate_Oe)
        self.sleep(self.saturate_s)  # the wall creeps (or is swept) to the notch
        readings = self._start_and_set(run, hz)
        t_s, volts = self._read_until_arrival(readings)
        return crossing(pd.DataFrame({"t_s": t_s, "V_uV": volts * 1e6}),
                        MIN_STEP_UV, f"return run {run}")

    def _configure_voltmeter(self) -> None:
        vm = self.lab.voltmeter
        vm.active_channel = 1
        vm.voltage_nplc = self.nplc
        vm.digital_filter_enabled = False  # each delta reading stands for its own moment

    def _start_and_set(self, run: int, hz: float) -> "FieldReadings":
        """Start the delta test at saturation, ramp to ``hz`` (draining the buffer meanwhile);
        the field's readings, timed from t0.

        t0 is when the programmed ramp reaches ``hz``. The wall starts back only once h has
        dropped below H_ex, in the last part of the ramp, and the coil lags its supply by L/R
        (~0.25 s): the true start is a few tenths of a second after t0, under 1 % of the
        shortest crossing of the default fields (~33 s).
        """
        src, axis = self.lab.source, self.lab.field_z
        src.delta_high_source = self.read_current_uA * 1e-6
        src.delta_low_source = -self.read_current_uA * 1e-6  # explicit: the sim keeps LOW
        src.delta_delay = self.reading_interval_s - aperture_s(self.nplc)
        src.delta_cycles = self._readings_per_run()
        src.buffer_points = self._readings_per_run()
        src.data_elements = ELEMENTS
        src.clear_buffer()
        src.delta_arm()
        t_test = self.lab.clock.now()
        src.delta_start()
        rate = axis.limits.max_ramp_rate_Oe_s
        t0 = self.lab.clock.now() + abs(hz - self.Hz_saturate_Oe) / rate
        readings = FieldReadings(self, run, t_test, t0)
        axis.set_field(hz, rate_Oe_s=rate, on_step=readings.drain)
        return readings

    def _read_until_arrival(self, readings: "FieldReadings") -> tuple[np.ndarray, np.ndarray]:
        """Drain the buffer until V has left its P level, then a while longer (or until
        max_wait_s); stop the test. The field's kept readings (t_s, V)."""
        clock = self.lab.clock
        period = drain_period_s(self.reading_interval_s)
        start_V = arrived_at = None
        while True:
            self.sleep(period)
            elapsed = clock.now() - readings.t0
            volts = readings.drain()
            if len(volts):
                start_V = volts[-1] if start_V is None else start_V
                if arrived_at is None and abs(volts[-1] - start_V) * 1e6 > self.arrival_uV:
                    arrived_at = elapsed
            done = arrived_at is not None and (
                elapsed >= arrived_at * (1 + AFTER_ARRIVAL_FRACTION) + AFTER_ARRIVAL_MIN_S)
            # no arrival by max_wait_s: no step, and the analysis reports the run as not crossed
            if done or elapsed >= self.max_wait_s:
                break
        self.lab.source.abort()
        readings.drain()  # those of the last moments
        return readings.kept()

    # ---- analysis and figure -------------------------------------------------------------------
    def analyze(self, df, device) -> ReturnVelocityResult:
        return analyze_return_velocity(df, distance_um=device.hall_bar_um, H_ex_Oe=self.H_ex_Oe,
                                       H_ex_source=self.H_ex_source)

    def figure(self, df, result: ReturnVelocityResult | None, device) -> Figure:
        """Fig 4a (V_AHE against t for each Hz) and Fig 4e (ln v against |H|^(-1/4), fit)."""
        fig = new_figure(figsize=(10, 4), layout="constrained")
        ax_v, ax_fit = fig.subplots(1, 2)
        for _, part in df.groupby("run", sort=True):
            ax_v.plot(part["t_s"], part["V_uV"], lw=1,
                      label=f"Hz = {part['Hz_Oe'].median():.0f} Oe")
        ax_v.set_xscale("log")
        ax_v.set_xlabel("t (s)")
        ax_v.set_ylabel("V_AHE (µV)")
        ax_v.set_title(f"return to Hall bar 1 ({device.hall_bar_um:g} µm)")
        ax_v.legend(fontsize=8)
        if result is None:  # say why, rather than leave the panel blank
            ax_fit.text(0.5, 0.5, "no creep fit:\n" + textwrap.fill(self._why_no_fit(df, device),
                                                                   44),
                        transform=ax_fit.transAxes, ha="center", va="center", fontsize=9)
            ax_fit.set(xticks=[], yticks=[])
        else:
            crossed = [r for r in result.runs if r.fitted]
            u = np.array([r.H_drive_Oe for r in crossed]) ** -0.25
            ax_fit.plot(u, np.log([r.v_um_s for r in crossed]), "o", label="measured")
            u_line = np.linspace(result.H_ex_Oe ** -0.25, u.max() * 1.02, 50)
            ax_fit.plot(u_line, result.ln_v0 - result.alpha_Oe_quarter * u_line, "-",
                        label=f"creep fit, α = {result.alpha_Oe_quarter:.1f} Oe$^{{1/4}}$")
            ax_fit.plot([result.H_ex_Oe ** -0.25], [math.log(result.v_max_um_s)], "*", ms=12,
                        label=f"Hz = 0: v_max = {result.v_max_um_s:.0f} µm/s")
            ax_fit.legend(fontsize=8)
        ax_fit.set_xlabel("|H_drive|$^{-1/4}$ (Oe$^{-1/4}$)")
        ax_fit.set_ylabel("ln v (v in µm/s)")
        ax_fit.set_title(f"creep law, H_ex = {self.H_ex_Oe:g} Oe")
        return fig


    def _why_no_fit(self, df, device) -> str:
        """The analysis's own words for why this run has no creep fit."""
        try:
            self.analyze(df, device)
        except AnalysisError as exc:
            return str(exc)
        return "the analysis was not given to the figure"


def v_max_figure(results: list[ReturnVelocityResult],
                 samples: list[str] | None = None) -> Figure:
    """Fig 4e and 4f over several samples: each sample's measured velocities against the
    opposing Hz with its creep fit (left; one colour per sample, one marker per run), and the
    extrapolated v_max at Hz = 0 against the sample's H_ex (right; one point per sample, the
    mean of its runs, the bar their range). ``samples``: each result's sample name (None:
    each result is a sample of its own)."""
    table = v_max_vs_hex(results, samples)
    names = samples if samples is not None else [str(i) for i in range(len(results))]
    fig = new_figure(figsize=(10, 4), layout="constrained")
    ax_e, ax_f = fig.subplots(1, 2)
    for n, row in table.iterrows():
        colour = f"C{n % 10}"
        own = [r for r, name in zip(results, names) if name == row["sample"]]
        label = (f"{row['sample']}: " if samples is not None else "") + \
            f"H_ex = {row['H_ex_Oe']:.0f} Oe" + (f", {len(own)} runs" if len(own) > 1 else "")
        for k, result in enumerate(own):
            fitted = [r for r in result.runs if r.fitted]
            ax_e.plot([r.Hz_Oe for r in fitted], [r.v_um_s for r in fitted], "osD^v"[k % 5],
                      color=colour, mfc="none" if k else colour, label=label if k == 0 else None)
            drive = np.linspace(min(r.H_drive_Oe for r in fitted), result.H_ex_Oe, 60)
            ax_e.plot(-(result.H_ex_Oe - drive), result.predict_velocity(drive), "--",
                      color=colour, lw=0.8)
    ax_e.set(yscale="log", xlabel="opposing Hz (Oe)", ylabel="return velocity v (µm/s)",
             title="creep fits, extrapolated to Hz = 0 (Fig 4e)")
    ax_e.legend(fontsize=8)
    spread = [table["v_max_um_s"] - table["v_max_low"], table["v_max_high"] - table["v_max_um_s"]]
    ax_f.errorbar(table["H_ex_Oe"], table["v_max_um_s"], yerr=spread, fmt="o-", capsize=4)
    for _, row in table[table["n_runs"] > 1].iterrows():
        ax_f.annotate(f"mean of {row['n_runs']} runs", (row["H_ex_Oe"], row["v_max_um_s"]),
                      textcoords="offset points", xytext=(8, 6), fontsize=8)
    ax_f.set(xlabel="H_ex (Oe)", ylabel="v_max at Hz = 0 (µm/s)",
             title="maximum return velocity per sample (Fig 4f)")
    return fig


class FieldReadings:
    """One field's delta readings, drained from the 6221's buffer as they come and stored at
    once (``drain``, also the ramp's ``on_step``); those from ``t0`` on are kept, timed from it.

    A drain that finds readings also reads the gaussmeter, at most every FIELD_READ_S: the
    coil still settles by a few Oe after ``set_field`` returns, so each point gets the field
    of its moment (interpolated between the reads around it, the latest read for the newest).
    """

    def __init__(self, procedure: ReturnVelocity, run: int, t_test: float, t0: float):
        self.procedure, self.run, self.t_test, self.t0 = procedure, run, t_test, t0
        src = procedure.lab.source
        self._buffer = BufferDrain(
            lambda: src.buffer_points_actual,
            lambda start, n: src.buffer_columns(ELEMENTS, ELEMENTS, start, n))
        self._field_log: tuple[list[float], list[float]] = ([], [])
        self._t_s: list[np.ndarray] = []
        self._volts: list[np.ndarray] = []

    def drain(self) -> np.ndarray:
        """Store the readings new in the buffer; their finite volts (those before t0 too)."""
        new = self._buffer.new()
        if new is None:
            return np.empty(0)
        lab = self.procedure.lab
        times, fields = self._field_log
        if not times or lab.clock.now() - times[-1] >= FIELD_READ_S:
            times.append(lab.clock.now())
            fields.append(lab.field_z.field)
        volts, tst = new
        t_s = self.t_test + tst - self.t0
        keep = t_s >= 0
        # the gaussmeter, per reading: only the log's reads since the oldest new one matter
        recent = max(0, bisect.bisect_left(times, self.t0 + t_s[0]) - 1) if len(t_s) else 0
        hz_at = np.interp(t_s[keep] + self.t0, times[recent:], fields[recent:])
        for t, v, h in zip(t_s[keep], volts[keep], hz_at, strict=True):
            self.procedure.point(t_s=float(t), V_uV=float(v) * 1e6, Hz_Oe=float(h), run=self.run)
        self._t_s.append(t_s[keep])
        self._volts.append(volts[keep])
        return volts[np.isfinite(volts)]

    def kept(self) -> tuple[np.ndarray, np.ndarray]:
        """(t_s, V) of every reading kept so far."""
        if not self._t_s:
            return np.empty(0), np.empty(0)
        return np.concatenate(self._t_s), np.concatenate(self._volts)
