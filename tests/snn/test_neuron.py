"""The adaptive LIF neuron: the paper's discrete equation, and each device non-ideality."""

import numpy as np
import pytest
import torch

from dwlab.snn.neuron import DeviceLIF, NeuronError, NeuronModel, from_analysis, table1


def run(model, drive, steps, generator=None):
    """Membrane and spikes of one neuron layer under a constant drive."""
    layer = DeviceLIF(model, generator)
    state, us, spikes = None, [], []
    for _ in range(steps):
        s, state = layer(drive, state)
        us.append(state[0].clone())
        spikes.append(s)
    return torch.stack(us), torch.stack(spikes)


def test_table1_neuron_follows_the_papers_discrete_equation():
    model = table1()
    assert (model.tau_int_ms, model.tau_leak_ms, model.V_th_uV, model.V_reset_uV) == (3, 3, 214, 160)
    drive = torch.tensor([0.5, 1.2, 2.0, -1.0])
    us, spikes = run(model, drive, 12)
    # V[t+1] = V[t] + dt/τ_int R I - dt/τ_leak (V - V_reset), in swing units, reset on firing
    for k, d in enumerate(drive.tolist()):
        v, expect_u, expect_s = 0.0, [], []
        for _ in range(12):
            v = v + d / 3 - v / 3
            fired = v > 1.0  # the paper's "surpasses"; snnTorch's Heaviside
            expect_s.append(float(fired))
            v = 0.0 if fired else v
            expect_u.append(v)
        assert np.allclose(us[:, k].numpy(), expect_u, atol=1e-6)
        assert spikes[:, k].tolist() == expect_s
    # drive 0.5 settles at u = 0.5 (never fires); 2.0 fires every other step; -1 goes below rest
    assert spikes[:, 0].sum() == 0 and spikes[:, 2].sum() == 6 and us[-1, 3] < -0.9


def test_pulses_to_fire_quantise_integration():
    """One pulse worth exactly one level: fires on the N-th pulse; under half a level: never."""
    n = 8
    model = NeuronModel(tau_int_ms=1, tau_leak_ms=1e9, V_th_uV=-120, V_reset_uV=-75, dt_ms=1,
                        pulses_to_fire=n)
    us, spikes = run(model, torch.tensor([1 / n, 0.45 / n, 0.55 / n]), 3 * n)
    assert spikes[:, 0].nonzero().flatten().tolist() == [n - 1, 2 * n - 1, 3 * n - 1]
    assert us[:, 1].abs().max() == 0 and spikes[:, 1].sum() == 0
    assert spikes[:, 2].nonzero().flatten().tolist()[0] == n - 1
    levels = us[:, 0].numpy() * n
    assert np.allclose(levels, np.round(levels), atol=1e-5)


def test_pinned_membrane_never_goes_below_rest():
    base = {"tau_int_ms": 3, "tau_leak_ms": 3, "V_th_uV": 214, "V_reset_uV": 160, "dt_ms": 1}
    free, _ = run(NeuronModel(**base), torch.tensor([-2.0]), 5)
    pinned, _ = run(NeuronModel(**base, pinned=True), torch.tensor([-2.0]), 5)
    assert free.min() < -1 and pinned.min() == 0


def test_threshold_spread_is_sigma_of_the_firing_level_redrawn_each_cycle():
    model = NeuronModel(tau_int_ms=3, tau_leak_ms=3, V_th_uV=214, V_reset_uV=160, dt_ms=1,
                        sigma_pct=5)
    assert model.sigma_swing == pytest.approx(0.05 * 214 / 54)
    gen = torch.Generator().manual_seed(3)
    layer = DeviceLIF(model, gen)
    theta = layer.draw_thresholds(torch.zeros(20000))
    assert theta.mean().item() == pytest.approx(1, abs=0.01)
    assert theta.std().item() == pytest.approx(model.sigma_swing, rel=0.03)
    # a neuron that fired draws a new threshold; one that did not keeps its own
    drive = torch.tensor([10.0, 0.0])
    s, (u, th1) = layer(drive, None)
    _, (u, th2) = layer(drive, (u, th1))
    assert s.tolist() == [1.0, 0.0] and th2[0] != th1[0] and th2[1] == th1[1]
    # σ = 0: every threshold exactly 1 (the ideal neuron)
    assert torch.equal(DeviceLIF(table1()).draw_thresholds(torch.zeros(5)), torch.ones(5))


def test_with_tau_scales_the_time_step_so_the_dynamics_are_unchanged():
    fast = table1().with_tau(0.003)
    assert fast.tau_int_ms == fast.tau_leak_ms == 0.003
    assert fast.dt_ms == pytest.approx(0.001) and fast.gain == pytest.approx(table1().gain)


def test_neuron_from_an_integrate_reset_analysis():
    summary = {"LIF_V_rest_uV": -75.0, "LIF_V_fire_uV": -120.0, "LIF_tau_int_ms": 58.0,
               "LIF_tau_leak_ms": 80.0, "threshold_fluctuation_pct": 0.8,
               "pulses_to_fire_mean": 11.6, "n_cycles": 8.0}
    model = from_analysis(summary, period_ms=10.0, source="run 4")
    assert (model.V_reset_uV, model.V_th_uV, model.tau_int_ms, model.tau_leak_ms) == (
        -75.0, -120.0, 58.0, 80.0)
    assert model.dt_ms == 10 and model.sigma_pct == 0.8 and model.pulses_to_fire == 11.6
    assert model.pinned and model.source == "run 4"
    del summary["LIF_tau_int_ms"]
    with pytest.raises(NeuronError, match="run 4: its analysis has no LIF_tau_int_ms"):
        from_analysis({**summary, "LIF_error": "no reset reads"}, 10.0, "run 4")


@pytest.mark.parametrize("rest, fire", [(160.0, 214.0), (-160.0, -214.0)])
def test_a_device_with_table1s_fitted_parameters_is_table1s_neuron(rest, fire):
    """The mapping from a run is faithful: a device fitted to Table 1's levels and time
    constants (either polarity of V_AHE), pulsed once per Table 1's time step, with no spread
    and fine integration steps, fires exactly as Table 1's neuron on a drive that never
    pushes it below rest (where the pinned wall differs)."""
    summary = {"LIF_V_rest_uV": rest, "LIF_V_fire_uV": fire, "LIF_tau_int_ms": 3.0,
               "LIF_tau_leak_ms": 3.0, "threshold_fluctuation_pct": 0.0,
               "pulses_to_fire_mean": 1e6}
    device = from_analysis(summary, period_ms=table1().dt_ms, source="run 1")
    drive = torch.rand(256, generator=torch.Generator().manual_seed(0)) * 3
    u_table1, s_table1 = run(table1(), drive, 40)
    u_device, s_device = run(device, drive, 40)
    assert torch.equal(s_device, s_table1) and s_table1.sum() > 1000
    assert torch.allclose(u_device, u_table1, atol=1e-5)


@pytest.mark.parametrize("change, message", [
    ({"dt_ms": 5.0}, "dt_ms = 5 must not exceed tau_leak_ms = 3"),
    ({"tau_int_ms": 0.0}, "tau_int_ms = 0.0 must be a number > 0"),
    ({"V_th_uV": 160.0}, "must be different numbers"),
    ({"sigma_pct": -1.0}, "sigma_pct = -1.0 must be in"),
    ({"pulses_to_fire": 0.5}, "pulses_to_fire = 0.5 must be >= 1"),
])
def test_impossible_neurons_are_refused_by_name(change, message):
    from dataclasses import replace

    with pytest.raises(NeuronError, match=message):
        replace(table1(), **change)
