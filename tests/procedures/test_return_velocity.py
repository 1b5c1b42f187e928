"""The return-velocity procedure on the simulated lab, through the real drivers, Runner and store.

Ground truth is the simulated device (``lab.sim.device``): its creep law at the drive the
procedure reports. The procedure and its analysis see only what the instruments report.
"""


import numpy as np
import pytest

from dwlab.lab import Lab, LimitError
from dwlab.listener import ListenerBase
from dwlab.procedures.base import ParameterError
from dwlab.procedures.return_velocity import ReturnVelocity, v_max_figure
from dwlab.procedures.runner import Runner

from .simlab import make_lab

DISTANCE_UM = 88.5
DRIVES_OE = (345.0, 385.0, 425.0, 465.0, 505.0)  # |h - H_ex|: ~600 s down to ~33 s at rv-1504


def fields_for(h_ex: float, drives=DRIVES_OE) -> str:
    """Opposing Hz values giving these return drives: h = -Hz = H_ex - drive."""
    return ",".join(f"{-(h_ex - d):.0f}" for d in drives)


def true_speed(lab: Lab, drive_Oe: float) -> float:
    return abs(lab.sim.device.velocity_um_s(-drive_Oe, lab.sim.device.params.T0_K))


def h_ex_as_measured(lab: Lab) -> float:
    """H_ex as a hysteresis run with this lab's gaussmeter reports it: the Hall probe's offset
    (a few Oe, unzeroed) shifts H1 and H2 alike, and cancels again in h - H_ex."""
    offset = lab.sim.responders()["gaussmeter_z"].probe_offset_Oe
    return lab.sim.device.params.H_ex_Oe - offset


def nothing_driven(lab: Lab) -> bool:
    """No source output, no magnet current once the coil has decayed (L/R = 0.25 s); what
    field is left is the iron's remanence (3 Oe)."""
    lab.clock.sleep(2.0)
    state = lab.sim.safe_state()
    return (not state["source_output_on"] and state["source_current_A"] == 0.0
            and not state["supply_z_output_on"] and abs(state["supply_z_current_A"]) < 1e-5
            and abs(state["field_z_Oe"]) <= 3.01)


def run(lab, store, **params):
    outcome = Runner(lab, store).run(ReturnVelocity(**params))
    assert outcome.status == "finished", outcome.error
    return outcome


def test_rv1504_paper_numbers_levels_and_timing(store):
    """Fig 4: ~600 s to Hall bar 1 at Hz = -1160 Oe, V steps P -> AP, v_max ≈ 2500 µm/s."""
    lab = make_lab(preset="rv-1504", seed=3)
    outcome = run(lab, store, H_ex_Oe=h_ex_as_measured(lab))  # default fields are rv-1504's
    r = outcome.analysis
    df = store.dataframe(outcome.run_id)
    first = df[df["run"] == 0]
    assert first["V_uV"].iloc[:20].mean() == pytest.approx(-120.0, abs=0.5)  # P: wall at notch
    assert first["V_uV"].iloc[-20:].mean() == pytest.approx(-75.0, abs=0.5)  # AP: wall passed
    assert first["t_s"].min() < 0.2  # points start at the field's arrival (analysis's t = 0)
    slowest = r.runs[0]
    assert slowest.Hz_Oe == pytest.approx(-1160.0, abs=5.0)
    assert 500.0 < slowest.t_cross_s < 700.0
    for run_ in r.runs:  # each crossing time against the model's creep law at that drive
        assert run_.v_um_s == pytest.approx(true_speed(lab, run_.H_drive_Oe), rel=0.12)
    assert r.v_max_um_s == pytest.approx(2500.0, rel=0.15)
    assert nothing_driven(lab)


def test_v_max_rises_with_h_ex_over_the_four_samples(store, tmp_path):
    """Fig 4f: the faster the exchange field, the faster the wall returns at Hz = 0."""
    results = []
    for preset, h_ex in (("rv-645", 645.0), ("rv-885", 885.0), ("rv-1220", 1220.0),
                         ("rv-1504", 1504.0)):
        lab = make_lab(preset=preset, seed=1)
        outcome = run(lab, store, Hz_list_Oe=fields_for(h_ex), H_ex_Oe=h_ex_as_measured(lab))
        results.append(outcome.analysis)
    v_max = [r.v_max_um_s for r in results]
    assert np.all(np.diff(v_max) > 0), v_max
    truth = [np.exp(29.77 - 136.4 * h**-0.25) for h in (645.0, 885.0, 1220.0, 1504.0)]
    assert v_max == pytest.approx(truth, rel=0.2)
    fig = v_max_figure(results)
    fig.savefig(tmp_path / "fig4f.png")
    assert (tmp_path / "fig4f.png").stat().st_size > 0


@pytest.mark.parametrize("seed", [11, 12])
def test_creep_fit_predicts_held_out_velocities_of_a_random_device(store, seed):
    """Device constants drawn at random (seeded), hidden from the analysis: the fit predicts v
    within 10 % at drives between and around the measured ones."""
    rng = np.random.default_rng(seed)
    overrides = {"ln_v0": rng.uniform(28.5, 31.0), "alpha300": rng.uniform(125.0, 145.0),
                 "H_ex_Oe": rng.uniform(1000.0, 1600.0)}
    lab = make_lab(preset="rv-1504", seed=seed, device_overrides=overrides)
    device = lab.sim.device
    # an experimenter picks fields whose crossings take 20 s to 10 min: here from the model
    drives = np.linspace(300.0, 590.0, 60)
    times = np.array([DISTANCE_UM / true_speed(lab, d) for d in drives])
    usable = drives[(times > 20.0) & (times < 600.0)]
    assert len(usable) > 10, "draw leaves no timeable fields; widen the drive grid"
    measured = np.linspace(usable[0], usable[-1], 5)
    held_out = (measured[:-1] + measured[1:]) / 2
    h_ex = h_ex_as_measured(lab)
    outcome = run(lab, store, Hz_list_Oe=fields_for(h_ex, measured), H_ex_Oe=h_ex)
    r = outcome.analysis
    assert sum(x.v_um_s is not None for x in r.runs) == 5
    predicted = r.predict_velocity(held_out)
    truth = [true_speed(lab, d) for d in held_out]
    assert predicted == pytest.approx(truth, rel=0.10)
    assert r.alpha_Oe_quarter == pytest.approx(device.params.alpha300, rel=0.1)


def test_no_arrival_within_the_wait_is_reported_not_invented(store):
    """A field too weak to return the wall in max_wait_s: that run has no velocity."""
    lab = make_lab(preset="rv-1504", seed=2)
    outcome = run(lab, store, Hz_list_Oe="-1300,-1080,-1040,-1000", max_wait_s=200.0)
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
    outcome = runner.run(ReturnVelocity())
    assert outcome.status == "aborted"
    assert store.get_run(outcome.run_id).status == "aborted"
    assert lab.clock.now() < 900.0  # stopped in the second field's wait, not after all five
    assert nothing_driven(lab)


@pytest.mark.parametrize("params, message", [
    ({"Hz_list_Oe": "-1160,200"}, "Hz = 200"),
    ({"Hz_list_Oe": "-1160,-1600"}, "-H_ex_Oe = -1504"),
    ({"Hz_list_Oe": "-1160,abc"}, "not a list of numbers"),
    ({"Hz_saturate_Oe": -1400.0}, "does not saturate"),
    ({"reading_interval_s": 0.03, "nplc": 2.0}, "aperture"),
    ({"reading_interval_s": 0.02, "max_wait_s": 5000.0, "nplc": 0.1}, "6221 buffer"),
])
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ParameterError, match=message):
        ReturnVelocity(**params)


def test_fields_beyond_the_setup_limit_are_refused_before_any_output(store):
    lab = make_lab(preset="rv-1504")
    procedure = ReturnVelocity(Hz_saturate_Oe=-4500.0)
    with pytest.raises(LimitError, match="max_field_Oe = 4000"):
        Runner(lab, store).run(procedure)
    assert lab.clock.now() == 0.0  # nothing ramped, nothing waited
    assert nothing_driven(lab)
    assert store.list_runs() == []
