"""Hysteresis of the SAF Hall bar (paper Fig 2d; docs/physics.md §2): switching fields and levels.

The soft-layer minor loop (``loop == 1``) gives H1 (AP -> P) and H2 (P -> AP), hence the
exchange field H_ex = (H1 + H2)/2 and the soft coercivity H_c = (H1 - H2)/2. With the hard
layer along -z the minor loop sits at negative Hz: AP -> P at Hz = -H1 on the way down,
P -> AP at Hz = -H2 on the way up. H1, H2 are reported as magnitudes along the hard layer.
The major loop (``loop == 0``), which also reverses the hard layer, gives the four V_AHE levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns, segments, spread
from dwlab.procedures.analysis.steps import find_step, plateau_count

COLUMNS = ("t_s", "Hz_Oe", "V_uV", "branch", "loop")
MAJOR, MINOR = 0, 1
BRANCH_NAME = {1: "up branch", -1: "down branch"}


@dataclass(frozen=True)
class MinorLoopSwitching:
    """Soft-layer switching fields in the lab frame (Hz as the gaussmeter reads it), per sweep.

    ``up_Oe`` holds one 50 % field per sweep with Hz rising (branch +1), ``down_Oe`` per sweep
    with Hz falling; ``up_levels_uV``/``down_levels_uV`` are the median (before, after) plateaus.
    """

    up_Oe: tuple[float, ...]
    down_Oe: tuple[float, ...]
    up_levels_uV: tuple[float, float]
    down_levels_uV: tuple[float, float]

    @property
    def centre_Oe(self) -> float:
        """Loop centre in Hz: -H_ex for a hard layer along -z."""
        return 0.5 * (float(np.mean(self.up_Oe)) + float(np.mean(self.down_Oe)))

    @property
    def half_width_Oe(self) -> float:
        """Half the loop width: the soft coercivity H_c."""
        return 0.5 * abs(float(np.mean(self.up_Oe)) - float(np.mean(self.down_Oe)))


def minor_loop_switching(
    df: pd.DataFrame, min_step_uV: float = 5.0, what: str = "minor loop",
    split_on: tuple[str, ...] = (),
) -> MinorLoopSwitching:
    """Find the 50 % switching field of every sweep of a soft-layer minor loop.

    ``df`` holds the points of minor loops in time order (columns Hz_Oe, V_uV, branch); each
    contiguous run of one branch value (and of the ``split_on`` columns) is one sweep. Raises
    AnalysisError when a branch is missing or a sweep shows no step of at least ``min_step_uV``.
    """
    fields: dict[int, list[float]] = {1: [], -1: []}
    levels: dict[int, list[tuple[float, float]]] = {1: [], -1: []}
    for sweep in segments(df, ["branch", *split_on]):
        branch = int(sweep["branch"].iloc[0])
        if branch not in fields:
            raise AnalysisError(f"{what}: branch must be +1 or -1, got {branch}")
        step = find_step(
            sweep["Hz_Oe"].to_numpy(), sweep["V_uV"].to_numpy(), min_step_uV,
            f"{BRANCH_NAME[branch]} of the {what}",
        )
        fields[branch].append(step.x50)
        levels[branch].append((step.before_uV, step.after_uV))
    for branch, found in fields.items():
        if not found:
            raise AnalysisError(
                f"{what}: no sweep on the {BRANCH_NAME[branch]} (branch {branch:+d})"
            )
    up_levels = tuple(float(x) for x in np.median(levels[1], axis=0))
    down_levels = tuple(float(x) for x in np.median(levels[-1], axis=0))
    return MinorLoopSwitching(
        up_Oe=tuple(fields[1]), down_Oe=tuple(fields[-1]),
        up_levels_uV=up_levels, down_levels_uV=down_levels,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class HysteresisResult:
    """Switching fields (Oe, magnitudes along the hard layer) and V_AHE levels (µV).

    ``hard_sign`` is the hard layer's direction during the minor loop (-1: along -z).
    ``levels_uV`` are the four major-loop levels in ascending order, or the two minor-loop ones
    when no major loop was measured. Spreads are the sweep-to-sweep standard deviations.
    """

    H1_Oe: float
    H2_Oe: float
    H_ex_Oe: float
    Hc_soft_Oe: float
    levels_uV: tuple[float, ...]
    V_AP_uV: float
    V_P_uV: float
    hard_sign: int
    H1_spread_Oe: float
    H2_spread_Oe: float
    H_ex_spread_Oe: float
    n_sweeps: int

    def summary(self) -> dict[str, float | str]:
        levels = {f"level{i}_uV": float(v) for i, v in enumerate(self.levels_uV)}
        return flat_summary(self, **levels)


def _major_levels(df: pd.DataFrame, what: str = "major loop") -> tuple[float, ...]:
    """The four levels of the major loop, ascending: both saturations and both AP plateaus.

    Each sweep starts and ends saturated (P, opposite signs) and passes an AP plateau between
    the soft-layer and the hard-layer reversal: the median of its points lying well away from
    both end plateaus.
    """
    saturated: list[float] = []
    ap: list[float] = []
    for sweep in segments(df, ["branch"]):
        v = sweep["V_uV"].to_numpy(dtype=float)
        if len(v) < 10:
            raise AnalysisError(f"{what}: a sweep has {len(v)} points, need at least 10")
        k = plateau_count(len(v))
        start, end = float(np.median(v[:k])), float(np.median(v[-k:]))
        margin = 0.05 * abs(end - start)
        middle = v[(np.abs(v - start) > margin) & (np.abs(v - end) > margin)]
        if len(middle) < 2:
            raise AnalysisError(
                f"{what}: the {BRANCH_NAME.get(int(sweep['branch'].iloc[0]), 'sweep')} shows no "
                f"intermediate (AP) plateau between {start:.1f} and {end:.1f} µV"
            )
        saturated += [start, end]
        ap.append(float(np.median(middle)))
    sat = np.array(saturated)
    aps = np.array(ap)
    levels = [
        float(np.mean(sat[sat < 0])) if np.any(sat < 0) else np.nan,
        float(np.mean(aps[aps < 0])) if np.any(aps < 0) else np.nan,
        float(np.mean(aps[aps > 0])) if np.any(aps > 0) else np.nan,
        float(np.mean(sat[sat > 0])) if np.any(sat > 0) else np.nan,
    ]
    if np.any(np.isnan(levels)):
        raise AnalysisError(
            f"{what}: needs sweeps both ways to show four levels, got saturations "
            f"{np.round(sat, 1).tolist()} µV and AP plateaus {np.round(aps, 1).tolist()} µV"
        )
    return tuple(sorted(levels))


def analyze_hysteresis(df: pd.DataFrame, min_step_uV: float = 5.0) -> HysteresisResult:
    """H1, H2, H_ex, H_c(soft) from the minor loops, levels from the major loop if present.

    Each sweep's switching field is the 50 % crossing of its step, interpolated in Hz; several
    loops are averaged. Raises AnalysisError when there is no minor loop, a sweep shows no
    step of at least ``min_step_uV``, or the fields come out in an impossible order.
    """
    require_columns(df, COLUMNS, "hysteresis")
    df = df.sort_values("t_s", kind="stable")
    minor = df[df["loop"] == MINOR]
    if minor.empty:
        raise AnalysisError(
            "hysteresis: no soft-layer minor loop (loop == 1) in the data; H1 and H_ex need one"
        )
    sw = minor_loop_switching(minor, min_step_uV)
    hard_sign = -1 if sw.centre_Oe < 0 else 1
    # AP -> P happens as the field along the hard layer grows: Hz falling if hard is along -z.
    to_p = np.array(sw.down_Oe if hard_sign < 0 else sw.up_Oe)
    to_ap = np.array(sw.up_Oe if hard_sign < 0 else sw.down_Oe)
    ap_to_p_levels = sw.down_levels_uV if hard_sign < 0 else sw.up_levels_uV
    h1 = hard_sign * float(np.mean(to_p))
    h2 = hard_sign * float(np.mean(to_ap))
    if h1 <= h2:
        raise AnalysisError(
            f"hysteresis: H1 = {h1:.1f} Oe <= H2 = {h2:.1f} Oe; the loop runs the wrong way "
            "round (branch labels inconsistent with the field readings?)"
        )
    v_ap, v_p = ap_to_p_levels
    major = df[df["loop"] == MAJOR]
    levels = _major_levels(major) if not major.empty else tuple(sorted((v_ap, v_p)))
    s1, s2 = spread(to_p), spread(to_ap)
    return HysteresisResult(
        H1_Oe=h1, H2_Oe=h2, H_ex_Oe=0.5 * (h1 + h2), Hc_soft_Oe=0.5 * (h1 - h2),
        levels_uV=levels, V_AP_uV=v_ap, V_P_uV=v_p, hard_sign=hard_sign,
        H1_spread_Oe=s1, H2_spread_Oe=s2, H_ex_spread_Oe=0.5 * float(np.hypot(s1, s2)),
        n_sweeps=len(to_p) + len(to_ap),
    )
