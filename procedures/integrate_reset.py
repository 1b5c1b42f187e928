"""Integrate / fire / self-reset cycles: the DW neuron (paper Fig 3d-f, docs/physics.md section 3).

Per cycle: read-only periods with no field (phase 0, the rest level), then Hx and Hz on and
write + read periods (phase 1: 0.5 ms SOT write pulses drive the wall to the notch, V_AHE goes
from about -75 to -120 µV in about 20 pulses), then Hz and the write current off with reads
running while the SAF exchange field pulls the wall home (phase 2), and Hx off. Each train is
one 6221 arbitrary waveform read by the 2182A on the phase marker
(``dwlab.procedures.pulse_train``, which says why the reads are V_AHE at the read current with
the thermal EMF cancelled).

Hz alone creeps the wall: at the operating Hz = -1725 Oe (h - H_ex = 575 Oe) it moves at
~7 µm/s, and setting and verifying a field takes seconds (ramp, the coil's L/R lag, the
gaussmeter agreeing with itself), so writes started after a verified set_field would begin
with the wall several µm along -- on a real stage as in the simulation. So Hz is first set
and verified at ``Hz_hold`` (about -H_ex, where the exchange field balances it and the wall
does not move), the write train is loaded and armed, and only then is Hz stepped the last
575 Oe and the train started as soon as the gaussmeter reads the operating field within the
axis tolerance; the field is checked again after the train. The recorded Hz_Oe of the writes
is the gaussmeter's reading at the train's start. The magnet's L/R lag (0.25 s in the
simulation) still brings the last ~100 Oe slowly: the wall creeps 2-5 µm before the first
write, against 5-9 µm after a verified set_field straight to the operating Hz. Starting when
the supply ramp is done instead would write while Hz is still ~300 Oe short.

The reset reads start before Hz is ramped down and run while the magnet ramps, so the drop is
recorded as it happens; its time therefore includes the magnet's ramp and L/R lag, not only
the wall's ~35 ms return. The field columns are 0 (set value) for the other phases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.instruments.field_axis import FieldAxis, FieldAxisError
from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.integrate_reset import IntegrateResetResult, analyze_integrate_reset
from dwlab.procedures.analysis.neuron import NeuronParameters, fit_neuron
from dwlab.procedures.base import LabProcedure, ParameterError, new_figure
from dwlab.procedures.plot_view import CYCLES
from dwlab.procedures.pulse_train import VOLTMETER_BUFFER, PulseTrain, PulseTrainError, TrainTiming

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASELINE, WRITE, RESET = 0, 1, 2
FIELD_POLL_S = 0.01  # gaussmeter polls while the last Hz step arrives
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
    """What integrate-reset and integration-sweep share: one baseline/write/reset cycle."""

    Hz_hold_Oe = FloatParameter("Hz set and verified before the step to Hz (about -H_ex, "
                                "no creep)", units="Oe", minimum=-5000.0, maximum=5000.0,
                                default=-1150.0)
    full_swing_uV = FloatParameter("V_P - V_AP from a hysteresis run (0 = the largest flat "
                                   "swing of this run)", units="µV", minimum=0.0,
                                   maximum=1e5, default=0.0)

    @property
    def known_swing_uV(self) -> float | None:
        """The full swing to judge firing by, or None to find it in the run's own plateaus
        (which a wall creeping slowly, below Hx = 500 Oe, can fool)."""
        return self.full_swing_uV or None

    def run_cycle(self, trains: PulseTrain, cycle: int, write_A: float, hx_Oe: float,
                  hz_Oe: float, extra: dict | None = None) -> None:
        """Baseline, fields on (Hz via the hold field), write train, reset reads while Hz ramps
        down, Hx off."""
        lab, extra = self.lab, extra or {}
        read_A = self.read_current_uA * 1e-6
        reads = self.train_timing(0.0)
        writes = self.train_timing(self.write_width_ms)
        common = dict(cycle=cycle, I_write_mA=0.0, write_width_ms=0.0, **extra)

        t, v = trains.run(self.baseline_pulses, reads, 0.0, read_A)
        self._emit(t, v, phase=BASELINE, Hz_Oe=0.0, Hx_Oe=0.0, **common)
        self.raise_if_stopped()

        hx = lab.field_x.set_field(hx_Oe)  # Hx alone does not move the wall: first
        lab.field_z.set_field(self.Hz_hold_Oe)  # h = H_ex: the wall does not move either
        armed = trains.arm(self.write_pulses, writes, write_A, read_A)
        hz = self.step_field(lab.field_z, hz_Oe)
        t, v = trains.finish(trains.fire(armed))
        self.check_field_held(lab.field_z, hz_Oe)
        self._emit(t, v, phase=WRITE, Hz_Oe=hz, Hx_Oe=hx,
                   **{**common, "I_write_mA": write_A * 1e3,
                      "write_width_ms": self.write_width_ms})

        running = trains.start(self.reset_reads, reads, 0.0, read_A)
        lab.field_z.ramp_to_zero()  # the wall returns as h falls below H_ex
        t, v = trains.finish(running)
        self._emit(t, v, phase=RESET, Hz_Oe=0.0, Hx_Oe=0.0, **common)
        lab.field_x.ramp_to_zero()
        self.raise_if_stopped()

    def step_field(self, axis: FieldAxis, target_Oe: float) -> float:
        """Ramp to ``target_Oe`` at the axis's rate limit and return the gaussmeter's reading
        as soon as it is within the axis tolerance: no settle-and-verify as in ``set_field``,
        since with the field at the operating point the wall is already creeping."""
        axis.ramp_to(target_Oe, on_step=self.raise_if_stopped)
        deadline = self.lab.clock.now() + axis.settle_s
        while abs((field := axis.field) - target_Oe) > axis.tolerance_Oe:
            if self.lab.clock.now() > deadline:
                raise FieldAxisError(f"axis {axis.name}: field is {field:.1f} Oe "
                                     f"{axis.settle_s:g} s after the step, target "
                                     f"{target_Oe:.1f} Oe, tolerance {axis.tolerance_Oe:g} Oe")
            self.sleep(FIELD_POLL_S)
        return field

    @staticmethod
    def check_field_held(axis: FieldAxis, target_Oe: float) -> None:
        """After the train: the field must still be within tolerance of the target."""
        field = axis.field
        if abs(field - target_Oe) > axis.tolerance_Oe:
            raise FieldAxisError(f"axis {axis.name}: field was {field:.1f} Oe after the write "
                                 f"train, target {target_Oe:.1f} Oe, tolerance "
                                 f"{axis.tolerance_Oe:g} Oe")

    def _emit(self, t, v, **columns) -> None:
        for pulse, (t_s, v_uV) in enumerate(zip(t, v)):
            self.point(t_s=float(t_s), pulse=pulse, V_uV=float(v_uV), **columns)


class IntegrateReset(CycleRunner, LabProcedure):
    """N integrate/fire/reset cycles of the SOT neuron (Fig 3f)."""

    NAME = "integrate-reset"
    PLOT_VIEW = CYCLES
    VERSION = "1"
    COLUMNS = COLUMNS

    cycles = IntegerParameter("Cycles", minimum=1, maximum=100, default=8)
    baseline_pulses = IntegerParameter("Read-only periods before the writes", minimum=1,
                                       maximum=VOLTMETER_BUFFER, default=10)
    write_pulses = IntegerParameter("Write + read periods", minimum=1,
                                    maximum=VOLTMETER_BUFFER, default=20)
    reset_reads = IntegerParameter("Read-only periods during the reset", minimum=1,
                                   maximum=VOLTMETER_BUFFER, default=200)
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
        lab.check_field("z", self.Hz_hold_Oe)

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
             title="cycles overlaid")
    ax_t.legend(fontsize=6, ncol=2, loc="upper right")
    return fig
