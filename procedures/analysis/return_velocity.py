"""Return velocity of the wall under the SAF exchange field (paper Fig 4; docs/physics.md §3).

Each run parks the wall at the notch, applies an opposing Hz slightly beyond H2 and records
V_AHE at Hall bar 1, ``distance_um`` from the notch, from the moment the field is set (the
run's first point). The wall's passage is the step in V(t); v = distance / t_cross. The drive
is |h - H_ex| with h = -Hz the field along the hard layer (hard along -z). The creep law
ln v = ln v0 - α |H|^(-1/4) is fitted and extrapolated to Hz = 0, where the drive is H_ex
itself: v_max (Fig 4f).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns
from dwlab.procedures.analysis.steps import find_step
from dwlab.procedures.plot_view import FitOverlay

COLUMNS = ("t_s", "V_uV", "Hz_Oe", "run")
MIN_RUNS = 3  # two points always fit a line; a third tests the creep law
MIN_CROSS_READINGS = 50  # faster crossings are timed to worse than 2 %: listed, not fitted


@dataclass(frozen=True)
class ReturnRun:
    """One Hz setting: the crossing time and velocity, None when the wall never arrived;
    ``fitted`` False for a crossing too fast to time well (under MIN_CROSS_READINGS readings)."""

    run: int
    Hz_Oe: float
    H_drive_Oe: float
    t_cross_s: float | None
    v_um_s: float | None
    fitted: bool = False


@dataclass(frozen=True)
class ReturnVelocityResult:
    """Runs and the creep fit v = v0 exp(-α |H|^(-1/4)) (H in Oe, v in µm/s)."""

    runs: tuple[ReturnRun, ...]
    distance_um: float
    H_ex_Oe: float
    ln_v0: float
    alpha_Oe_quarter: float
    fit_rms_ln_v: float
    v_max_um_s: float
    H_ex_source: str = ""

    def predict_velocity(self, H_drive_Oe: float | np.ndarray) -> float | np.ndarray:
        """Creep velocity (µm/s) at a drive magnitude |H| in Oe (> 0)."""
        h = np.abs(np.asarray(H_drive_Oe, dtype=float))
        if np.any(h <= 0):
            raise AnalysisError(f"H_drive_Oe = {H_drive_Oe} must be non-zero for the creep law")
        v = np.exp(self.ln_v0 - self.alpha_Oe_quarter * h**-0.25)
        return float(v) if v.ndim == 0 else v

    def fit_overlay(self, n: int = 60) -> FitOverlay:
        """Fig 4b/e: the fitted runs' velocities against their opposing Hz, each labelled by
        its Hz, and the creep fit from the weakest drive to Hz = 0 (v_max)."""
        fitted = [r for r in self.runs if r.fitted]
        weakest = min((r.H_drive_Oe for r in fitted), default=self.H_ex_Oe)
        drive = np.linspace(min(weakest, self.H_ex_Oe), self.H_ex_Oe, n)
        return FitOverlay(
            title=f"return velocity, H_ex = {self.H_ex_Oe:.0f} Oe (Fig 4e)",
            x_label="opposing Hz (Oe)", y_label="return velocity v (µm/s)", log_y=True,
            points=tuple((r.Hz_Oe, r.v_um_s, f"Hz = {r.Hz_Oe:.0f} Oe") for r in fitted),
            fit_x=tuple(-(self.H_ex_Oe - drive)), fit_y=tuple(self.predict_velocity(drive)),
            fit_label=f"creep fit, α = {self.alpha_Oe_quarter:.1f} Oe^1/4, "
                      f"v_max = {self.v_max_um_s:.0f} µm/s")

    def summary(self) -> dict[str, float | str]:
        n = sum(r.v_um_s is not None for r in self.runs)
        return flat_summary(self, n_runs=float(len(self.runs)), n_crossed=float(n),
                            n_fitted=float(sum(r.fitted for r in self.runs)))


def crossing(run: pd.DataFrame, min_step_uV: float, what: str) -> float | None:
    """Seconds from the run's first point to the wall's 50 % step, None if it never came."""
    t = run["t_s"].to_numpy(dtype=float)
    try:
        step = find_step(t, run["V_uV"].to_numpy(dtype=float), min_step_uV, what)
    except AnalysisError:
        return None
    return step.x50 - t[0]


def fit_creep(h_drive: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """(ln v0, α, rms of ln v) from a straight line of ln v against |H|^(-1/4)."""
    u = np.abs(h_drive) ** -0.25
    slope, intercept = np.polyfit(u, np.log(v), 1)
    rms = float(np.sqrt(np.mean((np.log(v) - (intercept + slope * u)) ** 2)))
    return float(intercept), float(-slope), rms


def analyze_return_velocity(
    df: pd.DataFrame, distance_um: float, H_ex_Oe: float, min_step_uV: float = 5.0,
    H_ex_source: str = "",
) -> ReturnVelocityResult:
    """Crossing time and velocity per run, creep fit, and v_max at Hz = 0.

    Runs whose V shows no step of ``min_step_uV`` are kept with ``v_um_s = None`` and left
    out of the fit, as are crossings shorter than MIN_CROSS_READINGS reading intervals.
    Raises AnalysisError with fewer than 3 fitted runs at distinct drives. ``H_ex_source``
    says where H_ex came from (a hysteresis run), for the record.
    """
    require_columns(df, COLUMNS, "return velocity")
    if not distance_um > 0:
        raise AnalysisError(f"distance_um = {distance_um} µm must be > 0")
    if not H_ex_Oe > 0:
        raise AnalysisError(f"H_ex_Oe = {H_ex_Oe} Oe must be > 0")
    runs = []
    for run_id, run in df.sort_values("t_s", kind="stable").groupby("run", sort=True):
        hz = float(run["Hz_Oe"].median())
        drive = abs(-hz - H_ex_Oe)
        t_cross = crossing(run, min_step_uV, f"return run {run_id} at Hz = {hz:.0f} Oe")
        ok = t_cross is not None and t_cross > 0 and drive > 0
        interval = float(np.median(np.diff(run["t_s"]))) if len(run) > 1 else np.inf
        runs.append(ReturnRun(run=int(run_id), Hz_Oe=hz, H_drive_Oe=drive,
                              t_cross_s=t_cross if ok else None,
                              v_um_s=distance_um / t_cross if ok else None,
                              fitted=ok and t_cross >= MIN_CROSS_READINGS * interval))
    crossed = [r for r in runs if r.fitted]
    drives = np.array([r.H_drive_Oe for r in crossed])
    if len(np.unique(np.round(drives))) < MIN_RUNS:
        raise AnalysisError(
            f"return velocity: {len(crossed)} of {len(runs)} runs crossed slowly enough to "
            f"time, at "
            f"{len(np.unique(np.round(drives)))} distinct drives; the creep fit needs "
            f"{MIN_RUNS}"
        )
    ln_v0, alpha, rms = fit_creep(drives, np.array([r.v_um_s for r in crossed]))
    return ReturnVelocityResult(
        runs=tuple(runs), distance_um=distance_um, H_ex_Oe=H_ex_Oe, ln_v0=ln_v0,
        alpha_Oe_quarter=alpha, fit_rms_ln_v=rms,
        v_max_um_s=float(np.exp(ln_v0 - alpha * H_ex_Oe**-0.25)), H_ex_source=H_ex_source,
    )


def v_max_vs_hex(results: list[ReturnVelocityResult],
                 samples: list[str] | None = None) -> pd.DataFrame:
    """Fig 4f: the extrapolated maximum return velocity of each sample against its H_ex, one
    row per sample (``samples``: each result's sample; None: each result is its own), with the
    mean over the sample's runs, their spread and how many there are."""
    if not results:
        raise AnalysisError("v_max_vs_hex: no return-velocity results given")
    if samples is None:
        samples = [str(i) for i in range(len(results))]
    if len(samples) != len(results):
        raise ValueError(f"v_max_vs_hex: {len(samples)} sample names for {len(results)} results")
    runs = pd.DataFrame({"sample": samples, "H_ex_Oe": [r.H_ex_Oe for r in results],
                         "v_max_um_s": [r.v_max_um_s for r in results]})
    table = runs.groupby("sample", sort=False).agg(
        H_ex_Oe=("H_ex_Oe", "mean"), v_max_um_s=("v_max_um_s", "mean"),
        v_max_low=("v_max_um_s", "min"), v_max_high=("v_max_um_s", "max"),
        n_runs=("v_max_um_s", "size"))
    return table.reset_index().sort_values("H_ex_Oe", ignore_index=True)
