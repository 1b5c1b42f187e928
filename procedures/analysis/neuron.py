"""Leaky-integrate-fire description of the device, fitted to integrate/reset cycles.

The device measured here has V_rest (AP, wall at x = 0), V_fire (P over the sensing span,
wall pinned at the notch), an integration time constant from the rise of V during the write
train, and a leak time constant from the fall once fields and current are off:

    rise:  V(t) = V_fire - (V_fire - V_rest) exp(-(t - t_on) / τ_int)
    leak:  V(t) = V_rest + (V_fire - V_rest) exp(-(t - t_leak) / τ_leak)  for t > t_leak

t_on is the first write pulse (one pulse period before the first write read), not the last
baseline read: the fields are ramped in between, and that wait is the magnet's, not the
neuron's. Likewise the leak starts when the exchange field wins, which is some time after the
fields are switched off (the magnet ramps down and lags its supply by L/R): t_leak is fitted,
and reported as ``leak_onset_ms`` after the last write read, so τ_leak is the wall's return and
the magnet's delay is a separate, visible number.

The rise of a creeping wall is closer to a ramp that stops at the notch than to an
exponential, so τ_int is the LIF time scale that best matches it, not a material constant.

How the paper's Table 1 relates: V_th = 214 µV, V_reset = 160 µV and τ_int = τ_leak = 3 ms are
the parameters of its spiking-network simulation, in network units chosen for training
(its Fig 5e varies the time constants from 3 ms to 3 µs). They are not this device's
measured values: the device fires at V_P (about -120 µV, rests at V_AP about -75 µV at
100 µA read), integrates over tens of 10 ms pulse periods and leaks back in tens of ms. To
use the device in such a network, map V_rest -> V_reset, V_fire -> V_th and scale time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary
from dwlab.procedures.analysis.integrate_reset import (
    RESET,
    WRITE,
    analyze_cycle,
    reference_swing,
    split_cycles,
)


@dataclass(frozen=True)
class NeuronParameters:
    """The device's LIF parameters (means over fired cycles) and the fits' rms residuals."""

    V_rest_uV: float
    V_fire_uV: float
    tau_int_ms: float
    tau_leak_ms: float
    leak_onset_ms: float
    fit_rms_int_uV: float
    fit_rms_leak_uV: float
    n_cycles: int

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self)


def fit_tau(t_s: np.ndarray, progress: np.ndarray, rising: bool) -> tuple[float, float]:
    """Time constant (s) of 1 - exp(-t/τ) (rising) or exp(-t/τ), and the rms of the misfit
    in units of the swing; fitted in log τ so that τ stays positive."""
    shape = (lambda t, tau: 1 - np.exp(-t / tau)) if rising else (lambda t, tau: np.exp(-t / tau))
    span = float(np.max(t_s))
    fit = least_squares(lambda p: shape(t_s, np.exp(p[0])) - progress,
                        x0=[np.log(span / 3)], bounds=([np.log(span * 1e-4)], [np.log(span * 1e3)]))
    return float(np.exp(fit.x[0])), float(np.sqrt(np.mean(fit.fun**2)))


def fit_delayed_decay(t_s: np.ndarray, progress: np.ndarray) -> tuple[float, float, float]:
    """(onset s, τ s, rms) of a decay that starts late: 1 until t0, then exp(-(t - t0)/τ).

    The onset starts at the last point still within 10 % of the top, so the fit begins in
    the right basin; τ is fitted in log so it stays positive.
    """
    span = float(np.max(t_s))
    high = t_s[progress > 0.9]
    t0_guess = float(np.max(high)) if high.size else 0.0

    def shape(p):
        t0, tau = p[0], np.exp(p[1])
        return np.where(t_s < t0, 1.0, np.exp(-np.clip(t_s - t0, 0, None) / tau))

    fit = least_squares(lambda p: shape(p) - progress, x0=[t0_guess, np.log(span / 20)],
                        bounds=([0.0, np.log(span * 1e-5)], [span, np.log(span * 10)]))
    return float(fit.x[0]), float(np.exp(fit.x[1])), float(np.sqrt(np.mean(fit.fun**2)))


def fit_neuron(df: pd.DataFrame, full_swing_uV: float | None = None) -> NeuronParameters:
    """V_rest, V_fire, τ_int and τ_leak from the fired cycles of an integrate/reset run.

    Raises AnalysisError when no cycle fired (there is no threshold to describe) or a fired
    cycle has no reset reads (there is no leak to fit).
    """
    cycles = split_cycles(df, "neuron fit")
    swing = reference_swing(cycles, full_swing_uV, 5.0)
    fired = [c for c in cycles if swing is not None and analyze_cycle(c, 1.0, swing).fired]
    if not fired:
        raise AnalysisError(f"neuron fit: none of {len(cycles)} cycles fired; "
                            "the LIF threshold is undefined")
    rise_t, rise_y, leak_t, leak_y, rests, fires, swings = [], [], [], [], [], [], []
    for c in fired:
        r = analyze_cycle(c, 1.0, swing)
        write, reset = c[c["phase"] == WRITE], c[c["phase"] == RESET]
        write_t = write["t_s"].to_numpy()
        period = float(np.median(np.diff(write_t))) if write_t.size > 1 else 0.0
        t_on = write_t.min() - period  # the first write pulse, one period before its read
        t_off = write_t.max()
        if reset.empty:
            raise AnalysisError(f"neuron fit: cycle {r.cycle} has no reset reads to fit the leak")
        amp = r.V_fire_uV - r.V_rest_uV
        rise_t.append(write["t_s"] - t_on)
        rise_y.append((write["V_uV"] - r.V_rest_uV) / amp)
        leak_t.append(reset["t_s"] - t_off)
        leak_y.append((reset["V_uV"] - r.V_rest_uV) / amp)
        rests.append(r.V_rest_uV)
        fires.append(r.V_fire_uV)
        swings.append(abs(amp))
    tau_int, rms_int = fit_tau(np.concatenate(rise_t), np.concatenate(rise_y), rising=True)
    onset, tau_leak, rms_leak = fit_delayed_decay(np.concatenate(leak_t), np.concatenate(leak_y))
    return NeuronParameters(
        V_rest_uV=float(np.mean(rests)), V_fire_uV=float(np.mean(fires)),
        tau_int_ms=1e3 * tau_int, tau_leak_ms=1e3 * tau_leak, leak_onset_ms=1e3 * onset,
        fit_rms_int_uV=rms_int * float(np.mean(swings)),
        fit_rms_leak_uV=rms_leak * float(np.mean(swings)), n_cycles=len(fired),
    )
