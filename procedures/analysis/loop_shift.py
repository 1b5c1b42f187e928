"""SOT efficiency and DMI field from current-induced loop shifts (Pai et al., PRB 93, 144409).

Under a DC current J and in-plane Hx the damping-like SOT acts on the wall like an
out-of-plane field, so both soft-layer switching fields move together: the loop centre shifts
linearly in J, while Joule heating (even in J) only narrows the loop. The shift
H_shift(J) = (centre(+J) - centre(-J))/2, in the lab's Hz as the gaussmeter reads it, cancels
the heating and any offsets. Its slope χ(Hx) = dH_shift/dJ grows with Hx while Hx sets the
wall's chirality against the DMI and saturates for |Hx| >= H_DMI:
χ(Hx) = χ_sat · clip(Hx / H_DMI, -1, 1).

A real wall does not turn Néel at one field: its χ(Hx) rounds the corner. The clip is then
the model's idealisation, H_DMI the field where its initial slope meets the saturation, and
``shape_deviation_pct`` (the rms misfit in % of χ_sat) says how far the data are from the
clip; on a knee rounded like x/sqrt(1 + x²) it is ~4 % and H_DMI comes out ~8 % low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import (
    cluster_values,
    flat_summary,
    require_columns,
)
from dwlab.procedures.analysis.hysteresis import MINOR, minor_loop_switching

COLUMNS = ("t_s", "Hz_Oe", "V_uV", "branch", "loop", "I_dc_mA", "J_1e11_A_m2", "Hx_Oe")
HX_TOLERANCE_OE = 25.0   # readings of one Hx setting lie closer than this
J_TOLERANCE = 0.05       # likewise for J, in 1e11 A/m²


@dataclass(frozen=True)
class LoopAtSetting:
    """One (Hx, J) setting: loop centre and half-width in Hz (Oe), averaged over its sweeps."""

    Hx_Oe: float
    J_1e11_A_m2: float
    centre_Oe: float
    half_width_Oe: float
    n_sweeps: int


@dataclass(frozen=True)
class ShiftAtHx:
    """χ = dH_shift/dJ at one Hx (Oe per 1e11 A/m²), from the ±J pairs measured there."""

    Hx_Oe: float
    chi_Oe_per_1e11_A_m2: float
    J_1e11_A_m2: tuple[float, ...]      # the |J| of each pair
    H_shift_Oe: tuple[float, ...]       # (centre(+J) - centre(-J)) / 2 for each pair


@dataclass(frozen=True)
class LoopShiftResult:
    """Per-setting loops, χ per Hx, and the fit χ(Hx) = χ_sat · clip(Hx/H_DMI, -1, 1) with
    its rms misfit (also in % of χ_sat: how far χ(Hx) is from the clip's shape)."""

    loops: tuple[LoopAtSetting, ...]
    shifts: tuple[ShiftAtHx, ...]
    chi_sat_Oe_per_1e11_A_m2: float
    H_DMI_Oe: float
    fit_rms_Oe_per_1e11_A_m2: float
    shape_deviation_pct: float

    def chi_model(self, Hx_Oe: float | np.ndarray) -> np.ndarray:
        """The fitted χ(Hx), Oe per 1e11 A/m²."""
        return self.chi_sat_Oe_per_1e11_A_m2 * np.clip(np.asarray(Hx_Oe) / self.H_DMI_Oe, -1, 1)

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self, n_settings=float(len(self.loops)),
                            n_Hx=float(len(self.shifts)))


def loops_by_setting(df: pd.DataFrame, min_step_uV: float) -> list[LoopAtSetting]:
    """Centre and half-width of the minor loop at every (Hx, J) setting."""
    df = df.sort_values("t_s", kind="stable").copy()
    df["_Hx"] = cluster_values(df["Hx_Oe"].to_numpy(), HX_TOLERANCE_OE)
    df["_J"] = cluster_values(df["J_1e11_A_m2"].to_numpy(), J_TOLERANCE)
    # a block is one contiguous stay at a setting; a sweep never spans two blocks
    df["_block"] = np.cumsum((df[["_Hx", "_J"]].shift() != df[["_Hx", "_J"]]).any(axis=1))
    loops = []
    for (hx, j), group in df.groupby(["_Hx", "_J"], sort=True):
        sw = minor_loop_switching(
            group, min_step_uV, f"minor loop at Hx = {hx:.0f} Oe, J = {j:.2f}e11 A/m²",
            split_on=("_block",),
        )
        loops.append(LoopAtSetting(Hx_Oe=float(hx), J_1e11_A_m2=float(j),
                                   centre_Oe=sw.centre_Oe, half_width_Oe=sw.half_width_Oe,
                                   n_sweeps=len(sw.up_Oe) + len(sw.down_Oe)))
    return loops


def shifts_by_hx(loops: list[LoopAtSetting]) -> list[ShiftAtHx]:
    """Pair +J with -J at each Hx and fit H_shift = χ |J| through the origin."""
    out = []
    for hx in sorted({lp.Hx_Oe for lp in loops}):
        here = {lp.J_1e11_A_m2: lp for lp in loops if lp.Hx_Oe == hx}
        pairs = []
        for j, plus in here.items():
            if j <= J_TOLERANCE:
                continue
            minus = [lp for jj, lp in here.items() if abs(jj + j) <= J_TOLERANCE]
            if not minus:
                raise AnalysisError(
                    f"loop shift: J = {j:.2f}e11 A/m² at Hx = {hx:.0f} Oe has no -J loop; "
                    "the shift needs both current signs"
                )
            pairs.append((j, 0.5 * (plus.centre_Oe - minus[0].centre_Oe)))
        if not pairs:
            continue
        js, shift = np.array(pairs).T
        chi = float(np.sum(js * shift) / np.sum(js**2))
        out.append(ShiftAtHx(Hx_Oe=hx, chi_Oe_per_1e11_A_m2=chi,
                             J_1e11_A_m2=tuple(js), H_shift_Oe=tuple(shift)))
    return out


def fit_dmi_saturation(hx: np.ndarray, chi: np.ndarray) -> tuple[float, float, float]:
    """Least-squares χ_sat, H_DMI of χ = χ_sat clip(Hx/H_DMI, -1, 1); returns (χ_sat, H_DMI, rms).

    For a given H_DMI the best χ_sat is linear, so only H_DMI is searched (a log grid, then a
    bounded refinement). Raises AnalysisError when the data do not bracket the saturation.
    """
    hx, chi = np.asarray(hx, float), np.asarray(chi, float)
    nonzero = np.abs(hx[hx != 0])
    if len(np.unique(nonzero)) < 2 or len(hx) < 3:
        raise AnalysisError(
            f"loop shift: χ at {len(hx)} Hx values with {len(np.unique(nonzero))} distinct "
            "|Hx| > 0; fitting χ_sat and H_DMI needs at least 3 values and 2 distinct |Hx|"
        )
    lo, hi = nonzero.min(), nonzero.max()

    def sse(log_h: float) -> float:
        g = np.clip(hx / np.exp(log_h), -1, 1)
        return float(np.sum((chi - g * (g @ chi) / (g @ g)) ** 2))

    grid = np.linspace(np.log(lo / 2), np.log(hi * 2), 400)
    best = grid[int(np.argmin([sse(x) for x in grid]))]
    step = grid[1] - grid[0]
    log_h = minimize_scalar(sse, bounds=(best - step, best + step), method="bounded").x
    h_dmi = float(np.exp(log_h))
    g = np.clip(hx / h_dmi, -1, 1)
    chi_sat = float(g @ chi / (g @ g))
    if h_dmi >= hi:
        raise AnalysisError(
            f"loop shift: χ still rising at the largest |Hx| = {hi:.0f} Oe (fit H_DMI = "
            f"{h_dmi:.0f} Oe); measure beyond H_DMI to see the saturation"
        )
    if h_dmi <= lo:
        raise AnalysisError(
            f"loop shift: χ already saturated at the smallest |Hx| = {lo:.0f} Oe (fit H_DMI = "
            f"{h_dmi:.0f} Oe); measure at smaller |Hx| to find H_DMI"
        )
    return chi_sat, h_dmi, float(np.sqrt(sse(log_h) / len(hx)))


def analyze_loop_shift(df: pd.DataFrame, min_step_uV: float = 5.0) -> LoopShiftResult:
    """Loop centre and width per (Hx, J), χ(Hx), and χ_sat and H_DMI from its saturation.

    Only minor-loop points (``loop == 1``) are used. Raises AnalysisError when a loop shows no
    step, a J lacks its -J partner, or χ(Hx) does not bracket the saturation.
    """
    require_columns(df, COLUMNS, "loop shift")
    minor = df[df["loop"] == MINOR]
    if minor.empty:
        raise AnalysisError("loop shift: no minor-loop points (loop == 1)")
    loops = loops_by_setting(minor, min_step_uV)
    shifts = shifts_by_hx(loops)
    if not shifts:
        raise AnalysisError("loop shift: no ±J pair at any Hx; the shift needs both signs")
    hx = np.array([s.Hx_Oe for s in shifts])
    chi = np.array([s.chi_Oe_per_1e11_A_m2 for s in shifts])
    chi_sat, h_dmi, rms = fit_dmi_saturation(hx, chi)
    return LoopShiftResult(loops=tuple(loops), shifts=tuple(shifts),
                           chi_sat_Oe_per_1e11_A_m2=chi_sat, H_DMI_Oe=h_dmi,
                           fit_rms_Oe_per_1e11_A_m2=rms,
                           shape_deviation_pct=100 * rms / abs(chi_sat))
