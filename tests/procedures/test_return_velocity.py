"""The return-velocity procedure on the simulated lab, through the real drivers, Runner and store.

Ground truth is the simulated device (``lab.sim.device``): its creep law at the drive the
procedure reports. The procedure and its analysis see only what the instruments report.
"""


import numpy as np
import pytest

from dwlab.lab import Lab, LimitError
from dwlab.listener import ListenerBase
from dwlab.procedures.base import ParameterError
from dwlab.procedures.hysteresis import Hysteresis
from dwlab.procedures.return_velocity import ReturnVelocity, v_max_figure
from dwlab.procedures.runner import Runner

from .simlab import make_lab

DISTANCE_UM = 88.5


def true_speed(lab: Lab, drive_Oe: float) -> float:
    return abs(lab.sim.device.velocity_um_s(-drive_Oe, lab.sim.device.params.T0_K))


def nothing_driven(lab: Lab) -> bool:
    """No source output, no magnet current once the coil has decayed (L/R = 0.25 s); what
    field is left is the iron's remanence (3 Oe)."""
    lab.clock.sleep(2.0)
    state = lab.sim.safe_state()
    return (not state["source_output_on"] and state["source_current_A"] == 0.0
            and not state["supply_z_output_on"] and abs(state["supply_z_current_A"]) < 1e-5
            and abs(state["field_z_Oe"]) <= 3.01)


def hysteresis(lab, store, n_loops=1):
    """What a user does first: the minor loop gives H_ex and H_c."""
    outcome = Runner(lab, store).run(Hysteresis(loop="minor", n_loops=n_loops))
    assert outcome.status == "finished", outcome.error
    return outcome


def run(lab, store, **params):
    outcome = Runner(lab, store).run(ReturnVelocity(**params))
    assert outcome.status == "finished", outcome.error
    return outcome


def test_rv1504_chained_after_hysteresis_picks_fields_from_hex_and_hc(store):
    """hysteresis -> return-velocity with its defaults: H_ex and H_c come from the loop (named
    in the analysis), every field drives below H_c, crossings take 20 s to the maximum wait,
    and v_max lands near the paper's 2500 µm/s."""
    lab = make_lab(preset="rv-1504", seed=3)
    loops = hysteresis(lab, store)
    outcome = run(lab, store)
    r = outcome.analysis
    assert r.H_ex_source == f"hysteresis run {loops.run_id}"
    assert r.H_ex_Oe == pytest.approx(loops.analysis.H_ex_Oe)
    params = store.get_run(outcome.run_id).parameters
    assert params["hysteresis_run"] == loops.run_id
    assert params["Hc_soft_Oe"] == pytest.approx(loops.analysis.Hc_soft_Oe)
    events = [m for _, kind, m in store.events(outcome.run_id) if kind == "input"]
    assert events and f"hysteresis run {loops.run_id}" in events[0]
    assert len(r.runs) >= 5 and sum(x.fitted for x in r.runs) >= 5
    for x in r.runs:
        assert x.H_drive_Oe < loops.analysis.Hc_soft_Oe  # wall motion, never nucleation
        assert x.t_cross_s is not None and 15.0 < x.t_cross_s < 900.0
        assert x.v_um_s == pytest.approx(true_speed(lab, x.H_drive_Oe), rel=0.12)
    df = store.dataframe(outcome.run_id)
    first = df[df["run"] == 0]
    assert first["V_uV"].iloc[:20].mean() == pytest.approx(-120.0, abs=0.5)  # P: wall at notch
    assert first["V_uV"].iloc[-20:].mean() == pytest.approx(-75.0, abs=0.5)  # AP: wall passed
    assert r.v_max_um_s == pytest.approx(2500.0, rel=0.3)
    assert nothing_driven(lab)


def test_rv1504_takes_about_600_s_at_minus_1160_oe(store):
    """Fig 4a: the paper's slowest field, given by the user, after a hysteresis run."""
    lab = make_lab(preset="rv-1504", seed=4)
    hysteresis(lab, store)
    r = run(lab, store, Hz_list_Oe="-1160,-1080,-1000").analysis
    slowest = r.runs[0]
    assert slowest.Hz_Oe == pytest.approx(-1160.0, abs=5.0)
    assert 500.0 < slowest.t_cross_s < 700.0


@pytest.mark.timeout(900)  # four hysteresis and four return-velocity runs: minutes under load
def test_v_max_rises_with_h_ex_over_the_four_samples(store, tmp_path):
    """Fig 4f: the faster the exchange field, the faster the wall returns at Hz = 0."""
    results = []
    for name in ("rv-645", "rv-885", "rv-1220", "rv-1504"):
        lab = make_lab(preset=name, seed=1)
        hysteresis(lab, store)
        results.append(run(lab, store).analysis)
    v_max = [r.v_max_um_s for r in results]
    assert np.all(np.diff(v_max) > 0), v_max
    truth = [np.exp(29.77 - 136.4 * h**-0.25) for h in (645.0, 885.0, 1220.0, 1504.0)]
    assert v_max == pytest.approx(truth, rel=0.3)
    fig = v_max_figure(results)
    fig.savefig(tmp_path / "fig4f.png")
    assert (tmp_path / "fig4f.png").stat().st_size > 0


@pytest.mark.parametrize("seed", [11, 12])
def test_creep_fit_predicts_held_out_velocities_of_a_random_device(store, seed):
    """Device constants drawn at random (seeded), hidden from the procedures: hysteresis ->
    return-velocity with its own choice of fields; the fit predicts v within 10 % at drives
    between the measured ones."""
    rng = np.random.default_rng(seed)
    overrides = {"ln_v0": rng.uniform(28.5, 31.0), "alpha300": rng.uniform(125.0, 145.0),
                 "H_ex_Oe": rng.uniform(1000.0, 1600.0)}
    lab = make_lab(preset="rv-1504", seed=seed, device_overrides=overrides)
    # the default three loops: at a 350 Oe drive 1 Oe of H_ex is 2 % of v, and single
    # loops scatter by ~3 Oe
    loops = hysteresis(lab, store, n_loops=3)
    assert loops.analysis.H_ex_Oe == pytest.approx(overrides["H_ex_Oe"], rel=0.03)
    r = run(lab, store).analysis
    drives = sorted(x.H_drive_Oe for x in r.runs if x.fitted)
    assert len(drives) >= 5
    held_out = (np.array(drives[:-1]) + np.array(drives[1:])) / 2
    predicted = r.predict_velocity(held_out)
    truth = [true_speed(lab, d) for d in held_out]
    assert predicted == pytest.approx(truth, rel=0.10)
    assert r.alpha_Oe_quarter == pytest.approx(overrides["alpha300"], rel=0.1)


def test_without_a_hysteresis_run_the_procedure_refuses_to_guess(store):
    lab = make_lab(preset="rv-1504")
    with pytest.raises(ParameterError, match="no finished hysteresis run of sample .*rv-1504"):
        Runner(lab, store).run(ReturnVelocity())
    assert store.list_runs() == [] and lab.clock.now() == 0.0


def test_a_drive_beyond_the_measured_hc_is_refused(store):
    lab = make_lab(preset="rv-1504", seed=2)
    hysteresis(lab, store)  # H_ex ~1504, H_c ~600: Hz = -800 drives 704 Oe
    with pytest.raises(ParameterError, match="beyond the measured H_c .*nucleation"):
        Runner(lab, store).run(ReturnVelocity(Hz_list_Oe="-1100,-800"))


def test_the_sot_neuron_has_no_hall_bar_to_time_and_says_so(store):
    """The default simulated device (the SOT neuron, notch 20 µm from the junction) cannot
    time a return over 88.5 µm: refused with a clear message, not 'finished' with nothing."""
    lab = make_lab()
    hysteresis(lab, store)
    with pytest.raises(LimitError, match="cannot time a return .*--preset rv-1504"):
        Runner(lab, store).run(ReturnVelocity())


def test_a_wall_that_never_returns_fails_the_run_saying_why(store):
    """A sample whose wall creeps too slowly below H_c: the strongest allowed drive does not
    bring it back within max_wait_s, and the run fails with that reason."""
    lab = make_lab(preset="rv-1504", seed=2, device_overrides={"ln_v0": 20.0})
    hysteresis(lab, store)
    outcome = Runner(lab, store).run(ReturnVelocity(max_wait_s=60.0))
    assert outcome.status == "failed"
    assert "did not return within max_wait_s = 60 s" in outcome.error
    assert "nothing to time" in outcome.error
    assert nothing_driven(lab)


def test_no_arrival_within_the_wait_is_reported_not_invented(store):
    """A given field too weak to return the wall in max_wait_s: that run has no velocity."""
    lab = make_lab(preset="rv-1504", seed=2)
    outcome = run(lab, store, Hz_list_Oe="-1300,-1080,-1040,-1000", max_wait_s=200.0,
                  H_ex_Oe=1504.0, Hc_soft_Oe=600.0)  # given: measured on another setup
    assert outcome.analysis.H_ex_source.startswith("given")
    slow = outcome.analysis.runs[0]
    assert slow.v_um_s is None and slow.t_cross_s is None
    assert all(x.v_um_s is not None for x in outcome.analysis.runs[1:])
    df = store.dataframe(outcome.run_id)
    assert df[df["run"] == 0]["t_s"].max() == pytest.approx(200.0, abs=2.0)


class AbortAt(ListenerBase):
    def __init__(self, runner, percent):
        self.runner, self.percent = runner, percent

    def on_event(self, kind, msg):
        if kind == "progress" and float(msg) >= self.percent:
            self.runner.abort()


def test_abort_during_a_wait_leaves_source_off_and_fields_zero(store):
    lab = make_lab(preset="rv-1504")
    runner = Runner(lab, store)
    runner.listeners.append(AbortAt(runner, 20.0))
    outcome = runner.run(ReturnVelocity(H_ex_Oe=1504.0, Hc_soft_Oe=600.0))
    assert outcome.status == "aborted"
    assert store.get_run(outcome.run_id).status == "aborted"
    assert lab.clock.now() < 900.0  # stopped in the second field's wait, not after all five
    assert nothing_driven(lab)


@pytest.mark.parametrize("params, message", [
    ({"Hz_list_Oe": "-1160,200"}, "Hz = 200 Oe drives the wall with 1704 Oe, beyond the measured H_c"),
    ({"Hz_list_Oe": "-1160,-1600"}, "Hz = -1600 Oe does not oppose"),
    ({"Hz_list_Oe": "-1160,abc"}, "not a list of numbers"),
    ({"Hz_saturate_Oe": -1400.0}, "does not saturate"),
    ({"H_ex_Oe": 1504.0}, "give both H_ex_Oe and Hc_soft_Oe"),
    ({"reading_interval_s": 0.03, "nplc": 2.0}, "aperture"),
    ({"reading_interval_s": 0.02, "max_wait_s": 5000.0, "nplc": 0.1}, "6221 buffer"),
])
def test_bad_parameters_are_refused_by_name(params, message):
    given = {"H_ex_Oe": 1504.0, "Hc_soft_Oe": 600.0} if "H_ex_Oe" not in params else {}
    with pytest.raises(ParameterError, match=message):
        ReturnVelocity(**given, **params)


def test_fields_beyond_the_setup_limit_are_refused_before_any_output(store):
    lab = make_lab(preset="rv-1504")
    procedure = ReturnVelocity(Hz_saturate_Oe=-4500.0, H_ex_Oe=1504.0, Hc_soft_Oe=600.0)
    with pytest.raises(LimitError, match="max_field_Oe = 4000"):
        Runner(lab, store).run(procedure)
    assert lab.clock.now() == 0.0  # nothing ramped, nothing waited
    assert nothing_driven(lab)
    assert store.list_runs() == []
