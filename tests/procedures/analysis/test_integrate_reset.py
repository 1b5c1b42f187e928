"""Integrate/reset analysis on synthetic SOT-creep cycles of the step neuron (Fig 3d-f)."""

import json

import numpy as np
import pandas as pd
import pytest

from dwlab.procedures.analysis import AnalysisError, analyze_integrate_reset

from .synth_analysis import integrate_reset_frame


@pytest.fixture(scope="module")
def paper_run():
    """The paper's protocol: 8 cycles, 10 reads, 20 x 20 mA x 0.5 ms at Hx 1000, Hz -1725 Oe."""
    return integrate_reset_frame(np.random.default_rng(0))


def test_paper_protocol_levels_firing_and_energy(paper_run):
    r = analyze_integrate_reset(paper_run, R_bar_ohm=500.0)
    assert r.n_cycles == 8 and r.n_fired == 8
    assert r.V_rest_uV == pytest.approx(-75, abs=0.5)
    assert r.V_fire_uV == pytest.approx(-120, abs=0.5)
    assert r.threshold_fluctuation_pct < 1.2
    # 20 pulses x (20 mA)² x 500 Ω x 0.5 ms = 2 mJ, the paper's figure
    assert r.energy_mJ == pytest.approx(2.0, rel=1e-9)
    # creep + SOT at Hx = 1000 Oe moves ~1 µm per pulse over the 20 µm span: 90 % in ~15-19
    assert 12 <= r.pulses_to_fire_mean <= 20
    # exchange-driven return at ~0.6 mm/s: 18 µm back in ~31 ms, seen at the next 5 ms read
    assert 25 <= r.reset_time_ms_mean <= 45
    assert r.full_swing_uV == pytest.approx(45, abs=1)


def test_stronger_hx_fires_in_fewer_pulses():
    rng = np.random.default_rng(1)
    slow = analyze_integrate_reset(integrate_reset_frame(rng, 4, hx_Oe=800, n_write=40), 500.0)
    fast = analyze_integrate_reset(integrate_reset_frame(rng, 4, hx_Oe=1500, n_write=40), 500.0)
    assert fast.pulses_to_fire_mean < slow.pulses_to_fire_mean


def test_cycle_that_never_fires_is_reported_not_fatal():
    rng = np.random.default_rng(2)
    fires = integrate_reset_frame(rng, 3, hx_Oe=1000)
    weak = integrate_reset_frame(rng, 1, hx_Oe=300, t0_s=fires["t_s"].max())
    weak["cycle"] = 3
    r = analyze_integrate_reset(pd.concat([fires, weak]), R_bar_ohm=500.0)
    assert [c.fired for c in r.cycles] == [True, True, True, False]
    assert r.cycles[3].pulses_to_fire is None
    assert r.n_fired == 3
    # the weak cycle's partial level does not pollute the threshold statistics
    assert r.threshold_fluctuation_pct < 1.2
    assert r.to_frame()["fired"].tolist() == [True, True, True, False]


def test_nothing_fires_gives_no_firing_statistics():
    r = analyze_integrate_reset(integrate_reset_frame(np.random.default_rng(3), 3, hx_Oe=0), 500.0)
    assert r.n_fired == 0 and r.V_fire_uV is None and r.threshold_fluctuation_pct is None
    s = r.summary()
    json.dumps(s)
    assert s["n_fired"] == 0.0 and "threshold_fluctuation_pct" not in s


def test_given_full_swing_decides_firing():
    """A 45 µV swing from the hysteresis levels: Hx = 500 Oe needs ~90 pulses, 20 do not fire."""
    df = integrate_reset_frame(np.random.default_rng(4), 2, hx_Oe=500)
    r = analyze_integrate_reset(df, 500.0, full_swing_uV=45.0)
    assert r.n_fired == 0
    assert all(abs(c.V_fire_uV - c.V_rest_uV) < 0.9 * 45 for c in r.cycles)


def test_bad_input_raises_clearly(paper_run):
    with pytest.raises(AnalysisError, match="R_bar_ohm = 0"):
        analyze_integrate_reset(paper_run, 0.0)
    no_base = paper_run[paper_run["phase"] != 0]
    with pytest.raises(AnalysisError, match="cycle 0 has 0 baseline reads"):
        analyze_integrate_reset(no_base, 500.0)
    with pytest.raises(AnalysisError, match="missing column.*I_write_mA"):
        analyze_integrate_reset(paper_run.drop(columns="I_write_mA"), 500.0)
