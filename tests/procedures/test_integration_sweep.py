"""integration-sweep on the simulated lab: integration speeds up with J and with Hx."""

import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab, LimitError
from dwlab.procedures.hysteresis import Hysteresis
from dwlab.procedures.integration_sweep import IntegrationSweep
from dwlab.procedures.runner import Runner


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """As a user: a hysteresis run gives the full swing, then the sweep."""
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('is')}/runs.sqlite")
    assert Runner(lab, store).run(Hysteresis(loop="minor", n_loops=1)).ok
    procedure = IntegrationSweep(J_list_1e11_A_m2="3.5,4,4.5",
                                 Hx_list_Oe="0,250,500,750,1000,1500", write_pulses=60)
    outcome = Runner(lab, store).run(procedure)
    return lab, store, procedure, outcome


def test_integration_is_faster_with_j_and_with_hx(sweep):
    _, _, _, outcome = sweep
    assert outcome.status == "finished", outcome.error
    table = outcome.analysis.to_frame()
    by_j = table[table["Hx_Oe"].between(990, 1010)].sort_values("J_1e11_A_m2")
    by_hx = table[table["J_1e11_A_m2"] == 4.0].sort_values("Hx_Oe")
    assert list(by_j["J_1e11_A_m2"]) == [3.5, 4.0, 4.5]
    assert by_j["pulses_to_fire"].is_monotonic_decreasing
    assert by_j["pulses_to_fire"].iloc[0] > 1.5 * by_j["pulses_to_fire"].iloc[-1]
    fired = by_hx.dropna(subset=["pulses_to_fire"])
    assert fired["pulses_to_fire"].is_monotonic_decreasing
    low = by_hx[by_hx["Hx_Oe"] < 500]
    assert low["pulses_to_fire"].isna().all()


def test_no_integration_without_hx_and_an_onset_between_500_and_800_oe(sweep):
    """The paper's Fig 3c: no or slow motion below Hx = 500 Oe; SOT needs Hx to act."""
    _, store, _, outcome = sweep
    result = outcome.analysis
    assert result.full_swing_uV == pytest.approx(45.0, rel=0.02)  # from the hysteresis run
    table = result.to_frame()
    at_j4 = table[table["J_1e11_A_m2"] == 4.0].set_index("Hx_Oe", drop=False)
    assert at_j4.loc[at_j4["Hx_Oe"].abs() < 10, "fraction_integrated"].abs().max() < 0.02
    assert at_j4.loc[at_j4["Hx_Oe"].between(240, 260), "fraction_integrated"].max() < 0.02
    assert 500.0 < result.Hx_onset_Oe[4.0] < 800.0


def test_each_setting_starts_from_the_reset_state(sweep):
    _, store, _, outcome = sweep
    df = store.dataframe(outcome.run_id)
    rest = df[df["phase"] == 0].groupby("cycle")["V_uV"].mean()
    assert rest.between(-75.5, -74.5).all()
    assert sorted(df["J_1e11_A_m2"].unique()) == [3.5, 4.0, 4.5]


def test_density_beyond_the_bar_limit_is_refused_before_output(tmp_path):
    lab = Lab.open("sim")
    with pytest.raises(LimitError, match=r"J = 5.5e11 A/m² = 27.5 mA exceeds the setup.s limit"):
        Runner(lab).run(IntegrationSweep(J_list_1e11_A_m2="4,5.5", Hx_list_Oe=""))
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["supply_z_current_A"] == 0.0


def test_figure_shows_both_sweeps(sweep, tmp_path):
    lab, store, procedure, outcome = sweep
    fig = procedure.figure(store.dataframe(outcome.run_id), outcome.analysis, lab.setup.device)
    assert [len(ax.lines) for ax in fig.axes] == [3, 6]
    fig.savefig(tmp_path / "sweep.png")


def test_a_sweep_with_nothing_to_sweep_is_refused():
    from dwlab.procedures.base import ParameterError
    from dwlab.procedures.integration_sweep import IntegrationSweep

    with pytest.raises(ParameterError, match="both empty: nothing to sweep"):
        IntegrationSweep(J_list_1e11_A_m2="", Hx_list_Oe="")
