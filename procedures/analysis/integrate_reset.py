"""Integrate / fire / self-reset cycles (paper Fig 3d-f): per-cycle levels, timing and energy.

A cycle is: baseline reads with Hx and Hz on (phase 0), write+read pulses (phase 1) during
which SOT drives the wall to the notch, then reads while Hz goes off (phase 2) and the SAF
exchange field pulls the wall back. "Firing" is crossing 90 % of the full rest -> fire swing;
the full swing is the V_P - V_AP of the sensing span (give it from the hysteresis result), or
else the largest swing of a cycle whose write phase ended flat (the wall pinned at the notch).

The baseline is also a control: its drift (V at its end minus its start, as a fraction of the
swing) is what the fields alone do to the wall, flagged above ``DRIFT_LIMIT``. The reset is
timed from the moment the gaussmeter shows the field off (the reset reads carry the field,
|Hz| < ``FIELD_OFF_OE``), with the ramp-down from the last write read to that moment beside
it, so the magnet's time is not counted as the wall's. Energy per train counts every write
pulse; energy to fire only the pulses the cycle needed to fire.
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
DRIFT_LIMIT = 0.02     # baseline drift with the fields on, as a fraction of the swing
FIELD_OFF_OE = 10.0    # |Hz| below this is "off": remanence and probe offset are a few Oe
DRIFT_READS = 3        # reads averaged at each end of the baseline for its drift


def baseline_drift(v_uV, swing_uV: float) -> float:
    """(V at the end of the baseline - V at its start) / swing, each end the mean of
    DRIFT_READS reads (fewer when the baseline is short); positive = towards firing when the
    swing is signed."""
    v = np.asarray(v_uV, dtype=float)
    k = min(DRIFT_READS, len(v) // 2)
    if k == 0:
        return 0.0
    return float((np.mean(v[-k:]) - np.mean(v[:k])) / swing_uV)


@dataclass(frozen=True)
class CycleResult:
    """One cycle. ``V_fire_uV`` is the plateau at the end of the write phase (the firing level
    when ``pulses_to_fire`` is not None). ``ramp_down_ms`` runs from the last write-phase read
    to the first reset read with the field off; ``reset_time_ms`` from there to the first
    reset read within 10 % of rest (negative when the wall was home before the field was
    off), so their resolution is the read interval; None when V never came back.
    ``baseline_drift_pct`` is the drift during the read-only baseline in % of the swing
    (positive towards firing), None without a swing."""

    cycle: int
    V_rest_uV: float
    V_fire_uV: float
    pulses_to_fire: int | None
    ramp_down_ms: float | None
    reset_time_ms: float | None
    energy_mJ: float
    energy_to_fire_mJ: float | None
    n_write_pulses: int
    baseline_drift_pct: float | None

    @property
    def fired(self) -> bool:
        return self.pulses_to_fire is not None


@dataclass(frozen=True)
class IntegrateResetResult:
    """Cycles and their statistics; firing statistics are over fired cycles only (None if
    too few fired). ``threshold_fluctuation_pct`` is the paper's σ/|µ|·100 of V_fire.
    ``energy_mJ`` is per write train, ``energy_to_fire_mJ`` for the pulses needed to fire
    (fired cycles). ``drift_flag`` says whether any baseline drifted beyond DRIFT_LIMIT."""

    cycles: tuple[CycleResult, ...]
    full_swing_uV: float | None
    n_cycles: int
    n_fired: int
    V_rest_uV: float
    V_fire_uV: float | None
    V_fire_spread_uV: float | None
    threshold_fluctuation_pct: float | None
    pulses_to_fire_mean: float | None
    ramp_down_ms_mean: float | None
    reset_time_ms_mean: float | None
    energy_mJ: float
    energy_to_fire_mJ: float | None
    baseline_drift_max_pct: float | None
    drift_flag: str

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
    ramp_ms, reset_ms = reset_timing(cycle, rest, abs(swing_uV if swing_uV is not None
                                                      else fire - rest))
    i_A = 1e-3 * writes["I_write_mA"].to_numpy(dtype=float)
    width_s = 1e-3 * writes["write_width_ms"].to_numpy(dtype=float)
    pulse_J = i_A**2 * R_bar_ohm * width_s
    baseline = cycle.loc[cycle["phase"] == BASELINE, "V_uV"]
    return CycleResult(
        cycle=int(cycle["cycle"].iloc[0]), V_rest_uV=rest, V_fire_uV=fire,
        pulses_to_fire=pulses_to_fire, ramp_down_ms=ramp_ms, reset_time_ms=reset_ms,
        energy_mJ=1e3 * float(np.sum(pulse_J)),
        energy_to_fire_mJ=(1e3 * float(np.sum(pulse_J[:pulses_to_fire]))
                           if pulses_to_fire is not None else None),
        n_write_pulses=len(writes),
        baseline_drift_pct=(100 * baseline_drift(baseline, swing_uV)
                            if swing_uV is not None else None),
    )


def reset_timing(cycle: pd.DataFrame, rest_uV: float, swing_uV: float
                 ) -> tuple[float | None, float | None]:
    """(ramp-down ms, reset ms): from the last write read to the first reset read with the
    field off, and from there to the first reset read back within RESET_FRACTION of rest."""
    reset = cycle[cycle["phase"] == RESET]
    t_last_write = float(cycle.loc[cycle["phase"] == WRITE, "t_s"].max())
    off = reset[reset["Hz_Oe"].abs() < FIELD_OFF_OE]
    if off.empty:
        return None, None
    t_off = float(off["t_s"].iloc[0])
    back = reset[np.abs(reset["V_uV"] - rest_uV) <= RESET_FRACTION * swing_uV]
    reset_ms = 1e3 * (float(back["t_s"].iloc[0]) - t_off) if len(back) else None
    return 1e3 * (t_off - t_last_write), reset_ms


def summarize_cycles(results: list[CycleResult], swing_uV: float | None) -> IntegrateResetResult:
    fired = [c for c in results if c.fired]
    v_fire = np.array([c.V_fire_uV for c in fired])
    drifts = [c.baseline_drift_pct for c in results if c.baseline_drift_pct is not None]
    drifted = [c.cycle for c in results
               if c.baseline_drift_pct is not None and abs(c.baseline_drift_pct)
               > 100 * DRIFT_LIMIT]

    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    return IntegrateResetResult(
        cycles=tuple(results), full_swing_uV=None if swing_uV is None else abs(swing_uV),
        n_cycles=len(results), n_fired=len(fired),
        V_rest_uV=float(np.mean([c.V_rest_uV for c in results])),
        V_fire_uV=float(np.mean(v_fire)) if len(fired) else None,
        V_fire_spread_uV=spread(v_fire) if len(fired) > 1 else None,
        threshold_fluctuation_pct=(
            100 * spread(v_fire) / abs(float(np.mean(v_fire))) if len(fired) > 1 else None
        ),
        pulses_to_fire_mean=mean([c.pulses_to_fire for c in fired]),
        ramp_down_ms_mean=mean([c.ramp_down_ms for c in results]),
        reset_time_ms_mean=mean([c.reset_time_ms for c in results]),
        energy_mJ=float(np.mean([c.energy_mJ for c in results])),
        energy_to_fire_mJ=mean([c.energy_to_fire_mJ for c in fired]),
        baseline_drift_max_pct=float(max(drifts, key=abs)) if drifts else None,
        drift_flag=("no swing to judge the baseline by" if not drifts else
                    f"DRIFT above {100 * DRIFT_LIMIT:g} % of the swing with the fields on in "
                    f"cycle(s) {drifted}" if drifted else
                    f"none (< {100 * DRIFT_LIMIT:g} % of the swing)"),
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
