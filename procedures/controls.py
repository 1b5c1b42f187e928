"""The control experiments behind "the motion is SOT-driven" (paper section 4, Fig 3c).

One integrate-reset cycle per experiment (``dwlab.procedures.analysis.controls.EXPERIMENTS``):
the reference (+I, +Hx, the neuron's own write train), then the controls, each a long train
at the same operating point: write current reversed, Hx reversed, Hx = 0, and read current
only with both fields on. Every cycle starts from rest (the reset of the one before), reads
its baseline with the fields on, and is reset afterwards. The analysis reports each
control's drift as a fraction of the full swing (from a hysteresis run of the sample, or the
reference's own swing) and whether it stays below 2 %.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.procedures.analysis.controls import EXPERIMENTS, NAMES, analyze_controls
from dwlab.procedures.base import LabProcedure
from dwlab.procedures.integrate_reset import COLUMNS, WRITE, CycleRunner
from dwlab.procedures.pulse_train import TRAIN_PERIODS_MAX, PulseTrain


class Controls(CycleRunner, LabProcedure):
    """Reference write train, then reversed current, reversed Hx, Hx = 0 and read-only."""

    NAME = "controls"
    VERSION = "1"
    COLUMNS = {**COLUMNS, "control": ""}

    control_pulses = IntegerParameter("Periods of each control train", minimum=1,
                                      maximum=TRAIN_PERIODS_MAX, default=300)
    write_pulses = IntegerParameter("Write + read periods of the reference", minimum=1,
                                    maximum=TRAIN_PERIODS_MAX, default=20)
    baseline_pulses = IntegerParameter("Read-only periods before each train, fields on",
                                       minimum=2, maximum=TRAIN_PERIODS_MAX, default=10)
    reset_reads = IntegerParameter("Read-only periods during each reset", minimum=1,
                                   maximum=TRAIN_PERIODS_MAX, default=150)
    write_current_mA = FloatParameter("Write current of the reference", units="mA",
                                      minimum=-105.0, maximum=105.0, default=20.0)
    Hx_Oe = FloatParameter("In-plane field Hx of the reference", units="Oe", minimum=-5000.0,
                           maximum=5000.0, default=1000.0)
    Hz_Oe = FloatParameter("Out-of-plane field Hz", units="Oe", minimum=-5000.0,
                           maximum=5000.0, default=-1725.0)

    def validate_parameters(self):
        values = super().validate_parameters()
        self.train_timing(self.write_width_ms)
        return values

    def check_limits(self, lab) -> None:
        lab.check_current("write_current_mA", self.write_current_mA * 1e-3)
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        for hx in (self.Hx_Oe, -self.Hx_Oe):
            lab.check_field("x", hx)
        lab.check_field("z", self.Hz_Oe)

    def execute(self) -> None:
        trains = PulseTrain(self.lab, self.sleep)
        trains.prepare(self.lab.setup.limits.compliance_V)
        for code, (current_sign, hx_sign) in enumerate(EXPERIMENTS.values()):
            self.emit("progress", 100.0 * code / len(EXPERIMENTS))
            pulses = self.write_pulses if NAMES[code] == "reference" else self.control_pulses
            self.run_cycle(trains, code, current_sign * self.write_current_mA * 1e-3,
                           hx_sign * self.Hx_Oe, self.Hz_Oe, extra={"control": code},
                           write_pulses=pulses)
        self.emit("progress", 100.0)

    def analyze(self, df, device):
        return analyze_controls(df, self.known_swing_uV)

    def figure(self, df, result, device) -> Figure:
        """V_AHE along each train, from its rest level, in % of the swing."""
        fig = Figure(figsize=(7, 4.2), layout="constrained")
        ax = fig.subplots()
        swing = result.full_swing_uV if result is not None else 45.0
        for code, part in df.groupby("control", sort=True):
            rest = part.loc[part["phase"] == 0, "V_uV"].mean()
            train = part[part["phase"] == WRITE]
            ax.plot(train["pulse"] + 1, 100 * (rest - train["V_uV"]) / swing, ".-", ms=2,
                    lw=0.6, label=NAMES[int(code)])
        ax.axhline(2.0, color="k", ls="--", lw=0.6)
        ax.set(xscale="log", xlabel="period number in the train",
               ylabel="integrated (% of the full swing)",
               title="control experiments (dashed: 2 % of the swing)")
        ax.legend(fontsize=8)
        return fig
