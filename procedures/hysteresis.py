"""AHE hysteresis of the SAF Hall bar: major loop and soft-layer minor loop (paper Fig 2c/d).

The major loop sweeps Hz between ±``major_max_Oe``, beyond the hard layer's coercivity
(~3000 Oe), and shows four V_AHE levels (±75 / ±120 µV for the default device at 100 µA).
The minor loop first saturates along -z (hard layer down), then sweeps Hz between
``minor_low_Oe`` (beyond -(H_ex + H_c): soft layer AP -> P) and ``minor_high_Oe`` (above
-(H_ex - H_c): P -> AP) without ever reversing the hard layer; its two switching fields give
H1, H2, H_ex = (H1 + H2)/2 and H_c(soft) = (H1 - H2)/2 (``analysis.hysteresis``).

The field sweeps continuously at ``sweep_rate_Oe_s`` (the loop width depends on the rate:
creep rounds the switching more when slow, so compare loops at one rate; the simulated
device's coercivity is defined at the default 100 Oe/s). V_AHE is read by the 6221's delta
mode at the read current, which cancels the thermal EMF (see ``field_sweep``); every reading
carries the gaussmeter field at its own time, since the magnet lags its supply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from dwlab.procedures.analysis.hysteresis import MAJOR, MINOR, HysteresisResult, analyze_hysteresis
from dwlab.procedures.base import LabProcedure, ParameterError, new_figure
from dwlab.procedures.field_sweep import (
    DeltaSense,
    SweepTrace,
    check_sweep_rate,
    hold_gaussmeter_range,
    sweep_branch,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
from dwlab.procedures.plot_view import LOOPS


class Hysteresis(LabProcedure):
    """V_AHE against a continuously swept Hz: major and/or soft-layer minor loops."""

    NAME = "hysteresis"
    PLOT_VIEW = LOOPS
    VERSION = "1"
    COLUMNS = {"t_s": "s", "Hz_Oe": "Oe", "V_uV": "µV", "branch": "", "loop": ""}

    loop = ListParameter("Loops to measure", choices=["major", "minor", "both"], default="both")
    sweep_rate_Oe_s = FloatParameter("Sweep rate", units="Oe/s", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    major_max_Oe = FloatParameter("Major loop |Hz| (beyond the hard layer's coercivity)",
                                  units="Oe", minimum=100.0, maximum=20000.0, default=3400.0)
    minor_low_Oe = FloatParameter("Minor loop lowest Hz (beyond -(H_ex + H_c))", units="Oe",
                                  minimum=-20000.0, maximum=20000.0, default=-2500.0)
    minor_high_Oe = FloatParameter("Minor loop highest Hz (above -(H_ex - H_c))", units="Oe",
                                   minimum=-20000.0, maximum=20000.0, default=0.0)
    n_loops = IntegerParameter("Loops averaged", minimum=1, maximum=50, default=3)
    read_current_uA = FloatParameter("Read current", units="µA", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    nplc = FloatParameter("2182A integration time", units="PLC", minimum=0.01, maximum=10.0,
                          default=1.0)

    # ---- parameters and limits ---------------------------------------------------------------
    def validate_parameters(self):
        values = super().validate_parameters()
        if not self.minor_low_Oe < self.minor_high_Oe:
            raise ParameterError(
                f"hysteresis: minor_low_Oe = {self.minor_low_Oe:g} Oe must be below "
                f"minor_high_Oe = {self.minor_high_Oe:g} Oe")
        reach = max(abs(self.minor_low_Oe), abs(self.minor_high_Oe))
        if reach >= self.major_max_Oe:
            raise ParameterError(
                f"hysteresis: the minor loop reaches |Hz| = {reach:g} Oe, not below "
                f"major_max_Oe = {self.major_max_Oe:g} Oe; it must stay inside the field that "
                "sets the hard layer, or it could reverse it")
        return values

    def check_limits(self, lab) -> None:
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        for hz in (self.major_max_Oe, -self.major_max_Oe, self.minor_low_Oe, self.minor_high_Oe):
            lab.check_field("z", hz)
        check_sweep_rate(lab, self.sweep_rate_Oe_s)

    # ---- measurement ---------------------------------------------------------------------------
    def execute(self) -> None:
        lab = self.lab
        sense = DeltaSense(lab.source, lab.voltmeter, self.read_current_uA * 1e-6, self.nplc)
        sense.configure(lab.setup.limits.compliance_V)
        hold_gaussmeter_range(lab.gaussmeter_z, self.major_max_Oe)
        plan = self._plan()
        done = 0
        for kind, branch, target in plan:
            self.raise_if_stopped()
            if kind is None:  # preparation: saturate, not recorded
                lab.field_z.set_field(target, self.sweep_rate_Oe_s)
                continue
            sweep_branch(lab.field_z, lab.clock, target, self.sweep_rate_Oe_s,
                         lambda: sense.start(lab.clock), sense.drain, sense.stop,
                         on_step=self.raise_if_stopped,
                         on_readings=lambda part, b=branch, k=kind: self._emit_trace(part, b, k))
            done += 1
            self.emit("progress", 100.0 * done / sum(k is not None for k, _, _ in plan))

    def shutdown(self) -> None:
        """Give the gaussmeter its autorange back (the Runner makes the lab safe)."""
        if self.lab is not None:
            self.lab.gaussmeter_z.auto_range()

    def _plan(self) -> list[tuple[int | None, int, float]]:
        """(loop kind or None for a preparation, branch, target Hz) in the order swept.

        Major: saturate at +max (hard layer up), then down/up branches. Minor: saturate at
        -max (hard layer down, soft P), go to the low end, then up/down branches.
        """
        top, n = self.major_max_Oe, self.n_loops
        plan: list[tuple[int | None, int, float]] = []
        if self.loop in ("major", "both"):
            plan.append((None, 0, top))
            plan += [(MAJOR, b, b * top) for _ in range(n) for b in (-1, 1)]
        if self.loop in ("minor", "both"):
            plan += [(None, 0, -top), (None, 0, self.minor_low_Oe)]
            plan += [(MINOR, b, self.minor_high_Oe if b > 0 else self.minor_low_Oe)
                     for _ in range(n) for b in (1, -1)]
        return plan

    def _emit_trace(self, trace: SweepTrace, branch: int, kind: int) -> None:
        for t, hz, v in zip(trace.t_s, trace.Hz_Oe, trace.V_V):
            self.point(t_s=float(t), Hz_Oe=float(hz), V_uV=float(v) * 1e6, branch=branch,
                       loop=kind)

    # ---- analysis and figure -------------------------------------------------------------------
    def analyze(self, df, device) -> HysteresisResult:
        return analyze_hysteresis(df)

    def figure(self, df, result: HysteresisResult | None, device) -> Figure:
        """Fig 2d: V_AHE against Hz, major loop in black, soft-layer minor loop in pink."""
        fig = new_figure(figsize=(6.5, 4.5), layout="constrained")
        ax = fig.subplots()
        for kind, colour, label in ((MAJOR, "k", "major loop"), (MINOR, "#e377c2", "minor loop")):
            part = df[df["loop"] == kind]
            if not part.empty:
                ax.plot(part["Hz_Oe"], part["V_uV"], color=colour, lw=1, label=label)
        if result is not None:
            sign = result.hard_sign
            for name, h in (("H1", result.H1_Oe), ("H2", result.H2_Oe)):
                ax.axvline(sign * h, color="#e377c2", ls="--", lw=0.8)
                ax.annotate(f"{name} = {h:.0f} Oe", (sign * h, 0.5 * (result.V_AP_uV + result.V_P_uV)),
                            fontsize=8, rotation=90, xytext=(3, 0), textcoords="offset points",
                            va="center")
            ax.set_title(f"H_ex = {result.H_ex_Oe:.0f} Oe, H_c(soft) = {result.Hc_soft_Oe:.0f} Oe;"
                         f" V_AP = {result.V_AP_uV:.0f} µV, V_P = {result.V_P_uV:.0f} µV",
                         fontsize=9)
        ax.axhline(0, color="0.8", lw=0.5)
        ax.set_xlabel("Hz (Oe)")
        ax.set_ylabel("V_AHE (µV)")
        ax.legend(fontsize=8, loc="lower right")
        return fig

