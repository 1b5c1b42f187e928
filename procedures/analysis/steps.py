"""Finding a step in a trace: the one operation every analysis here is built on.

A switching field (V vs Hz on a loop branch) and a wall crossing time (V vs t on a return run)
are both the abscissa where the signal passes half-way between the plateau before and the
plateau after a step, interpolated between samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dwlab.procedures.analysis import AnalysisError


@dataclass(frozen=True)
class Step:
    """A step found in a trace: where it crossed 50 %, and the two plateaus (µV)."""

    x50: float
    before_uV: float
    after_uV: float


def plateau_count(n: int) -> int:
    """How many points at each end of a trace define its plateau (1 to 5)."""
    return max(1, min(5, n // 10))


def find_step(x: np.ndarray, v_uV: np.ndarray, min_step_uV: float, what: str) -> Step:
    """Locate the single step in ``v_uV`` (samples in acquisition order) along ``x``.

    The plateaus are the medians of the first and last few points. The 50 % level may be
    crossed more than once when a slow transition meets noise; the median of the
    interpolated crossings is returned. Raises AnalysisError naming ``what`` when there are
    too few points or the step is smaller than ``min_step_uV``.
    """
    x = np.asarray(x, dtype=float)
    v = np.asarray(v_uV, dtype=float)
    if len(v) < 4:
        raise AnalysisError(f"{what}: {len(v)} points, need at least 4 to find a step")
    k = plateau_count(len(v))
    before, after = float(np.median(v[:k])), float(np.median(v[-k:]))
    height = after - before
    if abs(height) < min_step_uV:
        raise AnalysisError(
            f"no switching found on the {what}: V step {abs(height):.3g} µV "
            f"< {min_step_uV:g} µV"
        )
    mid = 0.5 * (before + after)
    s = np.sign(height) * (v - mid)  # < 0 before the step, >= 0 after it
    after_side = s >= 0
    idx = np.flatnonzero(after_side[:-1] != after_side[1:])
    frac = -s[idx] / (s[idx + 1] - s[idx])
    crossings = x[idx] + frac * (x[idx + 1] - x[idx])
    return Step(x50=float(np.median(crossings)), before_uV=before, after_uV=after)
