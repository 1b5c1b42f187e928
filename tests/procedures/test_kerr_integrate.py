"""kerr-integrate on the simulated lab: Kerr images and V_AHE place the wall alike, and where the
model has it (``lab.sim.device.x_um``, read by the test only)."""

import numpy as np
import pytest

from dwlab.lab import LimitError
from dwlab.procedures.base import ParameterError
from dwlab.procedures.kerr_integrate import KerrIntegrate
from dwlab.procedures.runner import Runner

from .simlab import make_lab


def model_positions_at_reads(lab, monkeypatch) -> list[float]:
    """The model's wall position each time the procedure reads a V_AHE level."""
    seen = []
    original = KerrIntegrate._read_level

    def spy(self, trains):
        seen.append(lab.sim.device.x_um)
        return original(self, trains)

    monkeypatch.setattr(KerrIntegrate, "_read_level", spy)
    return seen


@pytest.mark.parametrize("seed", [0, 5])
def test_kerr_and_vahe_positions_agree_with_each_other_and_the_model(store, monkeypatch, seed):
    lab = make_lab(seed)
    truth = model_positions_at_reads(lab, monkeypatch)
    outcome = Runner(lab, store).run(KerrIntegrate())
    assert outcome.status == "finished", outcome.error
    r = outcome.analysis
    assert (r.V_AP_uV, r.V_P_uV) == pytest.approx((-75.0, -120.0), abs=0.5)
    x_model = np.array(truth[1:-1])  # the step reads: not the rest or saturated level
    assert r.comparison.n_points == 16
    assert r.comparison.max_abs_difference_um < 1.0  # within a pixel of each other
    assert np.abs(np.array(r.x_kerr_um) - x_model).max() < 1.0
    assert np.abs(np.array(r.x_vahe_um) - x_model).max() < 1.0
    # the wall integrates forward step by step and stops at the notch
    assert x_model[0] > 0.2 and np.all(np.diff(x_model) >= 0)
    assert r.x_kerr_um[-1] == pytest.approx(20.0, abs=1.0)


def test_images_are_stored_with_the_run(store, tmp_path):
    lab = make_lab()
    outcome = Runner(lab, store).run(KerrIntegrate(steps=3, pulses_per_step=2))
    images = store.images(outcome.run_id)
    kinds = [meta["kind"] for _, _, meta in images]
    assert kinds == ["reference", "differential", "differential", "differential"]
    assert [meta.get("pulses") for _, _, meta in images[1:]] == [2, 4, 6]
    times = [t for t, _, _ in images]
    assert np.all(np.diff(times) > 0)
    assert images[1][1].shape == lab.kerr.camera.shape
    fig = KerrIntegrate(steps=3).figure(store.dataframe(outcome.run_id), outcome.analysis,
                                        lab.setup.device, images)
    fig.savefig(tmp_path / "kerr.png")
    assert (tmp_path / "kerr.png").stat().st_size > 0


def test_run_ends_with_source_off_and_no_magnet_current(store):
    lab = make_lab()
    outcome = Runner(lab, store).run(KerrIntegrate(steps=2))
    assert outcome.ok
    lab.clock.sleep(2.0)  # the coils' L/R decay
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert abs(state["supply_z_current_A"]) < 1e-5 and abs(state["supply_x_current_A"]) < 1e-5
    assert lab.sim.device.x_um == 0.0  # the wall is home again


@pytest.mark.parametrize("params, error, message", [
    ({"write_current_mA": 30.0}, LimitError, "max_current_mA = 25"),
    ({"Hz_saturate_Oe": -4500.0}, LimitError, "max_field_Oe = 4000"),
])
def test_beyond_the_setup_limits_is_refused_before_any_output(store, params, error, message):
    lab = make_lab()
    with pytest.raises(error, match=message):
        Runner(lab, store).run(KerrIntegrate(**params))
    assert lab.clock.now() == 0.0
    assert not lab.sim.safe_state()["source_output_on"]


@pytest.mark.parametrize("params, message", [
    ({"Hz_saturate_Oe": -1400.0}, "must be beyond Hz"),
    ({"write_width_ms": 9.0}, "period_ms"),
    ({"steps": 0}, "steps"),
])
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ParameterError, match=message):
        KerrIntegrate(**params)
