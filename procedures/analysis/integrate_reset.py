"""Integrate / fire / self-reset cycles (paper Fig 3d-f): per-cycle levels, timing and energy.

A cycle is: baseline reads (phase 0), write+read pulses with Hx and Hz on (phase 1) during
which SOT drives the wall to the notch, then reads with fields and current off (phase 2) while
the SAF exchange field pulls it back. "Firing" is crossing 90 % of the full rest -> fire swing;
the full swing is the V_P - V_AP of the sensing span (give it from the hysteresis result), or
else the largest swing of a cycle whose write phase ended flat (the wall pinned at the notch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns, spread

COLUMNS = ("t_s", "cycle", "pulse", "phase", "V_uV", "I_write_mA", "write_width_ms",
           "Hz_Oe", "Hx_Oe")
BASELINE, WRITE, RESET = 0, 1, 2
FIRE_FRACTION = 0.9    # fired when V has covered 90 % of the rest -> fire swing
RESET_FRACTION = 0.1   # reset when V is back within 10 % of the swing from rest
PLATEAU_READS = 3      # reads at the end of the write phase that define its plateau
FLAT_FRACTION = 0.05   # flat: moved < 5 % of the swing over the train's last quarter


@dataclass(frozen=True)
class CycleResult:
    """One cycle. ``V_fire_uV`` is the plateau at the end of the write phase (the firing level
    when ``pulses_to_fire`` is not None); ``reset_time_ms`` counts from the last write-phase
    read (fields then go off) to the first reset read within 10 % of rest, so its resolution is
    the read interval; None when V never came back."""

    cycle: int
    V_rest_uV: float
    V_fire_uV: float
    pulses_to_fire: int | None
    reset_time_ms: float | None
    energy_mJ: float
    n_write_pulses: int

    @property
    def fired(self) -> bool:
        return self.pulses_to_fire is not None


@dataclass(frozen=True)
class IntegrateResetResult:
    """Cycles and their statistics; firing statistics are over fired cycles only (None if
    too few fired). ``threshold_fluctuation_pct`` is the paper's σ/|µ|·100 of V_fire."""

    cycles: tuple[CycleResult, ...]
    full_swing_uV: float | None
    n_cycles: int
    n_fired: int
    V_rest_uV: float
    V_fire_uV: float | None
    V_fire_spread_uV: float | None
    threshold_fluctuation_pct: float | None
    pulses_to_fire_mean: float | None
    reset_time_ms_mean: float | None
    energy_mJ: float

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self)

    def to_frame(self) -> pd.DataFrame:
        """Per-cycle rows, for the database and plots."""
        return pd.DataFrame([{**c.__dict__, "fired": c.fired} for c in self.cycles])


def split_cycles(df: pd.DataFrame, what: str) -> list[pd.DataFrame]:
    """The cycles of a run in time order. A new cycle starts where ``cycle`` changes or the
    phase falls back (to the baseline), so sweeps that restart the cycle count still split."""
    require_columns(df, COLUMNS, what)
    df = df.sort_values("t_s", kind="stable")
    new = (df["cycle"] != df["cycle"].shift()) | (df["phase"] < df["phase"].shift())
    cycles = [part for _, part in df.groupby(new.cumsum().to_numpy(), sort=True)]
    if not cycles:
        raise AnalysisError(f"{what}: no points")
    for c in cycles:
        n_base = int((c["phase"] == BASELINE).sum())
        n_write = int(((c["phase"] == WRITE) & (c["write_width_ms"] > 0)).sum())
        if n_base == 0 or n_write == 0:
            raise AnalysisError(
                f"{what}: cycle {int(c['cycle'].iloc[0])} has {n_base} baseline reads and "
                f"{n_write} write pulses; needs at least one of each"
            )
    return cycles


def write_rows(cycle: pd.DataFrame) -> pd.DataFrame:
    return cycle[(cycle["phase"] == WRITE) & (cycle["write_width_ms"] > 0)]


def cycle_levels(cycle: pd.DataFrame) -> tuple[float, float, bool]:
    """(V_rest, V_fire plateau, whether the plateau is flat) of one cycle."""
    rest = float(cycle.loc[cycle["phase"] == BASELINE, "V_uV"].mean())
    v = write_rows(cycle)["V_uV"].to_numpy(dtype=float)
    fire = float(np.mean(v[-PLATEAU_READS:]))
    # flat over the last quarter of the train: slow creep can pause for a few pulses
    window = min(len(v), max(PLATEAU_READS, len(v) // 4))
    moved = abs(fire - float(np.mean(v[-window:][:PLATEAU_READS])))
    return rest, fire, moved <= FLAT_FRACTION * abs(fire - rest)


def reference_swing(cycles: list[pd.DataFrame], full_swing_uV: float | None,
                    min_swing_uV: float) -> float | None:
    """Signed rest -> fire swing that defines firing, or None when no cycle shows one.

    With ``full_swing_uV`` given (a magnitude) only its sign is taken from the data.
    """
    levels = [cycle_levels(c) for c in cycles]
    swings = np.array([fire - rest for rest, fire, _ in levels])
    if full_swing_uV is not None:
        if full_swing_uV <= 0:
            raise AnalysisError(f"full_swing_uV = {full_swing_uV} µV must be > 0")
        sign = np.sign(np.median(swings))
        return float(sign if sign != 0 else -1.0) * full_swing_uV  # no motion: sign moot
    flat = [s for s, (_, _, ok) in zip(swings, levels) if ok and abs(s) >= min_swing_uV]
    if not flat:
        return None
    return float(max(flat, key=abs))


def analyze_cycle(cycle: pd.DataFrame, R_bar_ohm: float, swing_uV: float | None) -> CycleResult:
    """One cycle against the reference swing (None: nothing fired anywhere in the run)."""
    rest, fire, _ = cycle_levels(cycle)
    writes = write_rows(cycle)
    pulses_to_fire = None
    if swing_uV is not None:
        progress = (writes["V_uV"].to_numpy(dtype=float) - rest) / swing_uV
        hit = np.flatnonzero(progress >= FIRE_FRACTION)
        pulses_to_fire = int(hit[0]) + 1 if len(hit) else None
    reset = cycle[cycle["phase"] == RESET]
    band = RESET_FRACTION * abs(swing_uV if swing_uV is not None else fire - rest)
    back = reset[np.abs(reset["V_uV"] - rest) <= band]
    t_off = float(cycle.loc[cycle["phase"] == WRITE, "t_s"].max())
    reset_ms = 1e3 * (float(back["t_s"].iloc[0]) - t_off) if len(back) else None
    i_A = 1e-3 * writes["I_write_mA"].to_numpy(dtype=float)
    width_s = 1e-3 * writes["write_width_ms"].to_numpy(dtype=float)
    energy_J = float(np.sum(i_A**2 * R_bar_ohm * width_s))
    return CycleResult(
        cycle=int(cycle["cycle"].iloc[0]), V_rest_uV=rest, V_fire_uV=fire,
        pulses_to_fire=pulses_to_fire, reset_time_ms=reset_ms, energy_mJ=1e3 * energy_J,
        n_write_pulses=len(writes),
    )


def summarize_cycles(results: list[CycleResult], swing_uV: float | None) -> IntegrateResetResult:
    fired = [c for c in results if c.fired]
    v_fire = np.array([c.V_fire_uV for c in fired])
    resets = [c.reset_time_ms for c in results if c.reset_time_ms is not None]
    return IntegrateResetResult(
        cycles=tuple(results), full_swing_uV=None if swing_uV is None else abs(swing_uV),
        n_cycles=len(results), n_fired=len(fired),
        V_rest_uV=float(np.mean([c.V_rest_uV for c in results])),
        V_fire_uV=float(np.mean(v_fire)) if len(fired) else None,
        V_fire_spread_uV=spread(v_fire) if len(fired) > 1 else None,
        threshold_fluctuation_pct=(
            100 * spread(v_fire) / abs(float(np.mean(v_fire))) if len(fired) > 1 else None
        ),
        pulses_to_fire_mean=float(np.mean([c.pulses_to_fire for c in fired])) if fired else None,
        reset_time_ms_mean=float(np.mean(resets)) if resets else None,
        energy_mJ=float(np.mean([c.energy_mJ for c in results])),
    )


def analyze_integrate_reset(
    df: pd.DataFrame, R_bar_ohm: float, full_swing_uV: float | None = None,
    min_swing_uV: float = 5.0,
) -> IntegrateResetResult:
    """Per-cycle rest and firing levels, pulses to fire, reset time and energy Σ I² R t.

    ``R_bar_ohm`` is the bar resistance the write current flows through. Cycles that never
    reach 90 % of the swing have ``pulses_to_fire = None``; a run where no cycle moves by at
    least ``min_swing_uV`` (and no ``full_swing_uV`` is given) has no firing statistics.
    """
    if not R_bar_ohm > 0:
        raise AnalysisError(f"R_bar_ohm = {R_bar_ohm} Ω must be > 0")
    cycles = split_cycles(df, "integrate/reset")
    swing = reference_swing(cycles, full_swing_uV, min_swing_uV)
    return summarize_cycles([analyze_cycle(c, R_bar_ohm, swing) for c in cycles], swing)
