"""Figures of the nanoscale runs in the style of the paper's Fig 1 (matplotlib only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dwlab.nanosim.analysis import LifResultSummary, ScanResult

# What the paper reports (section 2), drawn beside the model's curves as text
PAPER_SCAN = ("paper (micromagnetics): forward for H_ex <= 1700 Oe, none >= 1800 Oe; "
              "no reset <= 300 Oe, reset 400-1700 Oe;\nv_f falls with H_ex; v_r falls, "
              "peaks near 1000 Oe, falls again, tracking the tilt angle")


def scan_figure(df: pd.DataFrame, result: ScanResult | None) -> Figure:
    """Fig 1e/f: v_f, v_r and the tilt at the start of the reset against H_ex, and which
    fields integrate and reset (Fig 1d's outcome)."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_v, ax_r, ax_map = fig.subplots(1, 3)
    table = df.groupby("H_ex_Oe")[["reached", "reset", "v_f_m_s", "v_r_m_s",
                                    "chi_off_deg"]].mean()
    temp = df["T_K"].iloc[0] if "T_K" in df and len(df) else 0.0
    ax_v.plot(table.index, table["v_f_m_s"], "o-", color="tab:blue", label=f"v_f, {temp:g} K")
    ax_v.set(xlabel="H_ex (Oe)", ylabel="forward velocity v_f (m/s)", title="(e) forward")
    ax_v.legend()
    ax_r.plot(table.index, table["v_r_m_s"], "s-", color="tab:red", label="v_r")
    ax_r.set(xlabel="H_ex (Oe)", ylabel="return velocity v_r (m/s)", title="(f) return and tilt")
    tilt = ax_r.twinx()
    reached = table[table["reached"] > 0]
    tilt.plot(reached.index, np.abs(reached["chi_off_deg"]), "^--", color="tab:gray",
              label="|tilt| at reset start")
    tilt.set_ylabel("|tilt angle| at the start of the reset (deg)")
    ax_r.legend(loc="lower left")
    tilt.legend(loc="lower right")
    ax_map.step(table.index, table["reached"], where="mid", label="reached the end")
    ax_map.step(table.index, table["reset"] + 0.02, where="mid", label="reset")
    ax_map.set(xlabel="H_ex (Oe)", ylabel="fraction of walls", ylim=(-0.05, 1.1),
               title="(d) integrate / reset outcome")
    ax_map.legend(loc="center left")
    if result is not None:
        fig.suptitle(
            f"model ({temp:g} K): forward up to {result.forward_limit_Oe:g} Oe, none from "
            f"{result.no_forward_from_Oe:g} Oe; reset from {result.reset_from_Oe:g} Oe; "
            f"v_r slowest at {result.v_r_min_at_Oe:g} Oe\n{PAPER_SCAN}", fontsize=8)
    return fig


def lif_figure(df: pd.DataFrame, result: LifResultSummary | None, roi_nm: float) -> Figure:
    """Fig 1g: the wall's place in the ROI and the current pulses against time."""
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax_x, ax_j = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax_x.plot(df["t_ns"], df["x_nm"], color="tab:blue")
    ax_x.axhline(roi_nm, color="k", lw=0.8, ls=":", label="ROI end (fire)")
    ax_x.set(ylabel="wall position in ROI (nm)")
    ax_x.legend(loc="lower right")
    ax_j.fill_between(df["t_ns"], df["J_1e11_A_m2"], step="mid", color="tab:orange")
    ax_j.set(xlabel="t (ns)", ylabel="J (1e11 A/m²)")
    if result is not None:
        ax_x.set_title(
            f"H_ex = {result.H_ex_Oe:g} Oe: {result.events_before_firing} integrate-and-leak "
            f"events before firing (paper: 6); {result.integrate_nm_per_pulse:.0f} nm per "
            f"pulse, {result.leak_nm_per_gap:.1f} nm leak per gap", fontsize=9)
    return fig
