"""Loop-shift analysis recovers the SOT efficiency and H_DMI hidden in synthetic loops."""

import json

import numpy as np
import pytest

from dwlab.procedures.analysis import AnalysisError, analyze_loop_shift

from .synth_analysis import h_sot_Oe, loop_shift_frame

HX = (-2000.0, -800.0, 0.0, 300.0, 600.0, 900.0, 1200.0, 1600.0, 2000.0, 2500.0)


@pytest.mark.parametrize("seed", range(3))
def test_recovers_chi_within_5_and_hdmi_within_15_percent(seed):
    rng = np.random.default_rng(seed)
    h_dmi = rng.uniform(700, 1500)
    hc = rng.uniform(300, 600)
    df = loop_shift_frame(rng, HX, (-3.0, -1.5, 1.5, 3.0), hc=hc, h_dmi=h_dmi)
    r = analyze_loop_shift(df)
    chi_true = h_sot_Oe(1e11, 1e6, h_dmi)  # saturated, per 1e11 A/m²: ~258.5 Oe
    assert r.chi_sat_Oe_per_1e11_A_m2 == pytest.approx(chi_true, rel=0.05)
    assert r.H_DMI_Oe == pytest.approx(h_dmi, rel=0.15)
    # χ is odd in Hx and zero without it: the chirality sets the sign
    by_hx = {s.Hx_Oe: s.chi_Oe_per_1e11_A_m2 for s in r.shifts}
    hx0 = min(by_hx, key=abs)
    assert abs(by_hx[hx0]) < 0.05 * chi_true
    assert by_hx[min(by_hx)] == pytest.approx(-chi_true, rel=0.05)


def test_joule_heating_narrows_without_shifting():
    rng = np.random.default_rng(5)
    r = analyze_loop_shift(loop_shift_frame(rng, (0.0, 600.0, 2000.0), (-3.0, -1.5, 1.5, 3.0)))
    at0 = {lp.J_1e11_A_m2: lp for lp in r.loops if abs(lp.Hx_Oe) < 1}
    # at Hx = 0 there is no SOT shift, and the centre stays at -H_ex for either current sign
    assert at0[3.0].centre_Oe == pytest.approx(-1150, abs=6)
    assert at0[-3.0].centre_Oe == pytest.approx(-1150, abs=6)
    # heating (~1.7 K at 15 mA) narrows the loop more at 3e11 than at 1.5e11 A/m²
    assert at0[3.0].half_width_Oe < at0[1.5].half_width_Oe < 600


def test_summary_is_json_able():
    rng = np.random.default_rng(6)
    s = analyze_loop_shift(loop_shift_frame(rng, (0.0, 600.0, 2000.0), (-3.0, 3.0))).summary()
    json.dumps(s)
    assert s["n_Hx"] == 3.0 and s["n_settings"] == 6.0


def test_unsaturated_chi_cannot_give_hdmi():
    rng = np.random.default_rng(7)
    df = loop_shift_frame(rng, (0.0, 300.0, 600.0, 900.0), (-3.0, 3.0), h_dmi=1200.0)
    with pytest.raises(AnalysisError, match="χ still rising at the largest \\|Hx\\| = 900 Oe"):
        analyze_loop_shift(df)


def test_missing_minus_j_raises():
    rng = np.random.default_rng(8)
    df = loop_shift_frame(rng, (0.0, 600.0, 2000.0), (1.5, 3.0))
    with pytest.raises(AnalysisError, match="has no -J loop"):
        analyze_loop_shift(df)
