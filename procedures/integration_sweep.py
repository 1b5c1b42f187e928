"""Integration against write current density and against Hx (paper Fig 3b/c).

Each setting is one integrate/reset cycle of ``integrate-reset`` (fields on, baseline reads,
an instrument-timed train of 0.5 ms writes each followed by a read,
reset reads while Hz ramps down), so every setting starts from the reset state and the wall's
return is on record. The J sweep runs at ``Hx_for_J_Oe``, the Hx sweep at
``J_for_Hx_1e11_A_m2``. Densities are in 10^11 A/m² and turned into currents with the bar's
recorded geometry (J = I / (w t_metal)); every current is checked against the setup's current
and density limits before anything is sourced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.procedures.analysis.integration_sweep import (
    IntegrationSweepResult,
    analyze_integration_sweep,
)
from dwlab.procedures.base import FloatListParameter, LabProcedure, ParameterError, new_figure
from dwlab.procedures.integrate_reset import COLUMNS, WRITE, CycleRunner
from dwlab.procedures.pulse_train import TRAIN_PERIODS_MAX, PulseTrain

if TYPE_CHECKING:
    from matplotlib.figure import Figure
from dwlab.procedures.plot_view import CYCLES


class IntegrationSweep(CycleRunner, LabProcedure):
    """Write trains at several current densities and in-plane fields (Fig 3b/c)."""

    NAME = "integration-sweep"
    PLOT_VIEW = CYCLES
    VERSION = "1"
    COLUMNS = {**COLUMNS, "J_1e11_A_m2": "1e11 A/m²"}

    J_list_1e11_A_m2 = FloatListParameter("Current densities for the J sweep", units="1e11 A/m²",
                                          minimum=-50.0, maximum=50.0, allow_empty=True,
                                          default=[2.5, 3.0, 3.5, 4.0])
    Hx_for_J_Oe = FloatParameter("Hx during the J sweep", units="Oe", minimum=-5000.0,
                                 maximum=5000.0, default=1000.0)
    Hx_list_Oe = FloatListParameter("In-plane fields for the Hx sweep", units="Oe",
                                    minimum=-5000.0, maximum=5000.0, allow_empty=True,
                                    default=[250.0, 500.0, 750.0, 1000.0, 1500.0])
    J_for_Hx_1e11_A_m2 = FloatParameter("Current density during the Hx sweep",
                                        units="1e11 A/m²", minimum=-50.0, maximum=50.0,
                                        default=4.0)
    repeats = IntegerParameter("Cycles per setting", minimum=1, maximum=20, default=1)
    baseline_pulses = IntegerParameter("Read-only periods before the writes", minimum=1,
                                       maximum=TRAIN_PERIODS_MAX, default=10)
    write_pulses = IntegerParameter("Write + read periods", minimum=1,
                                    maximum=TRAIN_PERIODS_MAX, default=30)
    reset_reads = IntegerParameter("Read-only periods during the reset", minimum=1,
                                   maximum=TRAIN_PERIODS_MAX, default=150)
    Hz_Oe = FloatParameter("Out-of-plane field Hz", units="Oe", minimum=-5000.0, maximum=5000.0,
                           default=-1725.0)

    def validate_parameters(self):
        values = super().validate_parameters()
        self.train_timing(self.write_width_ms)
        self.settings = ([(j, self.Hx_for_J_Oe) for j in self.J_list_1e11_A_m2]
                         + [(self.J_for_Hx_1e11_A_m2, hx) for hx in self.Hx_list_Oe])
        if not self.settings:
            raise ParameterError("integration-sweep: J_list_1e11_A_m2 and Hx_list_Oe are both "
                                 "empty: nothing to sweep")
        return values

    def check_limits(self, lab) -> None:
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        lab.check_field("z", self.Hz_Oe)
        for j, hx in self.settings:
            current = lab.setup.device.current_for_density(j * 1e11)
            lab.check_current(f"write current for J = {j:g}e11 A/m²", current)
            lab.check_field("x", hx)

    def execute(self) -> None:
        trains = PulseTrain(self.lab, self.sleep)
        trains.prepare(self.lab.setup.limits.compliance_V)
        device = self.lab.setup.device
        total = len(self.settings) * self.repeats
        cycle = 0
        for j, hx in self.settings:
            for _ in range(self.repeats):
                self.emit("progress", 100.0 * cycle / total)
                self.run_cycle(trains, cycle, device.current_for_density(j * 1e11), hx,
                               self.Hz_Oe, extra={"J_1e11_A_m2": j})
                cycle += 1
        self.emit("progress", 100.0)

    def analyze(self, df, device) -> IntegrationSweepResult:
        return analyze_integration_sweep(df, device.R_bar_ohm, self.known_swing_uV)

    def figure(self, df, result, device) -> Figure:
        """V_AHE against write pulse number per J (left, Fig 3b) and per Hx (right, Fig 3c)."""
        fig = new_figure(figsize=(10, 4), layout="constrained")
        ax_j, ax_h = fig.subplots(1, 2, sharey=True)
        writes = df[df["phase"] == WRITE]
        j_sweep = [j for j, hx in self.settings[:len(self.settings) - self._n_hx()]]
        for cycle, part in writes.groupby("cycle", sort=True):
            j, hx = float(part["J_1e11_A_m2"].iloc[0]), float(part["Hx_Oe"].median())
            rest = float(df.loc[(df["cycle"] == cycle) & (df["phase"] == 0), "V_uV"].mean())
            x, y = part["pulse"] + 1, list(part["V_uV"])
            if int(cycle) < len(j_sweep) * self.repeats:
                ax_j.plot([0, *x], [rest, *y], ".-", ms=3, label=f"J = {j:g}e11 A/m²")
            else:
                ax_h.plot([0, *x], [rest, *y], ".-", ms=3, label=f"Hx = {hx:.0f} Oe")
        ax_j.set(xlabel="write pulse number", ylabel="V$_{AHE}$ (µV)",
                 title=f"against J (Hx = {self.Hx_for_J_Oe:g} Oe)")
        ax_h.set(xlabel="write pulse number",
                 title=f"against Hx (J = {self.J_for_Hx_1e11_A_m2:g}e11 A/m²)")
        for ax in (ax_j, ax_h):
            ax.legend(fontsize=7)
        return fig

    def _n_hx(self) -> int:
        return len(self.Hx_list_Oe)
