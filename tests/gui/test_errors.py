"""Errors anywhere in the console reach the operator: status line and log, long ones wrapped."""

from __future__ import annotations

import logging

import pytest
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_reaches_the_status_line_and_the_log(qtbot, window):
    def broken_slot():
        raise RuntimeError("run 42 was deleted by another process")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: "deleted by another process" in window.status_label.text())
    assert window.status == "error" and window.log.kinds[-1] == "error"
    assert "RuntimeError: run 42 was deleted" in window.log.toPlainText()


def test_a_warning_logged_in_a_worker_thread_reaches_the_log(qtbot, window):
    window.workers.submit(lambda: logging.getLogger("dwlab.somewhere").warning("disk is full"))
    qtbot.waitUntil(lambda: "dwlab.somewhere: disk is full" in window.log.toPlainText())


def test_export_to_a_missing_folder_is_reported_not_printed(qtbot, window, store, lab, tmp_path):
    from dwlab import api

    run = api.run(lab, "hysteresis", store=store, loop="minor", n_loops=1)
    window.browser.refresh()
    qtbot.waitUntil(lambda: window.browser.run_ids() == [run.run_id])
    window.browser.select_run(run.run_id)
    window.browser.export_csv(tmp_path / "no such folder" / "run.csv")
    qtbot.waitUntil(lambda: window.status == "error")
    assert "export" in window.status_label.text() and "no such folder" in window.log.toPlainText()


def test_a_long_message_wraps_and_never_widens_the_window(qtbot, window, tmp_path):
    window.resize(1400, 860)
    qtbot.waitUntil(lambda: window.width() == 1400)
    window.report_error("SAFETY: " + "Hz to zero FAILED, state unknown; " * 40)
    QApplication.processEvents()  # the layout pass that would widen the window
    window.grab().save(str(tmp_path / "long_error.png"))
    assert window.width() == 1400
    assert window.status_label.wordWrap()
