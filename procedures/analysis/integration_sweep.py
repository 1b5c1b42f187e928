"""Integration against current density and Hx (paper Fig 3b/c).

The sweep repeats integrate/reset cycles at several (J, Hx) settings. Per setting: how many
pulses it takes to fire, and how far one write train integrates (the fraction of the full
swing after its last pulse). The onset Hx, below which a train no longer integrates, is where
that fraction crosses ``min_fraction``, interpolated between the settings around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import cluster_values, flat_summary
from dwlab.procedures.analysis.integrate_reset import (
    WRITE,
    analyze_cycle,
    reference_swing,
    split_cycles,
    write_rows,
)
from dwlab.procedures.analysis.loop_shift import HX_TOLERANCE_OE, J_TOLERANCE


@dataclass(frozen=True)
class SweepPoint:
    """One (J, Hx) setting. ``pulses_to_fire`` is the mean over the cycles that fired (None if
    none did); ``fraction_integrated`` the mean (V_end - V_rest)/swing after the write train."""

    J_1e11_A_m2: float
    Hx_Oe: float
    Hz_Oe: float
    n_cycles: int
    n_fired: int
    n_write_pulses: int
    pulses_to_fire: float | None
    fraction_integrated: float


@dataclass(frozen=True)
class IntegrationSweepResult:
    """Settings in (J, Hx) order and, per J, the Hx below which there is no integration."""

    points: tuple[SweepPoint, ...]
    full_swing_uV: float
    Hx_onset_Oe: dict[float, float | None]  # keyed by J in 1e11 A/m², rounded to 0.001

    def summary(self) -> dict[str, float | str]:
        onsets = {f"Hx_onset_Oe_at_J_{j:g}e11": v for j, v in self.Hx_onset_Oe.items()
                  if v is not None}
        return flat_summary(self, n_settings=float(len(self.points)), **onsets)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.__dict__ for p in self.points])


def hx_onset(points: list[SweepPoint], min_fraction: float) -> float | None:
    """Lowest Hx above which every setting integrates at least ``min_fraction``, interpolated
    linearly from the last setting below it; None if all or none of them integrate."""
    pts = sorted(points, key=lambda p: p.Hx_Oe)
    ok = [p.fraction_integrated >= min_fraction for p in pts]
    if all(ok) or not ok[-1]:
        return None
    first = len(ok) - ok[::-1].index(False)  # first of the final run of integrating settings
    lo, hi = pts[first - 1], pts[first]
    f = (min_fraction - lo.fraction_integrated) / (hi.fraction_integrated - lo.fraction_integrated)
    return float(lo.Hx_Oe + f * (hi.Hx_Oe - lo.Hx_Oe))


def analyze_integration_sweep(
    df: pd.DataFrame, R_bar_ohm: float, full_swing_uV: float | None = None,
    min_fraction: float = 0.2, min_swing_uV: float = 5.0,
) -> IntegrationSweepResult:
    """Pulses to fire and integrated fraction per (J, Hx), and the onset Hx per J.

    Each cycle's setting is the median J and Hx of its write pulses (readings of one set
    value are merged). The full swing is ``full_swing_uV`` or the largest flat swing seen
    anywhere in the sweep; raises AnalysisError when neither exists.
    """
    if "J_1e11_A_m2" not in df.columns:
        raise AnalysisError(f"integration sweep: missing column 'J_1e11_A_m2'; present: "
                            f"{list(df.columns)}")
    if not R_bar_ohm > 0:
        raise AnalysisError(f"R_bar_ohm = {R_bar_ohm} Ω must be > 0")
    cycles = split_cycles(df, "integration sweep")
    swing = reference_swing(cycles, full_swing_uV, min_swing_uV)
    if swing is None:
        raise AnalysisError(
            "integration sweep: no setting integrated to a flat plateau of at least "
            f"{min_swing_uV:g} µV; give full_swing_uV (V_P - V_AP from the hysteresis)"
        )
    writes = [write_rows(c) for c in cycles]
    j = cluster_values(np.array([w["J_1e11_A_m2"].median() for w in writes]), J_TOLERANCE)
    hx = cluster_values(np.array([w["Hx_Oe"].median() for w in writes]), HX_TOLERANCE_OE)
    table = pd.DataFrame({"J": j, "Hx": hx, "i": range(len(cycles))})
    points = []
    for (jj, hh), group in table.groupby(["J", "Hx"], sort=True):
        mine = [cycles[i] for i in group["i"]]
        results = [analyze_cycle(c, R_bar_ohm, swing) for c in mine]
        fired = [r.pulses_to_fire for r in results if r.fired]
        points.append(SweepPoint(
            J_1e11_A_m2=float(jj), Hx_Oe=float(hh),
            Hz_Oe=float(np.median([c.loc[c["phase"] == WRITE, "Hz_Oe"].median() for c in mine])),
            n_cycles=len(results), n_fired=len(fired),
            n_write_pulses=int(np.median([r.n_write_pulses for r in results])),
            pulses_to_fire=float(np.mean(fired)) if fired else None,
            fraction_integrated=float(np.mean([(r.V_fire_uV - r.V_rest_uV) / swing
                                               for r in results])),
        ))
    onsets = {round(jj, 3): hx_onset([p for p in points if p.J_1e11_A_m2 == jj], min_fraction)
              for jj in sorted({p.J_1e11_A_m2 for p in points})}
    return IntegrationSweepResult(points=tuple(points), full_swing_uV=abs(swing),
                                  Hx_onset_Oe=onsets)
