"""The console stays responsive while slow work runs: the Abort of a live run and the Stop of
a replay are handled within 0.2 s while a million-point run is analysed (selected in the Runs
tab) and while a million-point replay streams in at full speed.

The latency is that of the event loop: how long a click posted now waits before its slot runs
(the median of a few probes, so one scheduler hiccup of the loaded test machine does not
decide it); the slow work runs all the while (checked before and after)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from PyQt6.QtCore import QTimer

from .conftest import RUN_TIMEOUT_MS, choose

LATENCY_S = 0.2
HYSTERESIS_COLUMNS = {"t_s": "s", "Hz_Oe": "Oe", "V_uV": "µV", "branch": "", "loop": ""}


def million_point_loops(store, setup, n=1_000_000, loops=5) -> int:
    """A finished hysteresis run of ``n`` points (``loops`` major loops), written directly."""
    writer = store.begin_run(procedure="hysteresis", columns=HYSTERESIS_COLUMNS, parameters={},
                             setup=setup.raw)
    per = n // (2 * loops)
    up = np.linspace(-2500, 2500, per)
    hz = np.tile(np.r_[up[::-1], up], loops)
    branch = np.tile(np.r_[-np.ones(per), np.ones(per)], loops)
    v = np.where(branch > 0, np.where(hz > 600, -75.0, -120.0), np.where(hz > -600, -75.0, -120.0))
    t = np.arange(len(hz)) * 1e-3
    writer.append_rows(np.column_stack([t, t, hz, v, branch, np.ones(len(hz))]))
    writer.finish("finished")
    return writer.run_id


@pytest.fixture
def big_run(store, lab):
    return million_point_loops(store, lab.setup)


def event_loop_delay(qtbot, slot=None) -> float:
    """Seconds a zero-delay timer posted now waits before it runs (then runs ``slot``)."""
    posted, ran = time.perf_counter(), []

    def probe():
        ran.append(time.perf_counter() - posted)
        if slot is not None:
            slot()

    QTimer.singleShot(0, probe)
    qtbot.waitUntil(lambda: bool(ran), timeout=RUN_TIMEOUT_MS)
    return ran[0]


PROBES: list[float] = []  # the last median's probes, for the failure message


def median_delay(qtbot, probes=5) -> float:
    PROBES[:] = [event_loop_delay(qtbot) for _ in range(probes)]
    return statistics.median(PROBES)


def test_abort_is_prompt_while_a_million_point_run_is_analysed(qtbot, window, store, big_run):
    window.browser.refresh()
    qtbot.waitUntil(lambda: big_run in window.browser.run_ids(), timeout=RUN_TIMEOUT_MS)
    choose(window, "integrate-reset", cycles=100)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    window.tabs.setCurrentWidget(window.browser)
    window.browser.select_run(big_run)  # its analysis (seconds for 1 M points) starts
    analysing = lambda: "reading run" in window.browser.details.toPlainText()  # noqa: E731
    assert analysing()
    delay = median_delay(qtbot)
    abort_delay = event_loop_delay(qtbot, window.abort_button.click)
    assert analysing(), "the analysis ended before the probes: they measured nothing"
    assert delay < LATENCY_S and abort_delay < LATENCY_S, (delay, abort_delay, PROBES)
    qtbot.waitUntil(lambda: window.status == "aborted", timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not analysing(), timeout=10 * RUN_TIMEOUT_MS)
    assert "H_ex_Oe" in window.browser.details.toPlainText()  # the analysis did finish


def test_stop_is_prompt_while_a_million_point_replay_streams_at_full_speed(qtbot, window,
                                                                         big_run, tmp_path):
    window.browser.refresh()
    qtbot.waitUntil(lambda: big_run in window.browser.run_ids(), timeout=RUN_TIMEOUT_MS)
    window.browser.select_run(big_run)
    window.browser.replay(None)
    qtbot.waitUntil(lambda: window.plot.point_count > 50_000, timeout=RUN_TIMEOUT_MS)
    delay = median_delay(qtbot)
    stop_delay = event_loop_delay(qtbot, window.browser.stop_button.click)
    window.grab().save(str(tmp_path / "replay_1M_loops.png"))
    assert delay < LATENCY_S and stop_delay < LATENCY_S, (delay, stop_delay)
    qtbot.waitUntil(lambda: not window.browser.replaying, timeout=RUN_TIMEOUT_MS)
    assert window.status == "aborted"  # stopped, not played to its end
    assert 50_000 < window.plot.point_count < 1_000_000
