"""The paper's control experiments for SOT-driven integration (section 4; PHYSICS.md §3).

The motion of the wall is the SOT's when it follows the write current and Hx: with the
current reversed, with Hx reversed, with Hx = 0, and with read current only (fields on), the
wall must not integrate. Each control is one cycle of a long train at the operating point;
its drift is (V at the end of the train - rest) / full swing, signed so that positive is
towards firing, and the largest excursion along the train is reported beside it. The
reference (the experiment itself, +I and +Hx) must fire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns
from dwlab.procedures.analysis.integrate_reset import BASELINE, DRIFT_LIMIT, FIRE_FRACTION, WRITE

# name -> (sign of the write current, sign of Hx); 0 current is a read-only train
EXPERIMENTS: dict[str, tuple[int, int]] = {
    "reference": (1, 1),
    "reversed current": (-1, 1),
    "reversed Hx": (1, -1),
    "Hx = 0": (1, 0),
    "read only": (0, 1),
}
NAMES = list(EXPERIMENTS)
END_READS = 5  # reads averaged at the end of a train


@dataclass(frozen=True)
class ControlResult:
    name: str
    n_pulses: int
    I_write_mA: float
    Hx_Oe: float
    drift_pct: float          # end of the train, % of the swing, + towards firing
    max_excursion_pct: float  # largest excursion along the train towards firing
    passed: bool              # controls: |drift| and excursion < DRIFT_LIMIT; reference: fired


@dataclass(frozen=True)
class ControlsResult:
    controls: tuple[ControlResult, ...]
    full_swing_uV: float
    swing_source: str
    all_passed: bool

    def summary(self) -> dict[str, float | str]:
        out = {}
        for c in self.controls:
            key = c.name.replace(" = ", "").replace(" ", "_")
            out[f"{key}_drift_pct"] = c.drift_pct
            out[f"{key}_max_excursion_pct"] = c.max_excursion_pct
            out[f"{key}_passed"] = float(c.passed)
        return flat_summary(self, **out)


def analyze_controls(df: pd.DataFrame, full_swing_uV: float | None = None) -> ControlsResult:
    """Drift of every control as a fraction of the swing; the swing is ``full_swing_uV`` (from
    the hysteresis) or else the reference's rest -> fire swing, which must then have fired."""
    require_columns(df, ("t_s", "control", "phase", "V_uV", "I_write_mA", "Hx_Oe"), "controls")
    parts = {int(code): part for code, part in df.sort_values("t_s").groupby("control")}
    if not parts:
        raise AnalysisError("controls: no points")
    levels = {}
    for code, part in parts.items():
        base = part.loc[part["phase"] == BASELINE, "V_uV"].to_numpy(dtype=float)
        train = part.loc[part["phase"] == WRITE, "V_uV"].to_numpy(dtype=float)
        if base.size == 0 or train.size == 0:
            raise AnalysisError(f"controls: {NAMES[code]} has {base.size} baseline and "
                                f"{train.size} train reads; needs both")
        levels[code] = (float(np.mean(base)), train)
    reference = NAMES.index("reference")
    if reference in levels:
        rest, train = levels[reference]
        ref_swing = float(np.mean(train[-END_READS:])) - rest
    else:
        ref_swing = None
    if full_swing_uV:
        sign = np.sign(ref_swing) if ref_swing else -1.0  # hard layer down: V falls on firing
        swing, source = sign * full_swing_uV, "given (hysteresis)"
    elif ref_swing is not None and abs(ref_swing) > 5.0:
        swing, source = ref_swing, "the reference's rest -> fire swing"
    else:
        raise AnalysisError("controls: no full swing: give full_swing_uV (from a hysteresis "
                            "run) or include the reference, which must fire")
    results = []
    for code, (rest, train) in sorted(levels.items()):
        part = parts[code]
        progress = (train - rest) / swing
        drift = float(np.mean(progress[-END_READS:]))
        excursion = float(np.max(progress))
        name = NAMES[code]
        passed = (drift >= FIRE_FRACTION if name == "reference"
                  else abs(drift) < DRIFT_LIMIT and excursion < DRIFT_LIMIT)
        writes = part[part["phase"] == WRITE]
        results.append(ControlResult(
            name=name, n_pulses=len(train), I_write_mA=float(writes["I_write_mA"].median()),
            Hx_Oe=float(writes["Hx_Oe"].median()), drift_pct=100 * drift,
            max_excursion_pct=100 * excursion, passed=bool(passed)))
    return ControlsResult(controls=tuple(results), full_swing_uV=abs(float(swing)),
                          swing_source=source, all_passed=all(c.passed for c in results))
