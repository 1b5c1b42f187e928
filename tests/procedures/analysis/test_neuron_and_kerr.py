"""LIF parameters of the device, and V_AHE <-> Kerr position comparison."""

import json

import numpy as np
import pytest

from dwlab.procedures.analysis import (
    AnalysisError,
    compare_positions,
    fit_neuron,
    vahe_to_position_um,
)

from .synth_analysis import integrate_reset_frame, step_neuron_uV


def test_lif_levels_and_time_constants_follow_the_physics():
    rng = np.random.default_rng(0)
    slow = fit_neuron(integrate_reset_frame(rng, 3, hx_Oe=800, n_write=40))
    fast = fit_neuron(integrate_reset_frame(rng, 3, hx_Oe=1500, n_write=40))
    weak = fit_neuron(integrate_reset_frame(rng, 3, hx_Oe=1500, n_write=40, h_ex_Oe=900,
                                            n_reset=60))
    assert fast.V_rest_uV == pytest.approx(-75, abs=0.5)
    assert fast.V_fire_uV == pytest.approx(-120, abs=0.5)
    # stronger SOT (larger Hx) integrates faster; the leak is the exchange field's alone
    assert fast.tau_int_ms < 0.6 * slow.tau_int_ms
    assert fast.tau_leak_ms == pytest.approx(slow.tau_leak_ms, rel=0.2)
    # ~0.57 mm/s return over 20 µm: a leak time of tens of ms, slower with a weaker H_ex
    assert 10 < fast.tau_leak_ms < 35
    assert weak.tau_leak_ms > 3 * fast.tau_leak_ms
    json.dumps(fast.summary())


def test_neuron_fit_needs_a_fired_cycle():
    df = integrate_reset_frame(np.random.default_rng(1), 2, hx_Oe=0)
    with pytest.raises(AnalysisError, match="none of 2 cycles fired"):
        fit_neuron(df)


def test_vahe_position_round_trip_and_comparison():
    rng = np.random.default_rng(2)
    x_true = np.linspace(0, 20, 41)
    v = np.array([step_neuron_uV(x, 20.0, rng) for x in x_true])
    x_vahe = vahe_to_position_um(v, -75.0, -120.0, 20.0)
    assert np.max(np.abs(x_vahe - x_true)) < 0.05  # 30 nV noise on 2.25 µV/µm
    kerr = x_true + rng.normal(0, 0.3, x_true.size)  # 1 µm pixels, sub-pixel wall fits
    kerr[5] = np.nan  # a frame where no wall was found
    c = compare_positions(kerr, x_vahe)
    assert c.n_points == 40
    assert abs(c.mean_offset_um) < 0.15 and 0.2 < c.rms_difference_um < 0.4
    json.dumps(c.summary())


def test_position_inputs_are_checked():
    with pytest.raises(AnalysisError, match="no contrast"):
        vahe_to_position_um([1.0], -75.0, -75.0, 20.0)
    with pytest.raises(AnalysisError, match="need one of each per frame"):
        compare_positions([1.0, 2.0], [1.0])
    with pytest.raises(AnalysisError, match="no frame has both"):
        compare_positions([np.nan], [1.0])


def test_field_ramps_before_writes_and_after_them_do_not_bend_the_time_constants():
    """A stage's magnet takes seconds to ramp between baseline and writes, and the wall only
    leaks once the ramp-down lets the exchange field win: neither wait is the neuron's."""
    import pandas as pd

    df = integrate_reset_frame(np.random.default_rng(3), 3, hx_Oe=1500, n_write=40)
    plain = fit_neuron(df)
    cycles = []
    for n, (_, c) in enumerate(df.groupby("cycle")):
        c = c.copy()
        c["t_s"] += 2.5 * n  # room for the waits added below
        c.loc[c["phase"] > 0, "t_s"] += 2.0  # the field ramp after the baseline
        last_write = c[c["phase"] == 1].iloc[-1]
        held = pd.DataFrame([{**last_write.to_dict(), "phase": 2, "pulse": -1,
                              "t_s": last_write["t_s"] + 0.05 * (k + 1)} for k in range(10)])
        reset = c["phase"] == 2
        c.loc[reset, "t_s"] += 0.5  # the wall waits 0.5 s for the ramp-down
        cycles.append(pd.concat([c[~reset], held, c[reset]]))
    ramped = fit_neuron(pd.concat(cycles, ignore_index=True))
    assert ramped.tau_int_ms == pytest.approx(plain.tau_int_ms, rel=0.1)
    assert ramped.tau_leak_ms == pytest.approx(plain.tau_leak_ms, rel=0.25)
    assert ramped.leak_onset_ms == pytest.approx(plain.leak_onset_ms + 500, abs=60)
