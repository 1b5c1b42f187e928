"""The simulated SAF Hall bar against the numbers of docs/physics.md sections 1-3."""

import numpy as np
import pytest

from dwlab.instruments.sim.device import DeviceParams, SafHallBar
from dwlab.instruments.sim.presets import PRESETS, preset

I_READ = 100e-6
I_WRITE = 20e-3
HZ_OPERATING = -1725.0  # h - H_ex = 575 Oe on the sot-neuron


def make_bar(seed=0, **changes):
    params = DeviceParams().with_(**changes) if changes else DeviceParams()
    return SafHallBar(params, np.random.default_rng(seed))


def quiet_v_uV(bar):
    return bar.v_ahe_V(I_READ, t_s=0.0, noise=False) * 1e6


def saturate_p(bar, hz=-2200.0):
    bar.step(0.02, hz, 0.0, 0.0)
    assert bar.x_um == bar.params.x_notch_um and bar.beyond_notch_p


def pulses_to_fire(bar, hx, max_pulses=300):
    """Number of 20 mA / 0.5 ms pulses, one per 10 ms at Hz = -1725 Oe, until x hits the notch."""
    for k in range(1, max_pulses + 1):
        bar.step(0.5e-3, HZ_OPERATING, hx, I_WRITE)
        bar.step(9.5e-3, HZ_OPERATING, hx, 0.0)
        if bar.x_um >= bar.params.x_notch_um:
            return k
    return None


# --- Hall voltage levels -----------------------------------------------------------------

def test_v_ahe_levels_at_rest_fired_and_after_hard_layer_reversal():
    bar = make_bar(thermo_emf_V=0.0)
    assert quiet_v_uV(bar) == pytest.approx(-75.0)           # AP, hard down
    saturate_p(bar)
    assert quiet_v_uV(bar) == pytest.approx(-120.0)          # P, hard down
    bar.step(0.02, +3600.0, 0.0, 0.0)                        # beyond Hc,hard against it
    assert bar.m_hard == +1
    assert quiet_v_uV(bar) == pytest.approx(+120.0)          # P relative to the new hard dir
    bar.step(0.02, 0.0, 0.0, 0.0)                            # h = 0 < H2: back to AP
    assert bar.x_um == 0.0
    assert quiet_v_uV(bar) == pytest.approx(+75.0)


def test_v_ahe_follows_wall_through_sense_span():
    bar = make_bar(thermo_emf_V=0.0)
    bar.x_um = 5.0
    assert bar.fraction_p() == pytest.approx(0.25)
    assert quiet_v_uV(bar) == pytest.approx(-75.0 - 0.25 * 45.0)
    spike = SafHallBar(preset("spike-neuron"), np.random.default_rng(0))
    spike.x_um = 15.0                                        # not yet at the MTJ span
    assert spike.fraction_p() == 0.0
    spike.x_um = 20.0
    assert spike.fraction_p() == 1.0


# --- hysteresis: nucleation at H1/H2, creep narrows slow loops ---------------------------

def sweep_loop(bar, rate_Oe_s, h_max=2200.0, dh=2.0):
    """Switching fields (h at which the P fraction crosses 1/2) of one up-down loop."""
    hs = np.arange(-h_max, h_max + dh, dh)
    dt = dh / rate_Oe_s

    def branch(fields):
        out = []
        for h in fields:
            bar.step(dt, -h, 0.0, I_READ)                    # hard layer down: Hz = -h
            out.append(bar.fraction_p())
        return np.array(out)

    up, down = branch(hs), branch(hs[::-1])
    return hs[np.argmax(up >= 0.5)], hs[::-1][np.argmax(down < 0.5)]


def test_fast_loop_shows_h1_h2_at_hex_plus_minus_hc():
    p = DeviceParams()
    loops = [sweep_loop(make_bar(seed), 100.0) for seed in range(4)]
    h1, h2 = np.mean(loops, axis=0)
    assert h1 == pytest.approx(p.H_ex_Oe + p.Hc_soft_Oe, rel=0.01)
    assert h2 == pytest.approx(p.H_ex_Oe - p.Hc_soft_Oe, rel=0.01)


def test_slow_loop_is_narrower_because_the_wall_creeps_first():
    """On a sample whose wall creeps near H_c (the field-driven neuron's constants, in the
    default bar), a slow sweep lets creep cross the span before nucleation."""
    fast = dict(ln_v0=PRESETS["field-neuron"].ln_v0, alpha300=PRESETS["field-neuron"].alpha300)
    fast_h1, fast_h2 = sweep_loop(make_bar(1, **fast), 100.0)
    slow_h1, slow_h2 = sweep_loop(make_bar(1, **fast), 5.0)
    assert slow_h1 < fast_h1 - 100 and slow_h2 > fast_h2 + 100
    assert (slow_h1 + slow_h2) / 2 == pytest.approx(DeviceParams().H_ex_Oe, rel=0.03)


def test_dc_current_shifts_both_switching_fields_by_minus_h_sot():
    """Loop shift (Pai et al.): with Hx >= H_DMI a DC current moves the loop by -H_SOT."""
    bar = make_bar(2)
    i_dc = 5e-3
    h_sot = bar.h_sot_Oe(i_dc, 1500.0)
    h1, h2 = np.mean([sweep_loop(make_bar(s), 100.0) for s in range(3)], axis=0)

    def loop_with_current(seed):
        b = make_bar(seed)
        hs = np.arange(-2200.0, 2202.0, 2.0)
        up = []
        for h in hs:
            b.step(0.02, -h, 1500.0, i_dc)
            up.append(b.fraction_p())
        down = []
        for h in hs[::-1]:
            b.step(0.02, -h, 1500.0, i_dc)
            down.append(b.fraction_p())
        return hs[np.argmax(np.array(up) >= 0.5)], hs[::-1][np.argmax(np.array(down) < 0.5)]

    s1, s2 = np.mean([loop_with_current(s) for s in range(3)], axis=0)
    assert h_sot == pytest.approx(1034 * 0.25, rel=0.01)    # J = 1e11 A/m^2
    assert (s1 + s2) / 2 - (h1 + h2) / 2 == pytest.approx(-h_sot, abs=10.0)


# --- creep calibration --------------------------------------------------------------------

def test_creep_velocity_calibration_points():
    """PHYSICS.md §3, per sample: the SOT neuron's wall stands still under Hz alone at the
    operating point and returns at ~160 µm/s; the return-velocity samples' law gives the
    paper's 2500 µm/s at 1504 Oe."""
    bar = make_bar()
    assert bar.velocity_um_s(575.0, 300.0) == pytest.approx(0.05, rel=0.15)
    assert bar.velocity_um_s(-1150.0, 300.0) == pytest.approx(-160.0, rel=0.1)
    during_pulse = bar.drive_Oe(HZ_OPERATING, 1000.0, I_WRITE)
    assert during_pulse == pytest.approx(1437.0, abs=2.0)
    assert bar.velocity_um_s(during_pulse, bar.temperature_K(I_WRITE)) == pytest.approx(
        2450.0, rel=0.1)
    rv = SafHallBar(preset("rv-1504"), np.random.default_rng(0))
    assert rv.velocity_um_s(1504.0, 300.0) == pytest.approx(2500.0, rel=0.1)
    assert rv.velocity_um_s(575.0, 300.0) == pytest.approx(7.0, rel=0.15)
    assert bar.velocity_um_s(0.0, 300.0) == 0.0
    # steep in temperature: hotter is faster; flow above H_dep is linear in H
    assert bar.velocity_um_s(1000.0, 320.0) > 2 * bar.velocity_um_s(1000.0, 300.0)
    assert bar.velocity_um_s(6000.0, 300.0) == pytest.approx(2 * bar.velocity_um_s(3000.0, 300.0))


def test_field_neuron_integrates_under_hz_pulses_and_resets_under_the_saf_field():
    fn = SafHallBar(preset("field-neuron"), np.random.default_rng(0))
    assert (fn.params.width_um, fn.params.length_um) == (20.0, 400.0)
    assert fn.velocity_um_s(575.0, 300.0) == pytest.approx(17.0, rel=0.2)
    assert fn.velocity_um_s(-1150.0, 300.0) == pytest.approx(-1500.0, rel=0.2)


def test_return_over_88_5_um_takes_about_600_s_at_minus_1160_Oe():
    bar = SafHallBar(preset("rv-1504"), np.random.default_rng(3))
    saturate_p(bar, hz=-2400.0)
    t = 0.0
    while bar.fraction_p() > 0.5:                           # Hall bar 1 not yet reached
        bar.step(5.0, -1160.0, 0.0, 0.0)
        t += 5.0
    assert t == pytest.approx(600.0, rel=0.1)


def test_v_max_rises_with_hex_and_is_about_2500_um_s_at_1504():
    v_max = [SafHallBar(PRESETS[f"rv-{h}"], np.random.default_rng(0)).velocity_um_s(-h, 300.0)
             for h in (645, 885, 1220, 1504)]
    assert np.all(np.diff(np.abs(v_max)) > 0)
    assert abs(v_max[-1]) == pytest.approx(2500.0, rel=0.1)


def test_one_long_step_equals_many_short_ones():
    """Exact for any dt: 1 x 4 ms and 8 x 0.5 ms give the same displacement statistics."""
    def displacement(n_steps, seed):
        bar = make_bar(seed)
        for _ in range(n_steps):
            bar.step(4e-3 / n_steps, HZ_OPERATING, 1000.0, I_WRITE)
        return bar.x_um

    one = np.array([displacement(1, s) for s in range(300)])
    many = np.array([displacement(8, s) for s in range(300, 600)])
    bar = make_bar()
    v = bar.velocity_um_s(bar.drive_Oe(HZ_OPERATING, 1000.0, I_WRITE), bar.temperature_K(I_WRITE))
    assert one.mean() == pytest.approx(v * 4e-3, rel=0.03)
    assert many.mean() == pytest.approx(v * 4e-3, rel=0.03)
    assert one.std() == pytest.approx(many.std(), rel=0.2)


# --- integration, leak and reset ----------------------------------------------------------

def test_twenty_pulses_at_hx_1000_integrate_fully():
    counts = [pulses_to_fire(make_bar(seed), 1000.0) for seed in range(10)]
    assert max(counts) <= 20
    assert 14 <= np.mean(counts) <= 19


def test_hx_700_needs_about_140_pulses_500_about_700_and_1500_about_5():
    assert np.mean([pulses_to_fire(make_bar(s), 700.0, 400) for s in range(4)]) == pytest.approx(
        140, rel=0.2)
    # 5.9 on average (200 seeds, sd 0.5): 20 seeds keep the mean within the bound
    assert np.mean([pulses_to_fire(make_bar(s), 1500.0) for s in range(20)]) == pytest.approx(
        5, rel=0.25)
    bar = make_bar(1)
    for _ in range(100):  # 1/7 of the ~700 pulses Hx = 500 Oe needs
        bar.step(0.5e-3, HZ_OPERATING, 500.0, I_WRITE)
        bar.step(9.5e-3, HZ_OPERATING, 500.0, 0.0)
    assert bar.x_um == pytest.approx(20.0 / 7, rel=0.35)


def test_controls_do_not_move_the_wall():
    """300 pulses with the current reversed, Hx reversed, Hx = 0, or no write current: the
    wall moves < 2 % of the 20 µm span (the paper's evidence for SOT)."""
    for current, hx in ((-I_WRITE, 1000.0), (I_WRITE, -1000.0), (I_WRITE, 0.0), (0.0, 1000.0)):
        bar = make_bar(7)
        for _ in range(300):
            bar.step(0.5e-3, HZ_OPERATING, hx, current)
            bar.step(9.5e-3, HZ_OPERATING, hx, 0.0)
        assert bar.x_um < 0.02 * 20.0, (current, hx)


def test_twenty_pulses_below_hx_500_do_not_integrate():
    for seed in range(5):
        bar = make_bar(seed)
        for _ in range(20):
            bar.step(0.5e-3, HZ_OPERATING, 400.0, I_WRITE)
            bar.step(9.5e-3, HZ_OPERATING, 400.0, 0.0)
        assert bar.x_um < 0.25 * bar.params.x_notch_um
        assert not bar.beyond_notch_p                        # pulses never nucleate


def test_wall_self_resets_in_about_120_ms_with_fields_and_current_off():
    bar = make_bar(4)
    assert pulses_to_fire(bar, 1000.0) is not None
    t_ms = 0
    while bar.x_um > 0.0:
        bar.step(1e-3, 0.0, 0.0, 0.0)
        t_ms += 1
    assert 100 <= t_ms <= 150
    assert quiet_v_uV(bar) == pytest.approx(-75.0, abs=1.5)  # thermal EMF only


def test_saturated_state_resets_by_nucleation_below_h2():
    bar = make_bar(5)
    saturate_p(bar)
    bar.step(0.02, -(bar.params.H2_Oe - 50.0), 0.0, 0.0)
    assert bar.x_um == 0.0 and not bar.beyond_notch_p


# --- SOT, heating, energy -----------------------------------------------------------------

def test_sot_sign_and_saturation():
    bar = make_bar()
    h = bar.h_sot_Oe(I_WRITE, 1000.0)
    assert bar.current_density_A_m2(I_WRITE) == pytest.approx(4e11)
    assert h == pytest.approx(862.0, rel=0.01)
    assert bar.h_sot_Oe(-I_WRITE, 1000.0) == pytest.approx(-h)
    assert bar.h_sot_Oe(I_WRITE, -1000.0) == pytest.approx(-h)
    assert bar.h_sot_Oe(I_WRITE, 1200.0) == pytest.approx(1034.0, rel=0.01)
    assert bar.h_sot_Oe(I_WRITE, 3000.0) == pytest.approx(bar.h_sot_Oe(I_WRITE, 1200.0))
    assert bar.h_sot_Oe(I_WRITE, 0.0) == 0.0


def test_rounded_knee_has_the_clips_slope_and_saturation_but_no_corner():
    sharp, round_ = make_bar(), make_bar(sot_knee=2.0)
    assert round_.sot_shape(1.0) == pytest.approx(sharp.sot_shape(1.0), rel=1e-6)  # slope 1/H_DMI
    assert round_.sot_shape(1e6) == pytest.approx(1.0, rel=1e-6)
    assert round_.sot_shape(1200.0) == pytest.approx(1 / np.sqrt(2))  # x / sqrt(1 + x^2)
    assert round_.sot_shape(-600.0) == pytest.approx(-round_.sot_shape(600.0))
    assert round_.h_sot_Oe(I_WRITE, 1200.0) == pytest.approx(1034.0 / np.sqrt(2), rel=0.01)


def test_joule_heating_and_energy_per_cycle():
    bar = make_bar()
    assert bar.temperature_K(I_WRITE) == pytest.approx(303.0)
    assert 20 * bar.energy_J(I_WRITE, 0.5e-3) == pytest.approx(2e-3)


# --- readout noise and thermal EMF --------------------------------------------------------

def test_noise_scales_as_inverse_sqrt_nplc():
    bar = make_bar(6)
    std = {nplc: np.std([bar.v_ahe_V(I_READ, 0.0, nplc=nplc) for _ in range(4000)])
           for nplc in (1.0, 10.0)}
    assert std[1.0] == pytest.approx(20e-9, rel=0.05)
    assert std[1.0] / std[10.0] == pytest.approx(np.sqrt(10), rel=0.08)


def test_current_reversal_cancels_thermal_emf_a_plain_reading_does_not():
    bar = make_bar(7)
    for t in (0.0, 75.0, 150.0):
        v_plus = bar.v_ahe_V(+I_READ, t, noise=False)
        v_minus = bar.v_ahe_V(-I_READ, t, noise=False)
        assert (v_plus - v_minus) / 2 == pytest.approx(-75e-6, abs=1e-12)
        assert abs(v_plus - (-75e-6)) > 0.5e-6
    assert bar.thermo_emf_V(0.0) != pytest.approx(bar.thermo_emf_V(75.0))  # it drifts


# --- parameters ---------------------------------------------------------------------------

def test_bad_parameters_are_refused_with_name_and_value():
    with pytest.raises(ValueError, match="x_notch_um"):
        DeviceParams(x_notch_um=500.0)
    with pytest.raises(ValueError, match="sense_span_um"):
        DeviceParams(sense_span_um=(5.0, 30.0))
    with pytest.raises(ValueError, match="H_ex_Oe must be > 0, got -1"):
        DeviceParams().with_(H_ex_Oe=-1.0)
    with pytest.raises(ValueError, match="bogus"):
        DeviceParams().with_(bogus=1)
    with pytest.raises(ValueError, match="rv-1504"):
        preset("nope")
    with pytest.raises(ValueError, match="dt_s"):
        make_bar().step(-1.0, 0.0, 0.0, 0.0)


def test_presets_geometry():
    rv = preset("rv-885", Hc_soft_Oe=500.0)
    assert rv.H_ex_Oe == 885.0 and rv.Hc_soft_Oe == 500.0
    assert rv.x_notch_um - rv.hall_bar_x_um == pytest.approx(88.5)
    assert sum(rv.sense_span_um) / 2 == pytest.approx(rv.hall_bar_x_um)
    assert (rv.width_um, rv.length_um) == (5.0, 200.0)
    assert PRESETS["sot-neuron"].H_ex_Oe == 1150.0
