"""Synthetic measurements from the analytic physics of docs/physics.md, for the analysis tests.

These generators use the forward model only (switching thresholds with thermal spread,
V_AHE from the layer moments, creep velocity with Barkhausen hops, the SOT field); they never
call the analysis formulas backwards, so a passing test means the analysis recovers what the
physics hid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HBAR, E_CHARGE, MU0 = 1.054571817e-34, 1.602176634e-19, 4e-7 * np.pi
OE = 1000.0 / (4.0 * np.pi)  # A/m per Oe

R_H, R_S, I_READ = 0.975, 0.225, 100e-6  # ohm, ohm, A: V_AP = -75 µV, V_P = -120 µV


def v_ahe_uV(m_h: float, m_s: float, rng: np.random.Generator, noise_uV: float = 0.03,
             offset_uV: float = 0.0, i_read: float = I_READ) -> float:
    """V_AHE = I_read (R_h m_h + R_s <m_s>) + offset + white noise, in µV."""
    return 1e6 * i_read * (R_H * m_h + R_S * m_s) + offset_uV + noise_uV * rng.standard_normal()


def creep_velocity_um_s(h_drive_Oe: float, ln_v0: float = 29.77, alpha: float = 136.4,
                        h_dep_Oe: float = 3000.0) -> float:
    """Creep below H_dep, linear flow above it (docs/physics.md §3); signed like the drive."""
    h = abs(h_drive_Oe)
    if h == 0.0:
        return 0.0
    if h < h_dep_Oe:
        v = np.exp(ln_v0 - alpha * h ** -0.25)
    else:
        v = np.exp(ln_v0 - alpha * h_dep_Oe ** -0.25) * h / h_dep_Oe
    return float(np.sign(h_drive_Oe) * v)


def h_sot_Oe(j_A_m2: float, hx_Oe: float, h_dmi_Oe: float = 1200.0, xi: float = 0.5,
             ms: float = 1e6, t_f: float = 1e-9) -> float:
    """H_SOT = (π/2) ħ ξ J / (2 e μ0 Ms tF) · clip(Hx/H_DMI, -1, 1), in Oe."""
    h_sl = HBAR * xi * j_A_m2 / (2 * E_CHARGE * MU0 * ms * t_f) / OE
    return float(0.5 * np.pi * h_sl * np.clip(hx_Oe / h_dmi_Oe, -1.0, 1.0))


class SoftHardBar:
    """Two-layer switching with thermal spread: the soft layer flips at H1/H2 along the hard
    layer, the hard one at Hc_hard against it. Thresholds are redrawn for every event."""

    def __init__(self, rng, h_ex, hc_soft, hc_hard=3000.0, spread_Oe=3.0, hard=-1):
        self.rng, self.h_ex, self.hc, self.hc_hard, self.spread = rng, h_ex, hc_soft, hc_hard, spread_Oe
        self.m_h, self.m_s = hard, hard  # saturated along the hard layer (P)
        self._draw()

    def _draw(self):
        n = self.rng.normal(0.0, self.spread, 3)
        self.h1 = self.h_ex + self.hc + n[0]
        self.h2 = self.h_ex - self.hc + n[1]
        self.hh = self.hc_hard + n[2]

    def apply(self, hz: float, shift_Oe: float = 0.0) -> None:
        """Set the field; ``shift_Oe`` moves both soft thresholds (SOT: by -H_SOT along h)."""
        h = hz * self.m_h  # field along the hard layer
        if -h > self.hh:
            self.m_h = -self.m_h
            h = -h
            self._draw()
        if self.m_s != self.m_h and h > self.h1 + shift_Oe:
            self.m_s = self.m_h
            self._draw()
        elif self.m_s == self.m_h and h < self.h2 + shift_Oe:
            self.m_s = -self.m_h
            self._draw()


def sweep(a: float, b: float, step: float) -> np.ndarray:
    n = int(round(abs(b - a) / step)) + 1
    return np.linspace(a, b, n)


def hysteresis_frame(rng, h_ex, hc_soft, n_minor=3, major=True, spread_Oe=3.0, dH=5.0,
                     noise_uV=0.03, minor_span=(-100.0, None)) -> pd.DataFrame:
    """A major loop (+3500 -> -3500 -> +3500 Oe) then ``n_minor`` soft-layer minor loops at
    negative Hz (hard along -z), each up then down; columns as the hysteresis procedure emits."""
    bar = SoftHardBar(rng, h_ex, hc_soft, spread_Oe=spread_Oe, hard=1)
    rows = []
    t = 0.0
    drift = 0.0

    def record(fields, branch, loop):
        nonlocal t, drift
        for hz in fields:
            bar.apply(hz)
            drift += 0.01 * rng.standard_normal()
            rows.append(dict(t_s=t, Hz_Oe=hz + 0.1 * rng.standard_normal(),
                             V_uV=v_ahe_uV(bar.m_h, bar.m_s, rng, noise_uV, drift),
                             branch=branch, loop=loop))
            t += 0.1

    if major:
        record(sweep(3500, -3500, dH), -1, 0)
        record(sweep(-3500, 3500, dH), 1, 0)
    for hz in sweep(3500, -3500, 50.0):  # unrecorded: put the hard layer along -z
        bar.apply(hz)
    low = -(h_ex + hc_soft + 400.0) if minor_span[1] is None else minor_span[1]
    for hz in sweep(-3500, low, 50.0):
        bar.apply(hz)
    for _ in range(n_minor):
        record(sweep(low, minor_span[0], dH), 1, 1)
        record(sweep(minor_span[0], low, dH), -1, 1)
    return pd.DataFrame(rows)


def hop(rng, x_um: float, v_um_s: float, dt_s: float, x_max_um: float, hop_um: float = 0.1) -> float:
    """Barkhausen hops: Poisson number of ξ_hop jumps, mean |v| dt / ξ_hop, clipped to the bar."""
    n = rng.poisson(abs(v_um_s) * dt_s / hop_um)
    return float(np.clip(x_um + np.sign(v_um_s) * n * hop_um, 0.0, x_max_um))


def step_neuron_uV(x_um: float, x_notch_um: float, rng, noise_uV: float = 0.03) -> float:
    """Step neuron read: V_AP at x = 0 to V_P at the notch, linear in between."""
    v_ap, v_p = 1e6 * I_READ * (-R_H + R_S), 1e6 * I_READ * (-R_H - R_S)
    return v_ap + (v_p - v_ap) * x_um / x_notch_um + noise_uV * rng.standard_normal()


def integrate_reset_frame(rng, n_cycles=8, hx_Oe=1000.0, hz_Oe=-1725.0, i_mA=20.0,
                          h_ex_Oe=1150.0, n_base=10, n_write=20, n_reset=20, width_ms=0.5,
                          period_ms=10.0, reset_read_ms=5.0, x_notch_um=20.0, heat_K=3.0,
                          t0_s=0.0) -> pd.DataFrame:
    """Integrate/reset cycles of the 5 µm step neuron: creep + SOT during each write pulse,
    creep under Hz - H_ex between pulses, exchange-driven return with everything off."""
    j = 1e-3 * i_mA / (5e-6 * 10e-9)  # A/m², 5 µm x 10 nm of metal
    alpha_hot = 136.4 * 300.0 / (300.0 + heat_K)
    rows, t, x = [], t0_s, 0.0
    h = -hz_Oe  # along the hard layer (-z)

    def read(cycle, pulse, phase, i, w, hz, hx):
        rows.append(dict(t_s=t, cycle=cycle, pulse=pulse, phase=phase,
                         V_uV=step_neuron_uV(x, x_notch_um, rng), I_write_mA=i,
                         write_width_ms=w, Hz_Oe=hz + 0.1 * rng.standard_normal(),
                         Hx_Oe=hx + 0.1 * rng.standard_normal(), J_1e11_A_m2=j / 1e11 if w else 0.0))

    for c in range(n_cycles):
        for p in range(n_base):
            t += period_ms / 1e3
            read(c, p, 0, 0.0, 0.0, 0.0, 0.0)
        for p in range(n_write):
            v_pulse = creep_velocity_um_s(h - h_ex_Oe + h_sot_Oe(j, hx_Oe), alpha=alpha_hot)
            x = hop(rng, x, v_pulse, width_ms / 1e3, x_notch_um)
            rest_s = (period_ms - width_ms) / 1e3
            x = hop(rng, x, creep_velocity_um_s(h - h_ex_Oe), rest_s, x_notch_um)
            t += period_ms / 1e3
            read(c, p, 1, i_mA, width_ms, hz_Oe, hx_Oe)
        for p in range(n_reset):
            for _ in range(5):
                x = hop(rng, x, creep_velocity_um_s(-h_ex_Oe), reset_read_ms / 5e3, x_notch_um)
            t += reset_read_ms / 1e3
            read(c, p, 2, 0.0, 0.0, 0.0, 0.0)
    return pd.DataFrame(rows)


def loop_shift_frame(rng, hx_values, j_values, h_ex=1150.0, hc=600.0, h_dmi=1200.0,
                     n_loops=1, dH=10.0, hz_range=(-2800.0, 500.0)) -> pd.DataFrame:
    """Minor loops under a DC current (read by the same current) at each (Hx, J): the SOT
    moves both soft thresholds by -H_SOT along the hard layer, Joule heating narrows H_c as
    (T0/T)^4 with 3 K at 20 mA. Hard layer along -z."""
    rows, t = [], 0.0
    for hx in hx_values:
        for j in j_values:
            i_dc = j * 1e11 * 5e-6 * 10e-9  # A
            heat = 3.0 * (i_dc / 20e-3) ** 2
            bar = SoftHardBar(rng, h_ex, hc * (300.0 / (300.0 + heat)) ** 4, hard=-1)
            shift = -h_sot_Oe(j * 1e11, hx, h_dmi)
            for _ in range(n_loops):
                for branch, (a, b) in ((1, hz_range), (-1, hz_range[::-1])):
                    for hz in sweep(a, b, dH):
                        bar.apply(hz, shift)
                        rows.append(dict(
                            t_s=t, Hz_Oe=hz + 0.1 * rng.standard_normal(),
                            V_uV=v_ahe_uV(bar.m_h, bar.m_s, rng, 0.05, 1.0, i_read=i_dc),
                            branch=branch, loop=1, I_dc_mA=1e3 * i_dc, J_1e11_A_m2=j,
                            Hx_Oe=hx + 0.1 * rng.standard_normal()))
                        t += 0.05
    return pd.DataFrame(rows)


def return_frame(rng, h_ex, hz_values, distance_um=88.5, x_notch_um=120.0, cross_um=5.0,
                 n_samples=400, t_max_s=None) -> pd.DataFrame:
    """Return runs: the wall starts at the notch and creeps home under h - H_ex (h = -Hz);
    V is read at a Hall cross ``distance_um`` before the notch, P while the wall is beyond it.
    Each run records ``n_samples`` reads over 2.5x the expected crossing time (or t_max_s)."""
    rows, t0 = [], 0.0
    centre = x_notch_um - distance_um
    for run, hz in enumerate(hz_values):
        v = creep_velocity_um_s(-hz - h_ex)  # negative: backwards
        duration = t_max_s or 2.5 * distance_um / abs(v)
        dt = duration / n_samples
        x = x_notch_um
        for k in range(n_samples):
            x = hop(rng, x, v, dt, x_notch_um)
            frac_p = np.clip((x - (centre - cross_um / 2)) / cross_um, 0.0, 1.0)
            rows.append(dict(t_s=t0 + k * dt, run=run, Hz_Oe=hz + 0.1 * rng.standard_normal(),
                             V_uV=v_ahe_uV(-1, 1 - 2 * frac_p, rng, 0.03,
                                           0.3 * np.sin(2 * np.pi * (t0 + k * dt) / 300))))
        t0 += duration + 10.0
    return pd.DataFrame(rows)
