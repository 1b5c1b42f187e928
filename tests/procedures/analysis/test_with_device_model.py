"""The analyses recover what the simulated lab's device model hides (docs/physics.md targets).

Each test drives ``SafHallBar.step`` / ``v_ahe_V`` directly, as the procedures' instruments
would, with device constants drawn at random (seeded), and checks the recovery targets:
H_ex and H_c within 3 %, χ within 5 %, H_DMI within 15 %, creep-fit v within 10 %.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import constants

from dwlab.instruments.sim.device import OE_TO_A_PER_M, DeviceParams, SafHallBar
from dwlab.instruments.sim.presets import preset
from dwlab.procedures.analysis import (
    analyze_hysteresis,
    analyze_integrate_reset,
    analyze_loop_shift,
    analyze_return_velocity,
    fit_neuron,
)

I_READ = 100e-6
RATE_OE_S = 100.0  # the default sweep rate that defines the true H_c


class Run:
    """Drives one bar and records points, with a clock."""

    def __init__(self, params: DeviceParams, seed: int):
        self.bar = SafHallBar(params, np.random.default_rng(seed))
        self.t = 0.0
        self.rows: list[dict] = []

    def hold(self, dt, hz=0.0, hx=0.0, i=0.0):
        self.bar.step(dt, hz, hx, i)
        self.t += dt

    def read_uV(self, i=I_READ):
        return 1e6 * self.bar.v_ahe_V(i, self.t)

    def sweep(self, a, b, dH=5.0, hx=0.0, i=0.0, i_read=I_READ, **cols):
        for hz in np.linspace(a, b, int(round(abs(b - a) / dH)) + 1):
            self.hold(dH / RATE_OE_S, hz, hx, i)
            self.rows.append(dict(t_s=self.t, Hz_Oe=hz, V_uV=self.read_uV(i_read), **cols))

    def frame(self):
        return pd.DataFrame(self.rows)


def sot_per_1e11_Oe(p: DeviceParams) -> float:
    """Saturated H_SOT per 1e11 A/m² of the model, in Oe (the χ_sat ground truth)."""
    h_sl = constants.hbar * p.xi_DL * 1e11 / (2 * constants.e * constants.mu_0 * p.Ms_A_m
                                               * p.t_F_nm * 1e-9)
    return math.pi / 2 * h_sl / OE_TO_A_PER_M


@pytest.mark.parametrize("seed", range(3))
def test_hysteresis_recovers_device_hex_and_hc(seed):
    rng = np.random.default_rng(100 + seed)
    p = DeviceParams(H_ex_Oe=rng.uniform(800, 1500), Hc_soft_Oe=rng.uniform(300, 650))
    run = Run(p, seed)
    run.sweep(3500, -3500, branch=-1, loop=0)
    run.sweep(-3500, 3500, branch=1, loop=0)
    run.sweep(3500, -3500, branch=-1, loop=0)
    low = -(p.H1_Oe + 400)
    run.sweep(-3500, low, dH=50.0, branch=0, loop=-1)  # approach, not part of any loop
    for _ in range(3):
        run.sweep(low, -100, branch=1, loop=1)
        run.sweep(-100, low, branch=-1, loop=1)
    r = analyze_hysteresis(run.frame().query("loop >= 0"))
    assert r.H_ex_Oe == pytest.approx(p.H_ex_Oe, rel=0.03)
    assert r.Hc_soft_Oe == pytest.approx(p.Hc_soft_Oe, rel=0.03)
    assert r.hard_sign == -1
    assert r.levels_uV == pytest.approx((-120, -75, 75, 120), abs=2.0)


def test_loop_shift_recovers_device_chi_and_hdmi():
    rng = np.random.default_rng(200)
    p = DeviceParams(H_DMI_Oe=rng.uniform(800, 1500), H_ex_Oe=rng.uniform(1000, 1200),
                     Hc_soft_Oe=rng.uniform(400, 600))
    run = Run(p, 1)
    run.hold(1.0, -2700.0)  # saturate along the hard layer
    for hx in (-2000.0, 0.0, 300.0, 600.0, 900.0, 1200.0, 1600.0, 2000.0, 2500.0):
        for j in (-2.0, -1.0, 1.0, 2.0):
            i_dc = j * 1e11 * p.width_um * 1e-6 * p.t_metal_nm * 1e-9
            cols = dict(loop=1, I_dc_mA=1e3 * i_dc, J_1e11_A_m2=j, Hx_Oe=hx)
            run.sweep(-2700, 500, dH=10.0, hx=hx, i=i_dc, i_read=i_dc, branch=1, **cols)
            run.sweep(500, -2700, dH=10.0, hx=hx, i=i_dc, i_read=i_dc, branch=-1, **cols)
    r = analyze_loop_shift(run.frame())
    assert r.chi_sat_Oe_per_1e11_A_m2 == pytest.approx(sot_per_1e11_Oe(p), rel=0.05)
    assert r.H_DMI_Oe == pytest.approx(p.H_DMI_Oe, rel=0.15)


def return_runs(p: DeviceParams, hz_values, seed, n=300):
    """Park the wall at the notch (saturate P), then time its return under each Hz."""
    run = Run(p, seed)
    rows = []
    for k, hz in enumerate(hz_values):
        run.hold(1.0, -(p.H1_Oe + 300))  # saturate: soft P, wall at the notch
        drive = abs(-hz - p.H_ex_Oe)
        duration = 2.5 * p.hall_bar_um / abs(run.bar.velocity_um_s(drive, p.T0_K))
        t0 = run.t
        for _ in range(n):
            rows.append(dict(t_s=run.t - t0 + 1e4 * k, run=k, Hz_Oe=hz, V_uV=run.read_uV()))
            run.hold(duration / n, hz)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", ["rv-1504", "random"])
def test_return_velocity_recovers_device_creep(name):
    rng = np.random.default_rng(300)
    p = preset("rv-1504") if name == "rv-1504" else preset("rv-885").with_(
        H_ex_Oe=rng.uniform(700, 1500))
    # opposing Hz slightly beyond H2: return drives between 300 and 560 Oe
    train = [-(p.H_ex_Oe - d) for d in (300, 380, 460, 560)]
    r = analyze_return_velocity(return_runs(p, train, 1), p.hall_bar_um, p.H_ex_Oe)
    true_vmax = SafHallBar(p, rng).velocity_um_s(p.H_ex_Oe, p.T0_K)
    assert r.v_max_um_s == pytest.approx(true_vmax, rel=0.10)
    if name == "rv-1504":
        assert r.v_max_um_s == pytest.approx(2500, rel=0.10)  # the paper's Fig 4f
    held_out = [-(p.H_ex_Oe - d) for d in (340, 420, 500)]
    measured = analyze_return_velocity(return_runs(p, held_out, 2), p.hall_bar_um, p.H_ex_Oe)
    for run in measured.runs:
        assert r.predict_velocity(run.H_drive_Oe) == pytest.approx(run.v_um_s, rel=0.10)


def integrate_reset_run(p: DeviceParams, seed, n_cycles=8, hx=1000.0, hz=-1725.0, i=20e-3):
    """The paper's protocol: 10 baseline reads with the fields on, 20 write+read pulses,
    40 reset reads with the fields off."""
    run = Run(p, seed)
    rows = []

    def read(c, k, phase, i_w, w_ms, hz_, hx_):
        rows.append(dict(t_s=run.t, cycle=c, pulse=k, phase=phase, V_uV=run.read_uV(),
                         I_write_mA=1e3 * i_w, write_width_ms=w_ms, Hz_Oe=hz_, Hx_Oe=hx_))

    for c in range(n_cycles):
        for k in range(10):
            run.hold(10e-3, hz, hx)
            read(c, k, 0, 0.0, 0.0, hz, hx)
        for k in range(20):
            run.hold(0.5e-3, hz, hx, i)
            run.hold(9.5e-3, hz, hx)
            read(c, k, 1, i, 0.5, hz, hx)
        for k in range(40):
            run.hold(5e-3)
            read(c, k, 2, 0.0, 0.0, 0.0, 0.0)
    return pd.DataFrame(rows)


def test_integrate_reset_on_the_device_matches_the_paper():
    p = preset("sot-neuron")
    df = integrate_reset_run(p, 4)
    r = analyze_integrate_reset(df, p.R_bar_ohm)
    assert r.n_fired == 8
    assert r.V_rest_uV == pytest.approx(-75, abs=2) and r.V_fire_uV == pytest.approx(-120, abs=2)
    assert r.threshold_fluctuation_pct < 1.2
    assert r.energy_mJ == pytest.approx(2.0, rel=1e-9)
    assert 13 <= r.pulses_to_fire_mean <= 20
    assert r.energy_to_fire_mJ == pytest.approx(0.1 * r.pulses_to_fire_mean)
    # the fields go off at once here: the reset is the wall's ~120 ms return
    assert 80 <= r.reset_time_ms_mean <= 160 and r.ramp_down_ms_mean == pytest.approx(5.0)
    assert abs(r.baseline_drift_max_pct) < 2.0 and r.drift_flag.startswith("none")
    lif = fit_neuron(df)
    assert 30 < lif.tau_leak_ms < 120
