"""Wall positions from V_AHE, and their comparison with positions tracked in Kerr images.

The Kerr images themselves are analysed by ``dwlab.instruments.kerr``; this module only turns
a step-neuron Hall voltage into a position and compares the two records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary


def vahe_to_position_um(V_uV, V_AP_uV: float, V_P_uV: float, span_um: float) -> np.ndarray:
    """x = span (V - V_AP)/(V_P - V_AP): the P fraction of the sensing span times its length.

    Valid for the step neuron (a Hall cross over the whole span); not clipped, so noise near
    the ends shows as positions slightly outside [0, span].
    """
    if not span_um > 0:
        raise AnalysisError(f"span_um = {span_um} µm must be > 0")
    if V_P_uV == V_AP_uV:
        raise AnalysisError(f"V_P_uV = V_AP_uV = {V_AP_uV} µV: no contrast to convert")
    return span_um * (np.asarray(V_uV, dtype=float) - V_AP_uV) / (V_P_uV - V_AP_uV)


@dataclass(frozen=True)
class PositionComparison:
    """Kerr minus V_AHE positions over the frames where both exist (µm)."""

    n_points: int
    mean_offset_um: float
    rms_difference_um: float
    max_abs_difference_um: float

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self)


def compare_positions(kerr_x_um, vahe_x_um) -> PositionComparison:
    """Offset and scatter between the two position records, frame by frame.

    Frames where either record is NaN (no wall found in the image) are left out.
    """
    kerr = np.asarray(kerr_x_um, dtype=float)
    vahe = np.asarray(vahe_x_um, dtype=float)
    if kerr.shape != vahe.shape:
        raise AnalysisError(f"compare_positions: {kerr.shape} Kerr positions vs "
                            f"{vahe.shape} V_AHE positions; need one of each per frame")
    both = np.isfinite(kerr) & np.isfinite(vahe)
    if not np.any(both):
        raise AnalysisError("compare_positions: no frame has both a Kerr and a V_AHE position")
    d = kerr[both] - vahe[both]
    return PositionComparison(n_points=int(both.sum()), mean_offset_um=float(np.mean(d)),
                              rms_difference_um=float(np.sqrt(np.mean(d**2))),
                              max_abs_difference_um=float(np.max(np.abs(d))))
