"""The run browser: lists and filters stored runs, shows the record and analysis, replays a
run into the main plot, and exports CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwlab import api
from dwlab.listener import ListenerBase
from dwlab.gui.main_window import installed_procedures
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
def browser(window, runs):
    window.browser.refresh()
    window.tabs.setCurrentWidget(window.browser)
    return window.browser


def replay_to_end(qtbot, window, speed):
    window.browser.replay(speed)
    qtbot.waitUntil(lambda: window.browser.replayer is None, timeout=RUN_TIMEOUT_MS)


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


def test_selected_run_shows_its_record_and_analysis(browser, runs, store):
    done, aborted = runs
    browser.select_run(done)
    text = browser.details.toPlainText()
    assert "bar A" in text and "cycles" in text and "finished" in text
    expected = api.analyze(store, done).summary()
    assert "pulses_to_fire_mean" in text and f"{expected['V_fire_uV']:.6g}" in text
    browser.select_run(aborted)
    assert "none: the run aborted" in browser.details.toPlainText()


def test_max_speed_replay_puts_every_point_in_the_plot(qtbot, window, browser, runs, store):
    done, _ = runs
    browser.select_run(done)
    replay_to_end(qtbot, window, None)
    qtbot.wait(200)  # let pyqtgraph lay out its axes before the screenshot
    window.grab().save("/tmp/gui_browser.png")

    df = store.dataframe(done)
    assert window.plot.point_count == len(df) == store.get_run(done).n_points
    y = window.plot.curve.yData  # all, not the drawn subset
    np.testing.assert_allclose(y, df["V_uV"])
    assert window.status == "finished"  # the recorded end of the run
    assert "pulses_to_fire_mean" in window.result.toPlainText()  # analysis recorded with it
    assert browser.replay_button.isEnabled() and window.start_button.isEnabled()


def test_replay_pauses_and_resumes(qtbot, window, browser, runs, store):
    done, _ = runs
    browser.select_run(done)
    replayer = browser.replay(1.0)
    browser.toggle_pause()
    assert browser.pause_button.text() == "Resume" and replayer._paused
    assert not window.start_button.isEnabled()  # the plot is the replay's
    browser.toggle_pause()
    qtbot.waitUntil(lambda: browser.replayer is None, timeout=RUN_TIMEOUT_MS)
    assert window.plot.point_count == store.get_run(done).n_points


def test_stop_ends_a_paused_replay_early(qtbot, window, browser, runs, store):
    done, _ = runs
    browser.select_run(done)
    browser.replay(1.0)
    browser.toggle_pause()
    browser.stop_replay()
    qtbot.waitUntil(lambda: browser.replayer is None, timeout=RUN_TIMEOUT_MS)
    assert window.status == "aborted"
    assert window.plot.point_count < store.get_run(done).n_points


def test_export_csv_writes_every_point_with_units_and_metadata(browser, runs, store, tmp_path):
    done, _ = runs
    browser.select_run(done)
    path = browser.export_csv(tmp_path / "run.csv")
    df = pd.read_csv(path)
    assert len(df) == store.get_run(done).n_points
    assert "V_uV [µV]" in df.columns
    np.testing.assert_allclose(df["V_uV [µV]"], store.dataframe(done)["V_uV"])
    assert (tmp_path / "run.csv.json").exists()  # metadata named after the data file
