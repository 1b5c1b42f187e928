"""Current-induced loop shift: SOT efficiency χ and the DMI field (Pai et al., PRB 93, 144409).

A DC current J in the Pt under an in-plane Hx exerts a damping-like SOT on the soft layer's
wall that acts like an out-of-plane field: both soft-layer switching fields move by -H_SOT, so
the minor loop's centre shifts linearly in J, while Joule heating (even in J) only narrows it.
For each Hx (held by ``lab.field_x``) and each |I| this procedure sweeps one or more minor
loops at +I and at -I; the analysis (``analysis.loop_shift``) takes H_shift = (centre(+J) -
centre(-J))/2, χ(Hx) = dH_shift/dJ in Oe per 1e11 A/m², and fits χ = χ_sat clip(Hx/H_DMI)
for the saturation field, about H_DMI.

The DC current is also the sense current: V_AHE = I (R_h m_h + R_s <m_s>) is read by the 2182A
on a timer while Hz sweeps (``field_sweep.DcSense``). At mA currents V_AHE is mV, so the µV
thermal EMF needs no cancelling; the loop at -I is upside down, which the analysis's step
finder does not mind, and the figure plots V/I. Before the first loop Hz saturates along -z
(``saturate_Oe``, beyond the hard layer's coercivity) so the hard layer points down throughout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.procedures.analysis.hysteresis import MINOR
from dwlab.procedures.analysis.loop_shift import LoopShiftResult, analyze_loop_shift
from dwlab.procedures.base import FloatListParameter, LabProcedure, ParameterError, new_figure
from dwlab.procedures.field_sweep import (
    DcSense,
    SweepTrace,
    check_sweep_rate,
    hold_gaussmeter_range,
    sweep_branch,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
from dwlab.procedures.plot_view import LOOPS

SETTLE_ALLOWANCE_S = 5.0  # readings budgeted for the field axis's settle at a branch end


class LoopShift(LabProcedure):
    """Minor loops under ±DC current for each Hx: χ(Hx), χ_sat and H_DMI."""

    NAME = "loop-shift"
    PLOT_VIEW = LOOPS
    VERSION = "1"
    COLUMNS = {"t_s": "s", "Hz_Oe": "Oe", "V_uV": "µV", "branch": "", "loop": "",
               "I_dc_mA": "mA", "J_1e11_A_m2": "1e11 A/m²", "Hx_Oe": "Oe"}

    currents_mA = FloatListParameter("DC current magnitudes (each at +I and -I)", units="mA",
                                     minimum=1e-3, maximum=105.0, default=[5.0, 10.0])
    Hx_list_Oe = FloatListParameter("In-plane fields Hx", units="Oe", minimum=-20000.0,
                                    maximum=20000.0,
                                    default=[0.0, 300.0, 600.0, 900.0, 1200.0, 1500.0, 1800.0])
    sweep_rate_Oe_s = FloatParameter("Sweep rate", units="Oe/s", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    minor_low_Oe = FloatParameter("Minor loop lowest Hz (beyond -(H_ex + H_c + |H_SOT|))",
                                  units="Oe", minimum=-20000.0, maximum=20000.0, default=-3000.0)
    minor_high_Oe = FloatParameter("Minor loop highest Hz (above -(H_ex - H_c - |H_SOT|))",
                                   units="Oe", minimum=-20000.0, maximum=20000.0, default=500.0)
    saturate_Oe = FloatParameter("Hz that sets the hard layer along -z (beyond its coercivity)",
                                 units="Oe", minimum=-20000.0, maximum=0.0, default=-3400.0)
    n_loops = IntegerParameter("Loops per (Hx, I)", minimum=1, maximum=20, default=1)
    nplc = FloatParameter("2182A integration time", units="PLC", minimum=0.01, maximum=10.0,
                          default=1.0)

    # ---- parameters and limits ---------------------------------------------------------------
    def validate_parameters(self):
        values = super().validate_parameters()
        self.currents_A = [1e-3 * i for i in self.currents_mA]
        self.hx_values_Oe = list(self.Hx_list_Oe)
        if not self.minor_low_Oe < self.minor_high_Oe:
            raise ParameterError(
                f"loop-shift: minor_low_Oe = {self.minor_low_Oe:g} Oe must be below "
                f"minor_high_Oe = {self.minor_high_Oe:g} Oe")
        reach = max(abs(self.minor_low_Oe), abs(self.minor_high_Oe))
        if reach >= abs(self.saturate_Oe):
            raise ParameterError(
                f"loop-shift: the minor loop reaches |Hz| = {reach:g} Oe, not below "
                f"|saturate_Oe| = {abs(self.saturate_Oe):g} Oe; it must stay inside the field "
                "that sets the hard layer, or it could reverse it")
        return values

    def check_limits(self, lab) -> None:
        for i in self.currents_A:
            lab.check_current("currents_mA", i)  # limit, bar density and compliance
        for hx in self.hx_values_Oe:
            lab.check_field("x", hx)
        for hz in (self.saturate_Oe, self.minor_low_Oe, self.minor_high_Oe):
            lab.check_field("z", hz)
        check_sweep_rate(lab, self.sweep_rate_Oe_s)

    # ---- measurement ---------------------------------------------------------------------------
    def execute(self) -> None:
        lab = self.lab
        sense = DcSense(lab.source, lab.voltmeter, self.nplc)
        sense.configure(lab.setup.limits.compliance_V)
        hold_gaussmeter_range(lab.gaussmeter_z, self.saturate_Oe)
        hold_gaussmeter_range(lab.gaussmeter_x, max(abs(h) for h in self.hx_values_Oe))
        rate = self.sweep_rate_Oe_s
        lab.field_z.set_field(self.saturate_Oe, rate)  # hard layer along -z, soft P
        lab.field_z.set_field(self.minor_low_Oe, rate)
        branch_s = abs(self.minor_high_Oe - self.minor_low_Oe) / rate + SETTLE_ALLOWANCE_S
        settings = [(hx, sign * i) for hx in self.hx_values_Oe for i in self.currents_A
                    for sign in (1, -1)]
        for k, (hx, current) in enumerate(settings):
            self.raise_if_stopped()
            if k == 0 or hx != settings[k - 1][0]:
                sense.set_current(0.0)  # no current through the bar while Hx ramps
                hx_measured = lab.field_x.set_field(hx, rate)
            sense.set_current(current)
            columns = {"loop": MINOR, "I_dc_mA": current * 1e3, "Hx_Oe": float(hx_measured),
                       "J_1e11_A_m2": lab.setup.device.current_density_A_m2(current) / 1e11}
            for _ in range(self.n_loops):
                for branch, target in ((1, self.minor_high_Oe), (-1, self.minor_low_Oe)):
                    sweep_branch(lab.field_z, lab.clock, target, rate,
                                 lambda: sense.start(lab.clock, branch_s), sense.drain,
                                 sense.stop, on_step=self.raise_if_stopped,
                                 on_readings=lambda part, b=branch, c=columns: self._emit(part, b, c))
            self.emit("progress", 100.0 * (k + 1) / len(settings))
        sense.set_current(0.0)

    def _emit(self, part: SweepTrace, branch: int, columns: dict) -> None:
        for t, hz, v in zip(part.t_s, part.Hz_Oe, part.V_V):
            self.point(t_s=float(t), Hz_Oe=float(hz), V_uV=float(v) * 1e6, branch=branch,
                       **columns)

    def shutdown(self) -> None:
        """Give the gaussmeters their autorange back (the Runner makes the lab safe)."""
        if self.lab is not None:
            self.lab.gaussmeter_z.auto_range()
            self.lab.gaussmeter_x.auto_range()

    # ---- analysis and figure -------------------------------------------------------------------
    def analyze(self, df, device) -> LoopShiftResult:
        return analyze_loop_shift(df)

    def figure(self, df, result: LoopShiftResult | None, device) -> Figure:
        """Loops at ±J (as V/I, at the largest Hx and |J|), H_shift against J per Hx, and χ
        against Hx with the saturation fit (Pai et al. Figs 2-3)."""
        fig = new_figure(figsize=(13, 4.2), layout="constrained")
        ax_loop, ax_shift, ax_chi = fig.subplots(1, 3)
        hx_top = df["Hx_Oe"].max()
        at_top = df[(df["Hx_Oe"] - hx_top).abs() < 25.0]
        j_top = at_top["J_1e11_A_m2"].abs().max()
        for sign, colour in ((1, "tab:red"), (-1, "tab:blue")):
            part = at_top[(at_top["J_1e11_A_m2"] - sign * j_top).abs() < 0.05]
            ax_loop.plot(part["Hz_Oe"], part["V_uV"] / part["I_dc_mA"] * 1e-3, color=colour,
                         lw=1, label=f"J = {sign * j_top:+.2f}e11 A/m²")
        ax_loop.set_xlabel("Hz (Oe)")
        ax_loop.set_ylabel("R_AHE = V/I (Ω)")
        ax_loop.set_title(f"minor loops at Hx = {hx_top:.0f} Oe", fontsize=9)
        ax_loop.legend(fontsize=8)
        if result is not None:
            for n, shift in enumerate(result.shifts):
                c = f"C{n % 10}"
                j = np.array(shift.J_1e11_A_m2)
                ax_shift.plot(np.r_[-j, j], np.r_[-np.array(shift.H_shift_Oe), shift.H_shift_Oe],
                              "o", color=c, label=f"Hx = {shift.Hx_Oe:.0f} Oe")
                line = np.linspace(-j.max(), j.max(), 3)
                ax_shift.plot(line, shift.chi_Oe_per_1e11_A_m2 * line, "-", color=c, lw=0.8)
            hx = np.array([s.Hx_Oe for s in result.shifts])
            chi = np.array([s.chi_Oe_per_1e11_A_m2 for s in result.shifts])
            ax_chi.plot(hx, chi, "o", label="measured")
            grid = np.linspace(min(hx.min(), 0.0), hx.max(), 200)
            ax_chi.plot(grid, result.chi_model(grid), "-",
                        label=f"χ_sat = {result.chi_sat_Oe_per_1e11_A_m2:.0f} Oe/1e11 A/m², "
                              f"H_DMI = {result.H_DMI_Oe:.0f} Oe")
            ax_chi.axvline(result.H_DMI_Oe, color="0.6", ls="--", lw=0.8)
            ax_shift.legend(fontsize=7, ncol=2)
            ax_chi.legend(fontsize=8, loc="lower right")
        ax_shift.set_xlabel("J (1e11 A/m²)")
        ax_shift.set_ylabel("H_shift (Oe)")
        ax_shift.set_title("loop centre shift, (centre(+J) - centre(-J))/2", fontsize=9)
        ax_chi.set_xlabel("Hx (Oe)")
        ax_chi.set_ylabel("χ (Oe per 1e11 A/m²)")
        ax_chi.set_title("SOT efficiency against Hx", fontsize=9)
        return fig
