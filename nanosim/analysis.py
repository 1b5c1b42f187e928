"""What the nanoscale runs mean: thresholds and trends of the H_ex scan, the events of the LIF
sequence, and the neuron parameters the sequence gives, in the form a measured run's LIF fit
has (``dwlab.procedures.analysis.neuron.NeuronParameters``), so the spiking network can be
driven by either.

Everything here works from the stored points alone, so a stored run is re-analysed as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns
from dwlab.procedures.analysis.neuron import (
    NeuronParameters,
    fit_delayed_decay,
    fit_tau,
)

FIRE_FRACTION = 0.98  # of the ROI: the wall is at the read-out end


@dataclass(frozen=True)
class ScanResult:
    """Per-field means (table) and the scan's thresholds and trends."""

    table: pd.DataFrame                 # H_ex_Oe -> reached, reset, v_f, v_r, chi_off (means)
    T_K: float
    forward_limit_Oe: float             # largest H_ex at which every wall reached the end
    no_forward_from_Oe: float           # smallest H_ex at which none did (NaN if all did)
    reset_from_Oe: float                # smallest H_ex above which every reached wall reset
    v_f_falls: bool                     # v_f decreases monotonically with H_ex
    v_r_min_at_Oe: float                # where the return velocity is slowest
    v_r_max_at_Oe: float                # and fastest, over the fields that reset

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self)


def scan_result(df: pd.DataFrame) -> ScanResult:
    require_columns(df, ("H_ex_Oe", "reached", "reset", "v_f_m_s", "v_r_m_s", "chi_off_deg"),
                    "nanosim scan")
    if df.empty:
        raise AnalysisError("nanosim scan: no walls were simulated")
    table = df.groupby("H_ex_Oe")[["reached", "reset", "v_f_m_s", "v_r_m_s",
                                    "chi_off_deg"]].mean()
    fields = table.index.to_numpy()
    all_reached = fields[table["reached"].to_numpy() == 1.0]
    none_reached = fields[table["reached"].to_numpy() == 0.0]
    forward = table[table["reached"] == 1.0]
    resets = forward.index[forward["reset"] == 1.0].to_numpy()
    stays = forward.index[forward["reset"] < 1.0].to_numpy()
    reset_from = float(np.min(resets[resets > (stays.max() if stays.size else -np.inf)])) \
        if resets.size else float("nan")
    v_f = forward["v_f_m_s"].to_numpy()
    v_r = forward.loc[forward["reset"] == 1.0, "v_r_m_s"]
    return ScanResult(
        table=table, T_K=float(df["T_K"].iloc[0]) if "T_K" in df else 0.0,
        forward_limit_Oe=float(all_reached.max()) if all_reached.size else float("nan"),
        no_forward_from_Oe=float(none_reached.min()) if none_reached.size else float("nan"),
        reset_from_Oe=reset_from,
        v_f_falls=bool(np.all(np.diff(v_f) < 0)) if v_f.size > 1 else False,
        v_r_min_at_Oe=float(v_r.idxmin()) if len(v_r) else float("nan"),
        v_r_max_at_Oe=float(v_r.idxmax()) if len(v_r) else float("nan"),
    )


@dataclass(frozen=True)
class LifResultSummary:
    """The integrate-and-leak events of a pulse sequence and what they mean for a neuron."""

    H_ex_Oe: float
    pulses_to_fire: int               # the firing pulse included (0 if it never fired)
    events_before_firing: int         # integrate-and-leak events before the firing pulse
    integrate_nm_per_pulse: float     # mean advance per full pulse
    leak_nm_per_gap: float            # mean return per gap
    reset_frac_after: float           # ROI fraction still integrated at the end (0 = reset)
    period_ms: float                  # one pulse plus its gap: the neuron's time step
    neuron: NeuronParameters | None   # None if it never fired

    def summary(self) -> dict[str, float | str]:
        """The numbers, with the neuron under the keys a measured run's analysis uses
        (LIF_*, pulses_to_fire_mean, threshold_fluctuation_pct), so the spiking network takes
        either. One deterministic sequence has no cycle-to-cycle spread: 0 %."""
        out = flat_summary(self)
        if self.neuron is not None:
            out.update({f"LIF_{k}": v for k, v in self.neuron.summary().items()})
            out.update(pulses_to_fire_mean=float(self.pulses_to_fire),
                       threshold_fluctuation_pct=0.0)
        return out


def _segments(df: pd.DataFrame) -> list[tuple[bool, pd.DataFrame]]:
    on = df["J_1e11_A_m2"].to_numpy() > 0
    starts = np.flatnonzero(np.r_[True, on[1:] != on[:-1]])
    ends = np.r_[starts[1:], len(df)]
    return [(bool(on[s]), df.iloc[s:e]) for s, e in zip(starts, ends, strict=True)]


def lif_result(df: pd.DataFrame, roi_nm: float, period_ms: float,
               swing_uV: float = 45.0) -> LifResultSummary:
    """Events, integration and leak of a stored LIF trace (TRACE_COLUMNS).

    ``swing_uV`` turns the ROI fraction into the Hall signal of the neuron parameters (rest at
    0, fire at the swing; the lab device's -75 -> -120 µV swing by default).
    """
    require_columns(df, ("t_ns", "x_nm", "J_1e11_A_m2"), "nanosim lif")
    if df.empty:
        raise AnalysisError("nanosim lif: the trace is empty")
    x = df["x_nm"].to_numpy()
    fired_at = np.flatnonzero(x >= FIRE_FRACTION * roi_nm)
    segments = _segments(df)
    pulses = [seg for on, seg in segments if on]
    gaps = [seg for on, seg in segments if not on]
    fired = fired_at.size > 0
    t_fire = float(df["t_ns"].iloc[fired_at[0]]) if fired else np.inf
    full_pulses = [p for p in pulses if p["t_ns"].iloc[-1] < t_fire]
    leak_gaps = [g for g in gaps if g["t_ns"].iloc[-1] < t_fire]
    advance = [p["x_nm"].iloc[-1] - p["x_nm"].iloc[0] for p in full_pulses]
    leak = [g["x_nm"].iloc[0] - g["x_nm"].iloc[-1] for g in leak_gaps]
    n_pulses = len([p for p in pulses if p["t_ns"].iloc[0] <= t_fire]) if fired else 0
    neuron = _neuron(df, roi_nm, t_fire, swing_uV) if fired else None
    return LifResultSummary(
        H_ex_Oe=float(df["H_ex_Oe"].iloc[0]) if "H_ex_Oe" in df else float("nan"),
        pulses_to_fire=n_pulses, events_before_firing=max(n_pulses - 1, 0),
        integrate_nm_per_pulse=float(np.mean(advance)) if advance else float("nan"),
        leak_nm_per_gap=float(np.mean(leak)) if leak else float("nan"),
        reset_frac_after=float(x[-1] / roi_nm), period_ms=period_ms, neuron=neuron)


def _neuron(df: pd.DataFrame, roi_nm: float, t_fire_ns: float, swing_uV: float):
    """The LIF description of the sequence, fitted as a measured run's is: the rise from the
    first pulse to firing and the return after it, with position as the signal."""
    t = df["t_ns"].to_numpy() * 1e-9
    progress = df["x_nm"].to_numpy() / roi_nm
    rise = t <= t_fire_ns * 1e-9
    after = ~rise
    tau_int, rms_int = fit_tau(t[rise] - t[0] + 1e-15, progress[rise], rising=True)
    if after.sum() < 3:
        raise AnalysisError("nanosim lif: no trace after firing to fit the leak")
    onset, tau_leak, rms_leak = fit_delayed_decay(t[after] - t_fire_ns * 1e-9,
                                                  progress[after] / max(progress[after][0], 1e-9))
    return NeuronParameters(
        V_rest_uV=0.0, V_fire_uV=swing_uV, tau_int_ms=1e3 * tau_int, tau_leak_ms=1e3 * tau_leak,
        leak_onset_ms=1e3 * onset, fit_rms_int_uV=rms_int * swing_uV,
        fit_rms_leak_uV=rms_leak * swing_uV, n_cycles=1)
