"""integrate-reset on the simulated lab, through the real drivers, the Runner and a store."""

import dataclasses

import numpy as np
import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab, LimitError
from dwlab.procedures.base import ParameterError
from dwlab.procedures.integrate_reset import IntegrateReset
from dwlab.procedures.runner import Runner


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('ir')}/runs.sqlite")
    outcome = Runner(lab, store).run(IntegrateReset())
    return lab, store, outcome


def test_eight_cycles_integrate_from_ap_to_p_and_reset(default_run):
    lab, store, outcome = default_run
    assert outcome.status == "finished", outcome.error
    result = outcome.analysis.cycles
    p = lab.sim.device.params
    v_ap = -100e-6 * (p.R_h_ohm - p.R_s_ohm) * 1e6  # hard down, soft up: -75 µV
    v_p = -100e-6 * (p.R_h_ohm + p.R_s_ohm) * 1e6  # -120 µV
    assert result.n_cycles == 8 and result.n_fired == 8
    assert result.V_rest_uV == pytest.approx(v_ap, abs=0.5)
    assert result.V_fire_uV == pytest.approx(v_p, abs=0.5)
    assert result.threshold_fluctuation_pct < 1.2
    # the paper's protocol, 20 mA x 0.5 ms every 10 ms: about 20 pulses to fire. The device
    # model takes ~16 from x = 0 to the notch (the P level); Hz alone creeps the wall 2-5 µm
    # while the magnet's L/R lag brings the last 575 Oe, which saves ~3 pulses. The analysis
    # counts to 90 % of the swing; over seeds 1-4 it takes 9-14 (mean 11), the default seed's
    # realisation has one cycle of 8.
    assert all(c.pulses_to_fire is not None and 8 <= c.pulses_to_fire <= 24
               for c in result.cycles)
    df = store.dataframe(outcome.run_id)
    writes = df[df["phase"] == 1]
    to_notch = writes[writes["V_uV"] < v_p + 1.0].groupby("cycle")["pulse"].min() + 1
    assert len(to_notch) == 8 and to_notch.between(10, 24).all() and to_notch.mean() >= 11
    last_reset = df[df["phase"] == 2].groupby("cycle")["V_uV"].apply(lambda v: v.iloc[-20:].mean())
    assert np.allclose(last_reset, v_ap, atol=0.5)
    # the hardware is left safe and the wall is home
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert abs(state["field_z_Oe"]) < 10 and lab.sim.device.x_um == 0.0


def test_points_carry_cycle_pulse_phase_and_settings(default_run):
    lab, store, outcome = default_run
    df = store.dataframe(outcome.run_id)
    per_cycle = df.groupby(["cycle", "phase"]).size().unstack()
    assert (per_cycle[0] == 10).all() and (per_cycle[1] == 20).all() and (per_cycle[2] == 200).all()
    writes = df[df["phase"] == 1]
    assert (writes["I_write_mA"] == 20.0).all() and (writes["write_width_ms"] == 0.5).all()
    # the gaussmeter's Hz when the train started: within the axis tolerance of -1725 Oe
    assert (writes["Hz_Oe"] + 1725).abs().max() <= 5.5
    assert writes["Hx_Oe"].between(995, 1005).all()
    reads = df[df["phase"] != 1]
    assert (reads["I_write_mA"] == 0).all() and (reads["write_width_ms"] == 0).all()
    # instrument timing: one reading per 10 ms period within a train
    steps = np.diff(writes[writes["cycle"] == 0]["t_s"].to_numpy())
    assert np.allclose(steps, 0.010)


def test_energy_per_cycle_is_the_papers_2_mj(default_run):
    _, _, outcome = default_run
    # 20 pulses x (20 mA)^2 x 500 Ω x 0.5 ms = 2 mJ
    assert 1.8 <= outcome.analysis.cycles.energy_mJ <= 2.2
    assert outcome.analysis.cycles.energy_mJ == pytest.approx(2.0, rel=1e-9)


def test_the_hold_field_keeps_the_wall_home_until_the_writes(default_run):
    """Hz is verified at -H_ex (no drive) and stepped only just before the train: after the
    first 0.5 ms pulse the wall has moved a few µm at most (a verified set_field straight to
    -1725 Oe lets Hz alone creep it 5-9 µm first)."""
    _, store, outcome = default_run
    df = store.dataframe(outcome.run_id)
    first = df[(df["phase"] == 1) & (df["pulse"] == 0)]["V_uV"]
    x_um = 20.0 * (first - -75.0) / (-120.0 - -75.0)
    assert len(x_um) == 8 and (x_um < 7.5).all() and x_um.mean() < 6.5


def test_summary_carries_the_lif_neuron_parameters(default_run):
    _, _, outcome = default_run
    summary = outcome.analysis.summary()
    assert summary["LIF_V_rest_uV"] == pytest.approx(-75, abs=0.5)
    assert summary["LIF_V_fire_uV"] == pytest.approx(-120, abs=0.5)
    assert summary["LIF_tau_int_ms"] > 0 and summary["LIF_tau_leak_ms"] > 0


def test_no_integration_below_hx_500(tmp_path):
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    # Hz alone (the magnet's ramp and settling) creeps the wall a little: keep the fields on
    # for as short as the default run, and compare the writes' effect with the pulse count
    outcome = Runner(lab, store).run(IntegrateReset(cycles=2, Hx_Oe=300.0, reset_reads=150))
    assert outcome.status == "finished", outcome.error
    df = store.dataframe(outcome.run_id)
    writes = df[df["phase"] == 1]
    for _, cycle in writes.groupby("cycle"):
        v = cycle["V_uV"].to_numpy()
        assert v[-1] - v[0] > -8.0  # < 20 % of the swing over 20 pulses at Hx = 300 Oe
        assert v.min() > -100.0  # nowhere near firing (-120 µV)


def test_write_current_beyond_limits_is_refused_before_any_output(tmp_path):
    lab = Lab.open("sim")
    runner = Runner(lab, RunStore(f"sqlite:///{tmp_path}/runs.sqlite"))
    with pytest.raises(LimitError, match="max_current_mA = 25 mA"):
        runner.run(IntegrateReset(write_current_mA=30.0))
    with pytest.raises(LimitError, match="Hz = -4500 Oe exceeds .*max_field_Oe = 4000 Oe"):
        runner.run(IntegrateReset(Hz_hold_Oe=-4500.0))
    # the setup's density limit (5e11 A/m²) bites first in a narrower bar
    lab.setup = dataclasses.replace(
        lab.setup, device=dataclasses.replace(lab.setup.device, width_um=3.0))
    with pytest.raises(LimitError, match="max_current_density_1e11_A_m2"):
        runner.run(IntegrateReset(write_current_mA=20.0))
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert not state["supply_z_output_on"] and state["supply_z_current_A"] == 0.0
    assert state["supply_x_current_A"] == 0.0  # the 643 has no output switch: zero current
    assert lab.sim.device.x_um == 0.0


def test_timing_the_instruments_cannot_run_is_refused():
    with pytest.raises(ParameterError, match="write width = 0.505 ms is not a whole number of 10 µs"):
        IntegrateReset(write_width_ms=0.505)
    with pytest.raises(ParameterError, match="period = 2 ms leaves 0.5 ms .* needs 4 ms"):
        IntegrateReset(period_ms=2.0)
    with pytest.raises(ParameterError, match=r"reset_reads .* = 2000 .*\[1, 1024\]"):
        IntegrateReset(reset_reads=2000)  # one reading per period: the 2182A buffer holds 1024


def test_figure_has_all_cycles(default_run, tmp_path):
    lab, store, outcome = default_run
    df = store.dataframe(outcome.run_id)
    fig = IntegrateReset().figure(df, outcome.analysis, lab.setup.device)
    overlay = fig.axes[1]
    assert len([line for line in overlay.lines if line.get_label().startswith("cycle")]) == 8
    fig.savefig(tmp_path / "fig.png")


def test_a_fault_while_the_waveform_runs_stops_it_and_leaves_the_lab_safe(tmp_path, monkeypatch):
    """The 2182A times out in the middle of a write train: the Runner's cleanup aborts the
    6221 waveform (its output goes off), ramps both fields to zero and records the cause."""
    from dwlab.procedures import pulse_train

    def lost_voltmeter(self, train):
        if train.timing.write_width_s:
            self.lab.clock.sleep(0.05)  # five writes into the train
            raise TimeoutError("VI_ERROR_TMO: 2182A did not answer")
        return finish(self, train)

    finish = pulse_train.PulseTrain.finish
    monkeypatch.setattr(pulse_train.PulseTrain, "finish", lost_voltmeter)
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    outcome = Runner(lab, store).run(IntegrateReset(cycles=2))
    assert outcome.status == "failed" and "2182A did not answer" in outcome.error
    assert lab.sim.source.running is None  # the waveform was aborted, not left running
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert abs(state["field_z_Oe"]) < 10 and abs(state["field_x_Oe"]) < 10
    assert store.get_run(outcome.run_id).status == "failed"
