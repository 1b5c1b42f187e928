"""The run browser: lists and filters stored runs, shows the record and analysis, replays a
run into the main plot, and exports CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwlab import api
from dwlab.gui.main_window import installed_procedures
from dwlab.listener import ListenerBase
from dwlab.procedures.runner import Runner

from .conftest import RUN_TIMEOUT_MS

pytestmark = pytest.mark.skipif("integrate-reset" not in installed_procedures()[0],
                                reason="integrate-reset is not installed yet")

SMALL = dict(cycles=1, baseline_pulses=5, write_pulses=10, reset_reads=50)


class AbortAtFirstPoints(ListenerBase):
    """Presses Abort as soon as the first points arrive."""

    def __init__(self):
        self.runner = None

    def on_points(self, points):
        self.runner.abort()


@pytest.fixture
def runs(lab, store):
    """A finished integrate/reset run on "bar A" and an aborted one on "bar B"."""
    done = api.run(lab, "integrate-reset", store=store, sample="bar A", **SMALL)
    stopper = AbortAtFirstPoints()
    stopper.runner = Runner(lab, store, listeners=[stopper], sample="bar B")
    aborted = stopper.runner.run(api.make_procedure("integrate-reset", cycles=3))
    assert (done.status, aborted.status) == ("finished", "aborted")
    return done.run_id, aborted.run_id


@pytest.fixture
def browser(qtbot, window, runs):
    window.browser.refresh()
    window.tabs.setCurrentWidget(window.browser)
    qtbot.waitUntil(lambda: window.browser.run_ids() == list(reversed(runs)))
    return window.browser


def replay_to_end(qtbot, window, speed):
    window.browser.replay(speed)
    qtbot.waitUntil(lambda: not window.browser.replaying, timeout=RUN_TIMEOUT_MS)


def start_replay(qtbot, browser, speed):
    browser.replay(speed)
    qtbot.waitUntil(lambda: browser.replayer is not None, timeout=RUN_TIMEOUT_MS)
    return browser.replayer


def test_lists_runs_newest_first_and_filters_by_status(browser, runs, store):
    done, aborted = runs
    assert browser.run_ids() == [aborted, done]
    row = [browser.table.item(0, c).text() for c in range(browser.table.columnCount())]
    assert row[:4] == [str(aborted), "integrate-reset", "bar B", "aborted"]
    assert row[5] == str(store.get_run(aborted).n_points)
    browser.status_filter.setCurrentText("finished")
    assert browser.run_ids() == [done]
    browser.status_filter.setCurrentText("failed")
    assert browser.run_ids() == []
    browser.status_filter.setCurrentText("all")
    browser.procedure_filter.setCurrentText("integrate-reset")
    assert browser.run_ids() == [aborted, done]


def test_selected_run_shows_its_record_and_analysis(qtbot, browser, runs, store):
    done, aborted = runs
    browser.select_run(done)
    # analysed in the worker process, which starts at first use: a few seconds on a busy machine
    qtbot.waitUntil(lambda: "pulses_to_fire_mean" in browser.details.toPlainText(),
                    timeout=RUN_TIMEOUT_MS)
    text = browser.details.toPlainText()
    assert "bar A" in text and "cycles" in text and "finished" in text
    expected = api.analyze(store, done).summary()
    assert f"{expected['V_fire_uV']:.6g}" in text
    browser.select_run(aborted)
    qtbot.waitUntil(lambda: "none: the run aborted" in browser.details.toPlainText(),
                    timeout=RUN_TIMEOUT_MS)


def test_use_these_parameters_fills_the_form(qtbot, window, browser, runs, store):
    done, _ = runs
    window.chooser.setCurrentText("hysteresis")
    browser.select_run(done)
    browser.use_button.click()
    qtbot.waitUntil(lambda: window.chooser.currentText() == "integrate-reset")
    assert window.form.values()["reset_reads"] == "50"  # SMALL's, not the default
    assert window.tabs.currentIndex() == 0


def test_max_speed_replay_puts_every_point_in_the_plot(qtbot, window, browser, runs, store,
                                                       tmp_path):
    done, _ = runs
    browser.select_run(done)
    replay_to_end(qtbot, window, None)
    qtbot.wait(200)  # let pyqtgraph lay out its axes before the screenshot
    window.grab().save(str(tmp_path / "replay_in_runs_tab.png"))

    df = store.dataframe(done)
    assert window.plot.point_count == len(df) == store.get_run(done).n_points
    _, y = window.plot.data()  # all, not the drawn subset
    np.testing.assert_allclose(y, df["V_uV"])
    assert window.status == "finished"  # the recorded end of the run
    assert "pulses_to_fire_mean" in window.result.toPlainText()  # analysis recorded with it
    assert browser.replay_button.isEnabled() and window.start_button.isEnabled()


def test_replay_pauses_and_resumes(qtbot, window, browser, runs, store):
    done, _ = runs
    browser.select_run(done)
    replayer = start_replay(qtbot, browser, 1.0)
    browser.toggle_pause()
    assert browser.pause_button.text() == "Resume" and replayer._paused
    assert not window.start_button.isEnabled()  # the plot is the replay's
    browser.toggle_pause()
    qtbot.waitUntil(lambda: not browser.replaying, timeout=RUN_TIMEOUT_MS)
    assert window.plot.point_count == store.get_run(done).n_points


def test_stop_ends_a_paused_replay_early(qtbot, window, browser, runs, store):
    done, _ = runs
    browser.select_run(done)
    start_replay(qtbot, browser, 1.0)
    browser.toggle_pause()
    browser.stop_replay()
    qtbot.waitUntil(lambda: not browser.replaying, timeout=RUN_TIMEOUT_MS)
    assert window.status == "aborted"
    assert window.plot.point_count < store.get_run(done).n_points


def test_export_csv_writes_every_point_with_units_and_metadata(qtbot, browser, runs, store,
                                                               tmp_path):
    done, _ = runs
    browser.select_run(done)
    with qtbot.waitSignal(browser.exported, timeout=RUN_TIMEOUT_MS) as written:
        browser.export_csv(tmp_path / "run.csv")
    df = pd.read_csv(written.args[0])
    assert len(df) == store.get_run(done).n_points
    assert "V_uV [µV]" in df.columns
    np.testing.assert_allclose(df["V_uV [µV]"], store.dataframe(done)["V_uV"])
    assert (tmp_path / "run.csv.json").exists()  # metadata named after the data file


def test_a_return_velocity_run_shows_its_creep_fit_over_the_points_labelled_by_hz(
        qtbot, window, store, tmp_path):
    h_ex = 885.0
    fields = [-(h_ex - d) for d in (440.0, 480.0, 530.0)]  # crossings in 20-90 s
    with api.open_lab("sim", preset="rv-885") as lab:
        result = api.run(lab, "return-velocity", store=store, Hz_list_Oe=fields,
                         H_ex_Oe=h_ex, Hc_soft_Oe=600.0)  # given: a display test
    assert result.ok, result.error
    window.tabs.setCurrentWidget(window.browser)
    window.browser.refresh()
    qtbot.waitUntil(lambda: result.run_id in window.browser.run_ids(), timeout=RUN_TIMEOUT_MS)
    window.browser.select_run(result.run_id)
    qtbot.waitUntil(lambda: window.browser.fit_plot.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert window.browser.split.sizes()[2] >= 200  # seen, not squeezed away
    overlay = window.browser.fit_plot.overlay
    labels = [label for _, _, label in overlay.points]  # each point's measured Hz
    assert all(label.startswith("Hz = ") and label.endswith(" Oe") for label in labels)
    assert [float(label[5:-3]) for label in labels] == pytest.approx(fields, abs=3)
    assert overlay.fit_x[-1] == 0  # extrapolated to Hz = 0, where v = v_max
    assert overlay.fit_y[-1] == pytest.approx(result.analysis.v_max_um_s)
    fit_at_points = np.interp([x for x, _, _ in overlay.points], overlay.fit_x, overlay.fit_y)
    measured = np.array([y for _, y, _ in overlay.points])
    assert np.all(np.abs(np.log(measured / fit_at_points)) < 0.3)  # the fit goes through them
    window.grab().save(str(tmp_path / "return_velocity_creep_fit.png"))
    window.browser.table.clearSelection()  # nothing selected: no fit shown
    qtbot.waitUntil(lambda: not window.browser.fit_plot.isVisible())
