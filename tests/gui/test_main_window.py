"""Runs started from the console on the simulated lab: live plot, status, analysis, Abort,
and closing the window during a run."""

from __future__ import annotations

import numpy as np
import pytest

from dwlab.gui.main_window import installed_procedures

from .conftest import RUN_TIMEOUT_MS, choose

pytestmark = pytest.mark.skipif("integrate-reset" not in installed_procedures()[0],
                                reason="integrate-reset is not installed yet")

ENDED = ("finished", "aborted", "failed")


def assert_lab_safe(lab):
    state = lab.sim.safe_state()
    assert state["source_output_on"] is False
    assert state["source_current_A"] == 0
    for axis in ("z", "x"):
        cfg = lab.setup.fields[axis]
        # the Kepco's output goes off; the 643's stays on (it always is) at zero setpoint
        assert abs(state[f"supply_{axis}_current_A"]) * cfg.oe_per_amp <= cfg.tolerance_Oe, state
        assert abs(state[f"field_{axis}_Oe"]) <= cfg.remanence_Oe + cfg.tolerance_Oe, state


def test_one_integrate_reset_cycle_plots_every_point_and_shows_the_analysis(qtbot, window,
                                                                            store, lab, tmp_path):
    choose(window, "integrate-reset", cycles=1, baseline_pulses=5, write_pulses=10,
           reset_reads=50)
    assert window.start_run()
    assert not window.start_button.isEnabled() and window.abort_button.isEnabled()
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)  # let pyqtgraph lay out its axes before the screenshot
    window.grab().save(str(tmp_path / "integrate_reset_after_run.png"))

    assert window.status == "finished"
    (run,) = store.list_runs()
    assert run.status == "finished" and run.n_points == 5 + 10 + 50
    assert window.plot.point_count == run.n_points
    x, y = window.plot.data()  # all, not the drawn subset
    df = store.dataframe(run.id)
    assert window.plot.x_column == "t_s"
    np.testing.assert_allclose(y, df["V_uV"])  # every point, in order
    np.testing.assert_allclose(x, df["t_s"] - df["t_s"][0])  # time from the run start
    assert set(window.plot.drawn()) == {0, 1, 2}  # the three phases, each its own colour
    assert len(window.plot._levels) == 2  # V_rest and V_fire from the analysis
    # the write pulses moved the wall: V_AHE swings between rest and firing levels
    assert np.ptp(y) > 20  # µV
    summary = window.result.toPlainText()
    assert "pulses_to_fire_mean" in summary and "V_fire_uV" in summary
    assert window.progress.value() == window.progress.maximum()
    assert window.start_button.isEnabled() and not window.abort_button.isEnabled()
    assert window.browser.run_ids() == [run.id]  # the browser already lists it
    assert_lab_safe(lab)


def test_abort_mid_run_ends_aborted_with_the_lab_safe(qtbot, window, store, lab, tmp_path):
    choose(window, "integrate-reset", cycles=100)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)  # let pyqtgraph lay out its axes before the screenshot
    window.grab().save(str(tmp_path / "integrate_reset_during_run.png"))
    window.abort_button.click()
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=RUN_TIMEOUT_MS)

    assert window.status == "aborted"
    (run,) = store.list_runs()
    assert run.status == "aborted"
    assert 0 < run.n_points < 100 * (10 + 20 + 200)  # stopped long before 100 cycles
    assert "abort" in window.log.kinds
    assert_lab_safe(lab)
    assert window.start_button.isEnabled()


def test_closing_during_a_run_asks_aborts_and_waits_for_the_cleanup(qtbot, window, store, lab):
    asked = []
    window.confirm_close = lambda: asked.append(True) or True
    choose(window, "integrate-reset", cycles=100)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.plot.point_count > 0, timeout=RUN_TIMEOUT_MS)

    window.close()
    assert asked == [True]
    assert window.isVisible()  # not before the cleanup has run
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert window.status == "aborted" and window.runner is None
    assert store.list_runs()[0].status == "aborted"
    assert_lab_safe(lab)


def test_closing_during_a_run_can_be_cancelled(qtbot, window, store):
    window.confirm_close = lambda: False
    choose(window, "integrate-reset", cycles=2)
    assert window.start_run()
    window.close()
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=RUN_TIMEOUT_MS)
    assert window.status == "finished"  # the run went on to its end
    assert window.isVisible()


def test_limit_beyond_the_setup_is_refused_before_any_output(qtbot, window, store, lab):
    limit_mA = lab.setup.limits.max_current_mA
    choose(window, "integrate-reset", cycles=1, write_current_mA=limit_mA + 10)
    assert window.form.is_valid  # within the procedure's range, beyond this lab's limit
    assert window.start_run() is False
    refusal = window.status_label.toolTip()
    assert window.status == "refused" and f"{limit_mA:g}" in refusal, refusal
    assert store.list_runs() == []
    assert lab.sim.safe_state()["source_output_on"] is False


@pytest.mark.skipif("hysteresis" not in installed_procedures()[0], reason="hysteresis not installed")
def test_minor_loop_is_plotted_against_the_measured_field(qtbot, window, store, lab, tmp_path):
    choose(window, "hysteresis", loop="minor", n_loops=1)
    assert window.form.values()["loop"] == "minor"
    assert window.start_run()
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)  # let pyqtgraph lay out its axes before the screenshot
    window.grab().save(str(tmp_path / "hysteresis_minor_loop.png"))

    assert window.status == "finished"
    (run,) = store.list_runs()
    df = store.dataframe(run.id)
    assert window.plot.x_column == "Hz_Oe"
    x, y = window.plot.data()  # all, not the drawn subset
    np.testing.assert_allclose(x, df["Hz_Oe"])
    np.testing.assert_allclose(y, df["V_uV"])
    # the soft layer switched: the loop has two V levels, and Hz swept both ways
    assert np.ptp(y) > 20 and np.ptp(x) > 500
    assert_lab_safe(lab)
