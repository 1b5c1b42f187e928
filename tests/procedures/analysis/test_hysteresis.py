"""Hysteresis analysis recovers switching fields hidden in synthetic loops (docs/physics.md §2)."""

import json

import numpy as np
import pytest

from dwlab.procedures.analysis import AnalysisError, analyze_hysteresis

from .synth_analysis import hysteresis_frame


@pytest.mark.parametrize("seed", range(5))
def test_recovers_hex_and_hc_within_3_percent(seed):
    rng = np.random.default_rng(seed)
    h_ex = rng.uniform(600, 1500)
    hc = rng.uniform(150, 0.6 * h_ex)
    df = hysteresis_frame(rng, h_ex, hc, n_minor=3, spread_Oe=rng.uniform(1, 5))
    r = analyze_hysteresis(df)
    assert r.H_ex_Oe == pytest.approx(h_ex, rel=0.03)
    assert r.Hc_soft_Oe == pytest.approx(hc, rel=0.03)
    assert r.H1_Oe == pytest.approx(h_ex + hc, rel=0.03)
    assert r.H2_Oe == pytest.approx(h_ex - hc, rel=0.03)
    assert r.hard_sign == -1
    assert r.n_sweeps == 6
    assert 0 < r.H1_spread_Oe < 15


def test_levels_are_the_papers_four_and_ap_p_assigned():
    rng = np.random.default_rng(11)
    r = analyze_hysteresis(hysteresis_frame(rng, 1150, 600))
    assert np.allclose(r.levels_uV, (-120, -75, 75, 120), atol=1.5)
    assert r.V_AP_uV == pytest.approx(-75, abs=1.5)
    assert r.V_P_uV == pytest.approx(-120, abs=1.5)


def test_minor_loop_only_gives_two_levels():
    rng = np.random.default_rng(3)
    r = analyze_hysteresis(hysteresis_frame(rng, 1150, 600, major=False))
    assert len(r.levels_uV) == 2
    assert r.levels_uV == pytest.approx((-120, -75), abs=1.5)


def test_hard_layer_up_mirrors_the_loop():
    """With the hard layer along +z the minor loop sits at +Hz; magnitudes are unchanged."""
    rng = np.random.default_rng(4)
    df = hysteresis_frame(rng, 1000, 400, major=False)
    df["Hz_Oe"] *= -1
    df["V_uV"] *= -1
    df["branch"] *= -1
    r = analyze_hysteresis(df)
    assert r.hard_sign == 1
    assert r.H_ex_Oe == pytest.approx(1000, rel=0.03)
    assert r.Hc_soft_Oe == pytest.approx(400, rel=0.03)


def test_summary_is_flat_and_json_able():
    rng = np.random.default_rng(5)
    s = analyze_hysteresis(hysteresis_frame(rng, 1150, 600)).summary()
    json.dumps(s)
    assert all(isinstance(v, (float, str)) for v in s.values())
    assert s["H_ex_Oe"] == pytest.approx(1150, rel=0.03)
    assert s["level3_uV"] == pytest.approx(120, abs=1.5)


def test_sweep_that_misses_h1_raises_naming_the_branch():
    rng = np.random.default_rng(6)
    # minor loop stops at -1500 Oe, short of H1 = 1750 Oe: the soft layer never switches
    df = hysteresis_frame(rng, 1150, 600, major=False, minor_span=(-100.0, -1500.0))
    with pytest.raises(AnalysisError, match=r"no switching found on the (up|down) branch.*µV < 5 µV"):
        analyze_hysteresis(df)


def test_no_minor_loop_raises():
    rng = np.random.default_rng(7)
    df = hysteresis_frame(rng, 1150, 600, n_minor=0)
    with pytest.raises(AnalysisError, match="minor loop"):
        analyze_hysteresis(df)


def test_too_few_points_and_missing_columns_raise():
    rng = np.random.default_rng(8)
    df = hysteresis_frame(rng, 1150, 600, major=False)
    with pytest.raises(AnalysisError, match="need at least 4"):
        analyze_hysteresis(df.iloc[::200])
    with pytest.raises(AnalysisError, match="missing column.*branch"):
        analyze_hysteresis(df.drop(columns="branch"))
