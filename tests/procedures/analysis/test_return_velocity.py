"""Return-velocity analysis: crossing times, creep fit and v_max (paper Fig 4)."""

import json

import numpy as np
import pandas as pd
import pytest

from dwlab.procedures.analysis import AnalysisError, analyze_return_velocity, v_max_vs_hex

from .synth_analysis import creep_velocity_um_s, return_frame

SAMPLES = {1504.0: (-1160, -1100, -1050, -1000, -960),
           1220.0: (-1000, -940, -880, -820, -760),
           885.0: (-700, -640, -580, -520, -460),
           645.0: (-480, -420, -360, -300, -250)}


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    return {h: analyze_return_velocity(return_frame(rng, h, hz), 88.5, h)
            for h, hz in SAMPLES.items()}


def test_paper_sample_crossing_time_and_vmax(results):
    r = results[1504.0]
    slowest = r.runs[0]
    # the paper: about 600 s to cross 88.5 µm at Hz = -1160 Oe on the 1504 Oe sample
    assert slowest.H_drive_Oe == pytest.approx(344, abs=1)
    assert 450 < slowest.t_cross_s < 750
    # and v_max ≈ 2500 µm/s extrapolated to Hz = 0
    assert r.v_max_um_s == pytest.approx(creep_velocity_um_s(1504.0), rel=0.10)
    assert 2000 < r.v_max_um_s < 3000


def test_fit_predicts_held_out_fields_within_10_percent():
    rng = np.random.default_rng(1)
    h_ex = 1220.0
    train = analyze_return_velocity(return_frame(rng, h_ex, (-1000, -940, -860, -780)), 88.5, h_ex)
    for hz in (-970, -900, -820):
        measured = analyze_return_velocity(return_frame(rng, h_ex, (hz, hz + 1, hz + 2)), 88.5, h_ex)
        v_meas = np.mean([run.v_um_s for run in measured.runs])
        assert train.predict_velocity(-hz - h_ex) == pytest.approx(v_meas, rel=0.10)


def test_vmax_table_has_one_row_per_sample(results):
    """Fig 4f over several runs of one sample: one point (the mean), its range and count."""
    r885, r1504 = results[885.0], results[1504.0]
    table = v_max_vs_hex([r1504, r885, r885], ["B", "A", "A"])
    assert table["sample"].tolist() == ["A", "B"] and table["n_runs"].tolist() == [2, 1]
    assert table["v_max_um_s"].tolist() == pytest.approx([r885.v_max_um_s, r1504.v_max_um_s])
    with pytest.raises(ValueError, match="2 sample names for 3 results"):
        v_max_vs_hex([r1504, r885, r885], ["B", "A"])


def test_vmax_rises_with_hex(results):
    fig4f = v_max_vs_hex(list(results.values()))
    assert fig4f["H_ex_Oe"].tolist() == [645.0, 885.0, 1220.0, 1504.0]
    assert np.all(np.diff(fig4f["v_max_um_s"]) > 0)


def test_run_that_never_crossed_is_flagged_and_left_out():
    rng = np.random.default_rng(2)
    df = return_frame(rng, 1504.0, (-1100, -1050, -1000, -960))
    stuck = return_frame(rng, 1504.0, (-1300,), t_max_s=300.0)  # needs days to cross
    stuck["run"] = 9
    stuck["t_s"] += df["t_s"].max() + 10
    r = analyze_return_velocity(pd.concat([df, stuck]), 88.5, 1504.0)
    assert r.runs[-1].run == 9 and r.runs[-1].v_um_s is None
    assert sum(run.v_um_s is not None for run in r.runs) == 4
    s = r.summary()
    json.dumps(s)
    assert s["n_crossed"] == 4.0


def test_too_few_runs_raise():
    rng = np.random.default_rng(3)
    df = return_frame(rng, 1504.0, (-1100, -1000))
    with pytest.raises(AnalysisError, match="2 of 2 runs crossed.*needs 3"):
        analyze_return_velocity(df, 88.5, 1504.0)
    with pytest.raises(AnalysisError, match="distance_um = 0"):
        analyze_return_velocity(df, 0.0, 1504.0)
