"""integrate-reset on the simulated lab, through the real drivers, the Runner and a store."""

import dataclasses

import numpy as np
import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab, LimitError
from dwlab.procedures.base import ParameterError
from dwlab.procedures.hysteresis import Hysteresis
from dwlab.procedures.integrate_reset import IntegrateReset
from dwlab.procedures.pulse_train import PulseTrain
from dwlab.procedures.runner import Runner

from .simlab import make_lab


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """As a user: a hysteresis run, then integrate-reset with its defaults, which takes the
    full swing from that hysteresis (same sample and device). The device's wall position is
    noted (hidden truth, for the test only) whenever a write train starts."""
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('ir')}/runs.sqlite")
    loops = Runner(lab, store).run(Hysteresis(loop="minor", n_loops=1))
    assert loops.status == "finished", loops.error
    at_first_write = []
    start = PulseTrain.start

    def noting_start(self, periods, timing, *currents):
        if timing.write_width_s:
            at_first_write.append(lab.sim.device.x_um)
        return start(self, periods, timing, *currents)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PulseTrain, "start", noting_start)
        outcome = Runner(lab, store).run(IntegrateReset())
    return lab, store, outcome, loops, at_first_write


def test_eight_cycles_integrate_from_ap_to_p_and_reset(default_run):
    lab, store, outcome, loops, at_first_write = default_run
    assert outcome.status == "finished", outcome.error
    result = outcome.analysis.cycles
    p = lab.sim.device.params
    v_ap = -100e-6 * (p.R_h_ohm - p.R_s_ohm) * 1e6  # hard down, soft up: -75 µV
    v_p = -100e-6 * (p.R_h_ohm + p.R_s_ohm) * 1e6  # -120 µV
    # the swing came from the hysteresis run, which the run records
    params = store.get_run(outcome.run_id).parameters
    assert params["hysteresis_run"] == loops.run_id
    assert params["full_swing_uV"] == pytest.approx(
        loops.analysis.V_AP_uV - loops.analysis.V_P_uV)
    assert result.n_cycles == 8 and result.n_fired == 8
    assert result.V_rest_uV == pytest.approx(v_ap, abs=0.5)
    assert result.V_fire_uV == pytest.approx(v_p, abs=0.5)
    assert result.threshold_fluctuation_pct < 1.2
    # the paper's protocol, 20 mA x 0.5 ms every 10 ms at Hx = 1000 Oe: ~1.2 µm per pulse
    assert all(c.pulses_to_fire is not None and 13 <= c.pulses_to_fire <= 20
               for c in result.cycles)
    # the fields alone do not move the wall: it is at rest when the writes start
    assert len(at_first_write) == 8 and max(at_first_write) < 0.5
    assert abs(result.baseline_drift_max_pct) < 2.0 and result.drift_flag.startswith("none")
    df = store.dataframe(outcome.run_id)
    last_reset = df[df["phase"] == 2].groupby("cycle")["V_uV"].apply(lambda v: v.iloc[-20:].mean())
    assert np.allclose(last_reset, v_ap, atol=0.5)
    # the hardware is left safe and the wall is home
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert abs(state["field_z_Oe"]) < 10 and lab.sim.device.x_um == 0.0


def test_reset_is_timed_from_the_gaussmeter_showing_the_field_off(default_run):
    """The reset reads carry the gaussmeter's Hz; the wall is home by the time the field reads
    off (the magnet's ramp-down is reported beside the wall's reset, not inside it)."""
    _, store, outcome, _, _ = default_run
    result = outcome.analysis.cycles
    df = store.dataframe(outcome.run_id)
    reset = df[df["phase"] == 2]
    assert reset["Hz_Oe"].min() < -1500  # the first reset reads still see the field on
    for c in result.cycles:
        assert c.ramp_down_ms is not None and 800 < c.ramp_down_ms < 2000
        assert c.reset_time_ms is not None and c.reset_time_ms < 300
        mine = reset[reset["cycle"] == c.cycle]
        off = mine[mine["Hz_Oe"].abs() < 10.0]
        settled = off[off["t_s"] > off["t_s"].min() + 0.3]  # home within 0.3 s of field off
        assert (settled["V_uV"] - c.V_rest_uV).abs().max() < 0.1 * 45
    assert result.ramp_down_ms_mean == pytest.approx(
        np.mean([c.ramp_down_ms for c in result.cycles]))


def test_points_carry_cycle_pulse_phase_and_settings(default_run):
    lab, store, outcome, _, _ = default_run
    df = store.dataframe(outcome.run_id)
    per_cycle = df.groupby(["cycle", "phase"]).size().unstack()
    assert (per_cycle[0] == 10).all() and (per_cycle[1] == 20).all() and (per_cycle[2] == 200).all()
    writes = df[df["phase"] == 1]
    assert (writes["I_write_mA"] == 20.0).all() and (writes["write_width_ms"] == 0.5).all()
    # the gaussmeter's verified Hz and Hx: within the axis tolerance
    assert (writes["Hz_Oe"] + 1725).abs().max() <= 5.5
    assert writes["Hx_Oe"].between(995, 1005).all()
    baseline = df[df["phase"] == 0]  # the initial state is read with the fields on
    assert (baseline["Hz_Oe"] + 1725).abs().max() <= 5.5 and baseline["Hx_Oe"].min() > 995
    reads = df[df["phase"] != 1]
    assert (reads["I_write_mA"] == 0).all() and (reads["write_width_ms"] == 0).all()
    # instrument timing: one reading per 10 ms period within a 0.1 s segment of the train,
    # and the re-arming's pause between the two segments (pulses 9 and 10)
    steps = np.diff(writes[writes["cycle"] == 0]["t_s"].to_numpy())
    assert np.allclose(np.delete(steps, 9), 0.010) and 0.010 < steps[9] < 0.05


def test_energy_per_train_is_the_papers_2_mj_and_energy_to_fire_counts_pulses_needed(
        default_run):
    _, _, outcome, _, _ = default_run
    result = outcome.analysis.cycles
    # 20 pulses x (20 mA)^2 x 500 Ω x 0.5 ms = 2 mJ per train
    assert result.energy_mJ == pytest.approx(2.0, rel=1e-9)
    for c in result.cycles:  # 0.1 mJ per pulse, up to the pulse that fired
        assert c.energy_to_fire_mJ == pytest.approx(0.1 * c.pulses_to_fire, rel=1e-9)
    assert result.energy_to_fire_mJ == pytest.approx(0.1 * result.pulses_to_fire_mean)


def test_summary_carries_the_lif_neuron_parameters(default_run):
    _, _, outcome, _, _ = default_run
    summary = outcome.analysis.summary()
    assert summary["LIF_V_rest_uV"] == pytest.approx(-75, abs=0.5)
    assert summary["LIF_V_fire_uV"] == pytest.approx(-120, abs=0.5)
    assert summary["LIF_tau_int_ms"] > 0 and summary["LIF_tau_leak_ms"] > 0


def test_a_wall_that_creeps_under_the_fields_alone_is_flagged(store):
    """A device whose wall creeps under Hz alone (the return-velocity samples' creep law at
    the neuron's operating point, ~7 µm/s): the read-only baseline with the fields on drifts
    beyond 2 % of the swing, and the run says so (event and analysis)."""
    lab = make_lab(seed=4, device_overrides={"ln_v0": 29.77, "alpha300": 136.4})
    outcome = Runner(lab, store).run(IntegrateReset(cycles=1, baseline_pulses=30,
                                                    full_swing_uV=45.0))
    assert outcome.status == "finished", outcome.error
    assert outcome.analysis.cycles.baseline_drift_max_pct > 2.0
    assert outcome.analysis.cycles.drift_flag.startswith("DRIFT")
    events = [m for _, kind, m in store.events(outcome.run_id) if kind == "drift"]
    assert len(events) == 1 and "cycle 0" in events[0] and "Hx and Hz on" in events[0]


def test_no_integration_below_hx_500(tmp_path):
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
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
        runner.run(IntegrateReset(Hz_Oe=-4500.0))
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
    lab, store, outcome, _, _ = default_run
    df = store.dataframe(outcome.run_id)
    fig = IntegrateReset().figure(df, outcome.analysis, lab.setup.device)
    overlay = fig.axes[1]
    assert len([line for line in overlay.lines if line.get_label().startswith("cycle")]) == 8
    fig.savefig(tmp_path / "fig.png")


def test_a_fault_while_the_waveform_runs_stops_it_and_leaves_the_lab_safe(tmp_path, monkeypatch):
    """The 2182A times out in the middle of a write train: the Runner's cleanup aborts the
    6221 waveform (its output goes off), ramps both fields to zero and records the cause."""
    from dwlab.procedures import pulse_train

    def lost_voltmeter(self, train, on_readings=None):
        if train.timing.write_width_s:
            self.lab.clock.sleep(0.05)  # five writes into the train
            raise TimeoutError("VI_ERROR_TMO: 2182A did not answer")
        return finish(self, train, on_readings)

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


@pytest.mark.parametrize("period_ms", [10.0, 60.0])
def test_reset_reads_follow_each_other_while_the_field_ramps_down(tmp_path, period_ms):
    """The reset reads go on in segments during the Hz ramp (steps 0.1 s apart): the pause
    between segments is the re-arming's, not a ramp step's, and the 2182A is never asked
    while a trigger may come."""
    from .test_pulse_train import no_query_while_triggers_may_come

    lab = Lab.open("sim")
    broken = no_query_while_triggers_may_come(lab)
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    outcome = Runner(lab, store).run(IntegrateReset(cycles=1, period_ms=period_ms,
                                                    baseline_pulses=2, write_pulses=5,
                                                    reset_reads=40))
    assert outcome.status == "finished", outcome.error
    assert broken == [] and lab.sim.voltmeter.lost_triggers == 0
    reset = store.dataframe(outcome.run_id).query("phase == 2")
    steps_ms = np.diff(reset["t_s"].to_numpy()) * 1e3
    assert len(reset) == 40 and steps_ms.min() > period_ms - 1e-6
    assert steps_ms.max() < period_ms + 5  # the 2 ms re-arming, not a 100 ms ramp step
    # the field was logged past every reading while it moved: no reading holds the last
    # logged field (a segment read before its field is logged would)
    hz = reset["Hz_Oe"].to_numpy()
    moving = np.abs(hz) > 20
    assert np.all(np.diff(hz[moving]) != 0) and abs(hz[-1]) < abs(hz[0]) - 100
