"""Integrate / fire / self-reset cycles: the DW neuron (paper Fig 3d-f, docs/physics.md section 3).

Per cycle, as in the paper's Fig 3d: Hx and Hz are set and verified, then read-only periods
record the initial state with the fields on (phase 0: the rest level, and the control that Hz
and Hx alone do not move the wall), then write + read periods (phase 1: 0.5 ms SOT write
pulses drive the wall to the notch, V_AHE goes from about -75 to -120 µV in about 15-20
pulses), then Hz and the write current off with reads running while the SAF exchange field
pulls the wall home (phase 2), and Hx off. Each train is a 6221 arbitrary waveform read by
the 2182A on the phase marker, run and stored in segments of at most 0.1 s
(``dwlab.procedures.pulse_train``, which says why the reads are V_AHE at the read current with
the thermal EMF cancelled); the reset reads go on while the field ramps down.

The read-only baseline with the fields on is the paper's evidence that the motion is the
SOT's: if the wall drifts there by more than ``DRIFT_LIMIT`` of the full swing (known from a
hysteresis run), the run records a ``drift`` event and the analysis reports the drift, since
the write pulses would then not be what integrates.

During the reset the gaussmeter is logged at every step of the Hz ramp-down and until the
field is off, and each reset read carries the field at its time (``Hz_Oe``), so the analysis
times the wall's reset from the moment the field is off (|Hz| below ``FIELD_OFF_OE``) and the
ramp-down beside it. ``full_swing_uV`` 0 takes the swing from the latest hysteresis run of the
same sample and device in the database, when there is one (``hysteresis_run`` names one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.instruments.field_axis import FieldAxis, FieldAxisError
from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.integrate_reset import (
    DRIFT_LIMIT,
    FIELD_OFF_OE,
    IntegrateResetResult,
    analyze_integrate_reset,
    baseline_drift,
)
from dwlab.procedures.analysis.neuron import NeuronParameters, fit_neuron
from dwlab.procedures.base import LabProcedure, ParameterError, new_figure
from dwlab.procedures.field_sweep import FieldRecorder
from dwlab.procedures.inputs import find_hysteresis
from dwlab.procedures.plot_view import CYCLES
from dwlab.procedures.pulse_train import (
    TRAIN_PERIODS_MAX,
    PulseTrain,
    PulseTrainError,
    ServicingClock,
    TrainTiming,
)

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

BASELINE, WRITE, RESET = 0, 1, 2
FIELD_POLL_S = 0.01  # gaussmeter polls while the field goes off
PHASE_COLOURS = {BASELINE: "0.5", WRITE: "tab:red", RESET: "tab:blue"}

COLUMNS = {"t_s": "s", "cycle": "", "pulse": "", "phase": "", "V_uV": "µV", "I_write_mA": "mA",
           "write_width_ms": "ms", "Hz_Oe": "Oe", "Hx_Oe": "Oe"}


@dataclass(frozen=True)
class NeuronRunResult:
    """The cycles (levels, pulses to fire, reset time, energy, σ/µ) and the LIF parameters."""

    cycles: IntegrateResetResult
    neuron: NeuronParameters | None
    neuron_error: str | None = None

    def summary(self) -> dict[str, float | str]:
        out = dict(self.cycles.summary())
        if self.neuron is not None:
            out.update({f"LIF_{k}": v for k, v in self.neuron.summary().items()})
        else:
            out["LIF_error"] = self.neuron_error or "not fitted"
        return out


class TrainParameters:
    """The write/read train's parameters and its timing, for every pulse-train procedure."""

    write_width_ms = FloatParameter("Write pulse width (10 µs waveform points)", units="ms",
                                    minimum=0.01, maximum=1000.0, default=0.5)
    period_ms = FloatParameter("Pulse period", units="ms", minimum=1.0, maximum=10000.0,
                               default=10.0)
    read_current_uA = FloatParameter("Read current", units="µA", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    read_delay_ms = FloatParameter("2182A reading this long after the write ends", units="ms",
                                   minimum=0.0, maximum=1000.0, default=1.0)

    def train_timing(self, write_width_ms: float) -> TrainTiming:
        try:
            return TrainTiming(self.period_ms * 1e-3, write_width_ms * 1e-3,
                               self.read_delay_ms * 1e-3)
        except PulseTrainError as exc:
            raise ParameterError(f"{self.NAME}: {exc} (parameters period_ms, write_width_ms, "
                                 f"read_delay_ms)") from None


class CycleRunner(TrainParameters):
    """What integrate-reset, integration-sweep and controls share: one baseline/write/reset
    cycle, and the full swing from the hysteresis run."""

    full_swing_uV = FloatParameter("V_P - V_AP from a hysteresis run (0 = from the latest "
                                   "hysteresis of this sample, else the largest flat swing of "
                                   "this run)", units="µV", minimum=0.0, maximum=1e5,
                                   default=0.0)
    hysteresis_run = IntegerParameter("Hysteresis run giving the full swing (0 = the latest of "
                                      "this sample and device)", minimum=0, maximum=2**31 - 1,
                                      default=0)

    def resolve_inputs(self, store, sample: str, device: str) -> None:
        """Take the full swing from the hysteresis run when it is not given."""
        if self.full_swing_uV:
            return
        found = find_hysteresis(store, sample, device, self.hysteresis_run, self.NAME)
        if found is not None:
            self.full_swing_uV, self.hysteresis_run = found.full_swing_uV, found.run_id

    @property
    def known_swing_uV(self) -> float | None:
        """The full swing to judge firing by, or None to find it in the run's own plateaus
        (which a wall creeping slowly, below Hx = 500 Oe, can fool)."""
        return self.full_swing_uV or None

    def run_cycle(self, trains: PulseTrain, cycle: int, write_A: float, hx_Oe: float,
                  hz_Oe: float, extra: dict | None = None, write_pulses: int | None = None
                  ) -> None:
        """Fields on and verified, read-only baseline with the fields on, write train, reset
        reads while Hz goes off (the gaussmeter logged), Hx off. ``write_A`` 0 makes the
        write train read-only (a control)."""
        lab, extra = self.lab, extra or {}
        read_A = self.read_current_uA * 1e-6
        reads = self.train_timing(0.0)
        writes = self.train_timing(self.write_width_ms) if write_A else reads
        width_ms = self.write_width_ms if write_A else 0.0
        common = dict(cycle=cycle, I_write_mA=0.0, write_width_ms=0.0, **extra)

        hx = lab.field_x.set_field(hx_Oe)
        hz = lab.field_z.set_field(hz_Oe)
        _, v = trains.run(self.baseline_pulses, reads, 0.0, read_A,
                          self._emitter(phase=BASELINE, Hz_Oe=hz, Hx_Oe=hx, **common))
        self._check_drift(cycle, v)
        self.raise_if_stopped()

        trains.run(write_pulses or self.write_pulses, writes, write_A, read_A,
                   self._emitter(phase=WRITE, Hz_Oe=hz, Hx_Oe=hx,
                                 **{**common, "I_write_mA": write_A * 1e3,
                                    "write_width_ms": width_ms}))
        self.check_field_held(lab.field_z, hz_Oe)

        recorder = FieldRecorder(lab.field_z, lab.clock)
        emit_reset = self._reset_emitter(recorder, hx, common)
        running = trains.start(self.reset_reads, reads, 0.0, read_A)
        recorder.record()
        waiting = ServicingClock(trains, running, emit_reset)  # reads on while the field ramps
        with lab.field_z.sleeping_on(waiting):
            lab.field_z.ramp_to_zero(on_step=recorder.record)  # the wall returns as h < H_ex
        self.wait_field_off(recorder, waiting)
        trains.finish(running, emit_reset)
        lab.field_x.ramp_to_zero()
        self.raise_if_stopped()

    def wait_field_off(self, recorder: FieldRecorder, waiting: ServicingClock) -> None:
        """Log the gaussmeter until it reads the field off (|Hz| < FIELD_OFF_OE) or the reset
        reads end (``waiting`` reads them on while it sleeps): the coil may still carry
        current when the supply's ramp is done."""
        while abs(recorder.fields[-1]) >= FIELD_OFF_OE and not waiting.train.ended:
            waiting.sleep(FIELD_POLL_S)
            self.raise_if_stopped()
            recorder.record()

    def _check_drift(self, cycle: int, v_uV) -> None:
        """Record a ``drift`` event when the fields alone moved the wall during the baseline
        by more than DRIFT_LIMIT of the full swing (needs the swing)."""
        if not self.full_swing_uV:
            return
        drift = baseline_drift(v_uV, self.full_swing_uV)
        if abs(drift) > DRIFT_LIMIT:
            self.event("drift", f"cycle {cycle}: V_AHE drifted {100 * drift:+.1f} % of the "
                                f"{self.full_swing_uV:.1f} µV swing during the read-only "
                                f"baseline with Hx and Hz on (limit {100 * DRIFT_LIMIT:g} %): "
                                "the fields alone move the wall")

    @staticmethod
    def check_field_held(axis: FieldAxis, target_Oe: float) -> None:
        """After the train: the field must still be within tolerance of the target."""
        field = axis.field
        if abs(field - target_Oe) > axis.tolerance_Oe:
            raise FieldAxisError(f"axis {axis.name}: field was {field:.1f} Oe after the write "
                                 f"train, target {target_Oe:.1f} Oe, tolerance "
                                 f"{axis.tolerance_Oe:g} Oe")

    def _emitter(self, **columns) -> Callable[[int, np.ndarray, np.ndarray], None]:
        """``on_readings`` for a train: each reading a point, numbered from the train's start."""
        def emit(first: int, t, v) -> None:
            for pulse, (t_s, v_uV) in enumerate(zip(t, v), start=first):
                self.point(t_s=float(t_s), pulse=pulse, V_uV=float(v_uV), **columns)
        return emit

    def _reset_emitter(self, recorder: FieldRecorder, hx: float, common: dict
                       ) -> Callable[[int, np.ndarray, np.ndarray], None]:
        """``on_readings`` for the reset reads: each carries Hz at its own time (the field is
        read first, so that the log spans the readings while the field still moves)."""
        def emit(first: int, t, v) -> None:
            recorder.record()
            for pulse, (t_s, v_uV, h) in enumerate(zip(t, v, recorder.field_at(t)),
                                                  start=first):
                self.point(t_s=float(t_s), pulse=pulse, V_uV=float(v_uV), phase=RESET,
                           Hz_Oe=float(h), Hx_Oe=hx, **common)
        return emit


class IntegrateReset(CycleRunner, LabProcedure):
    """N integrate/fire/reset cycles of the SOT neuron (Fig 3f)."""

    NAME = "integrate-reset"
    PLOT_VIEW = CYCLES
    VERSION = "1"
    COLUMNS = COLUMNS

    cycles = IntegerParameter("Cycles", minimum=1, maximum=100, default=8)
    baseline_pulses = IntegerParameter("Read-only periods before the writes, fields on",
                                       minimum=2, maximum=TRAIN_PERIODS_MAX, default=10)
    write_pulses = IntegerParameter("Write + read periods", minimum=1,
                                    maximum=TRAIN_PERIODS_MAX, default=20)
    reset_reads = IntegerParameter("Read-only periods during the reset", minimum=1,
                                   maximum=TRAIN_PERIODS_MAX, default=200)
    write_current_mA = FloatParameter("Write current", units="mA", minimum=-105.0,
                                      maximum=105.0, default=20.0)
    Hx_Oe = FloatParameter("In-plane field Hx", units="Oe", minimum=-5000.0, maximum=5000.0,
                           default=1000.0)
    Hz_Oe = FloatParameter("Out-of-plane field Hz", units="Oe", minimum=-5000.0, maximum=5000.0,
                           default=-1725.0)

    def validate_parameters(self):
        values = super().validate_parameters()
        self.train_timing(self.write_width_ms)
        return values

    def check_limits(self, lab) -> None:
        write_A = self.write_current_mA * 1e-3
        lab.check_current("write_current_mA", write_A)
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        lab.check_field("x", self.Hx_Oe)
        lab.check_field("z", self.Hz_Oe)

    def execute(self) -> None:
        trains = PulseTrain(self.lab, self.sleep)
        trains.prepare(self.lab.setup.limits.compliance_V)
        for cycle in range(self.cycles):
            self.emit("progress", 100.0 * cycle / self.cycles)
            self.run_cycle(trains, cycle, self.write_current_mA * 1e-3, self.Hx_Oe, self.Hz_Oe)
        self.emit("progress", 100.0)

    def analyze(self, df, device) -> NeuronRunResult:
        cycles = analyze_integrate_reset(df, device.R_bar_ohm, self.known_swing_uV)
        try:
            return NeuronRunResult(cycles, fit_neuron(df, self.known_swing_uV))
        except AnalysisError as exc:
            return NeuronRunResult(cycles, None, str(exc))

    def figure(self, df, result, device) -> Figure:
        return cycles_figure(df, result.cycles if result is not None else None,
                             title="Integrate and reset cycles (Fig 3f)")


def cycles_figure(df, result: IntegrateResetResult | None, title: str) -> Figure:
    """V_AHE against period number over the whole run, phases coloured (left, Fig 3f: the
    field ramps between trains take no room), and the cycles overlaid against time from the
    first write (right, Fig 3e)."""
    fig = new_figure(figsize=(11, 4.2), layout="constrained")
    ax_n, ax_t = fig.subplots(1, 2, width_ratios=[2, 1])
    df = df.sort_values("t_s", kind="stable").reset_index(drop=True)
    for phase, label in ((BASELINE, "read only"), (WRITE, "write + read, Hx, Hz on"),
                         (RESET, "fields and write off (reset)")):
        part = df[df["phase"] == phase]
        ax_n.plot(part.index, part["V_uV"], ".", ms=2.5, color=PHASE_COLOURS[phase],
                  label=label)
    ax_n.set(xlabel="period number in the run", ylabel="V$_{AHE}$ at the read current (µV)",
             title=title)
    ax_n.legend(loc="best", fontsize=8)
    for cycle, part in df.groupby("cycle", sort=True):
        t_on = float(part.loc[part["phase"] == WRITE, "t_s"].min())
        shown = part[part["phase"] != BASELINE]
        ax_t.plot(1e3 * (shown["t_s"] - t_on), shown["V_uV"], ".-", ms=2, lw=0.6,
                  label=f"cycle {int(cycle) + 1}")
    if result is not None and result.V_fire_uV is not None:
        ax_t.axhline(result.V_fire_uV, color="k", lw=0.6, ls="--")
        ax_t.axhline(result.V_rest_uV, color="k", lw=0.6, ls="--")
        ttf = result.pulses_to_fire_mean
        ax_t.text(0.35, 0.5, f"σ/µ of V_fire = {result.threshold_fluctuation_pct:.2f} %\n"
                  f"pulses to fire = {ttf:.1f}\nenergy/cycle = {result.energy_mJ:.2f} mJ",
                  transform=ax_t.transAxes, fontsize=8)
    ax_t.set(xlabel="time from the first write (ms)", ylabel="V$_{AHE}$ (µV)",
             title="cycles overlaid, Hz from the gaussmeter (grey)")
    ax_t.legend(fontsize=6, ncol=2, loc="upper right")
    ax_h = ax_t.twinx()  # the field the wall saw: on during the writes, ramped down after
    for _, part in df.groupby("cycle", sort=True):
        t_on = float(part.loc[part["phase"] == WRITE, "t_s"].min())
        shown = part[part["phase"] != BASELINE]
        ax_h.plot(1e3 * (shown["t_s"] - t_on), shown["Hz_Oe"], "-", color="0.6", lw=0.6)
    if result is not None and result.ramp_down_ms_mean is not None:
        first = df[df["cycle"] == df["cycle"].min()]
        write_t = first.loc[first["phase"] == WRITE, "t_s"]
        off_ms = 1e3 * (write_t.max() - write_t.min()) + result.ramp_down_ms_mean
        ax_t.axvline(off_ms, color="0.4", ls=":", lw=0.8)
        ax_t.text(off_ms, result.V_fire_uV, f" field off\n (|Hz| < {FIELD_OFF_OE:g} Oe)",
                  fontsize=7, va="bottom")
    ax_h.set_ylabel("Hz (Oe)", color="0.4")
    return fig
