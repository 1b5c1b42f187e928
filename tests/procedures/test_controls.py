"""The paper's control experiments on the simulated SOT neuron, chained after a hysteresis."""

import pytest

from dwlab.procedures.analysis.controls import NAMES
from dwlab.procedures.controls import Controls
from dwlab.procedures.hysteresis import Hysteresis
from dwlab.procedures.runner import Runner

from .simlab import make_lab


def test_controls_do_not_integrate_and_the_reference_fires(store, tmp_path):
    """300 pulses each with the current reversed, Hx reversed, Hx = 0, and read current only:
    < 2 % of the swing (taken from the hysteresis run); the reference fires.

    Under Hz alone the wall creeps 0.05 µm/s: 0.15 µm (0.75 % of the swing) in the 3 s of a
    control on average, in Poisson hops of 0.1 µm, so one control in ~15 goes beyond 2 %
    (0.4 µm) by chance; the seed is fixed."""
    lab = make_lab(seed=8)
    loops = Runner(lab, store).run(Hysteresis(loop="minor", n_loops=1))
    outcome = Runner(lab, store).run(Controls())
    assert outcome.status == "finished", outcome.error
    result = outcome.analysis
    assert result.swing_source.startswith("given")
    assert result.full_swing_uV == pytest.approx(loops.analysis.V_AP_uV - loops.analysis.V_P_uV)
    by_name = {c.name: c for c in result.controls}
    assert list(by_name) == NAMES
    assert by_name["reference"].passed and by_name["reference"].drift_pct > 90
    for name in NAMES[1:]:
        c = by_name[name]
        assert c.n_pulses == 300 and abs(c.drift_pct) < 2.0 and c.passed, c
    assert by_name["reversed current"].I_write_mA == -20.0
    assert by_name["reversed Hx"].Hx_Oe < -990 and abs(by_name["Hx = 0"].Hx_Oe) < 10
    assert by_name["read only"].I_write_mA == 0.0
    assert result.all_passed
    assert store.get_run(outcome.run_id).parameters["hysteresis_run"] == loops.run_id
    procedure = Controls()
    procedure.figure(store.dataframe(outcome.run_id), result, lab.setup.device).savefig(
        tmp_path / "controls.png")


def test_a_device_that_integrates_under_hz_alone_fails_its_controls(store):
    """The return-velocity samples' creep law at the neuron's operating point: Hz alone moves
    the wall ~7 µm/s, so every control integrates and the analysis says they fail."""
    lab = make_lab(seed=6, device_overrides={"ln_v0": 29.77, "alpha300": 136.4})
    outcome = Runner(lab, store).run(Controls(control_pulses=100, full_swing_uV=45.0))
    assert outcome.status == "finished", outcome.error
    controls = [c for c in outcome.analysis.controls if c.name != "reference"]
    assert all(not c.passed and c.drift_pct > 2.0 for c in controls)
    assert not outcome.analysis.all_passed
