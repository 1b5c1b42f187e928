"""Integration sweep over Hx and J (paper Fig 3b/c) on synthetic SOT-creep cycles."""

import json

import numpy as np
import pandas as pd
import pytest

from dwlab.procedures.analysis import AnalysisError, analyze_integration_sweep

from .synth_analysis import integrate_reset_frame


def sweep_frame(rng, settings, n_cycles=2):
    """Cycles at each (I_mA, Hx_Oe), the cycle count restarting at every setting."""
    parts, t0 = [], 0.0
    for i_mA, hx in settings:
        part = integrate_reset_frame(rng, n_cycles, hx_Oe=hx, i_mA=i_mA, t0_s=t0)
        t0 = part["t_s"].max() + 1.0
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def hx_sweep():
    rng = np.random.default_rng(0)
    df = sweep_frame(rng, [(20.0, hx) for hx in (0, 250, 500, 750, 1000, 1250, 1500)])
    return analyze_integration_sweep(df, R_bar_ohm=500.0, full_swing_uV=45.0)


def test_no_integration_below_about_500_oe(hx_sweep):
    """The paper's Fig 3c: no or slow motion below Hx = 500 Oe; faster as Hx grows."""
    onset = hx_sweep.Hx_onset_Oe[4.0]
    assert 250 < onset < 750
    by_hx = {p.Hx_Oe: p for p in hx_sweep.points}
    assert min(by_hx) == pytest.approx(0, abs=1)
    assert by_hx[min(by_hx)].fraction_integrated < 0.1
    fired = [by_hx[h].pulses_to_fire for h in sorted(by_hx) if by_hx[h].pulses_to_fire]
    # fires at 1000, 1250, 1500 Oe; faster above 1000, the same beyond H_DMI = 1200 Oe
    assert len(fired) == 3 and fired[0] > max(fired[1:])
    assert abs(fired[1] - fired[2]) <= 2
    assert all(p.n_cycles == 2 for p in hx_sweep.points)


def test_more_current_integrates_faster():
    rng = np.random.default_rng(1)
    df = sweep_frame(rng, [(16.0, 1000.0), (20.0, 1000.0), (24.0, 1000.0)])
    r = analyze_integration_sweep(df, 500.0)
    js = [p.J_1e11_A_m2 for p in r.points]
    assert js == pytest.approx([3.2, 4.0, 4.8])
    ptf = [p.pulses_to_fire for p in r.points]
    assert None not in ptf[1:] and (ptf[0] is None or ptf[0] > ptf[1]) and ptf[1] > ptf[2]
    json.dumps(r.summary())


def test_sweep_where_nothing_integrates_needs_the_swing():
    rng = np.random.default_rng(2)
    df = sweep_frame(rng, [(20.0, 0.0), (20.0, 200.0)])
    with pytest.raises(AnalysisError, match="give full_swing_uV"):
        analyze_integration_sweep(df, 500.0)
