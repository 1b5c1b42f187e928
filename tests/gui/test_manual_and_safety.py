"""The Manual tab as an operator uses it (readings, a field and a current by hand, All outputs
off by button and by shortcut) and the SAFETY alarm that keeps Start disabled until the lab is
confirmed safe."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox

from .conftest import RUN_TIMEOUT_MS, choose
from .test_main_window import ENDED, assert_lab_safe


@pytest.fixture
def manual(qtbot, window):
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.manual.parentWidget()))
    qtbot.waitUntil(lambda: window.manual.readings is not None, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.instruments.problems == [], timeout=RUN_TIMEOUT_MS)
    return window.manual


def test_field_and_current_by_hand_then_all_outputs_off(qtbot, window, manual, lab, tmp_path):
    manual.field_value["z"].setValue(-800)
    manual.field_axis["z"].click()
    manual.current_value.setValue(1.0)
    manual.current_button.click()
    qtbot.waitUntil(lambda: manual.readings.output_on and abs(manual.readings.Hz_Oe + 800) < 20,
                    timeout=RUN_TIMEOUT_MS)
    assert manual.readings.source_mA == pytest.approx(1.0)
    assert abs(manual.readings.V_uV) > 1  # a current through the bar gives a Hall voltage
    assert "ON" in manual.labels["output"].text()
    window.grab().save(str(tmp_path / "manual_panel.png"))

    manual.all_off.click()
    qtbot.waitUntil(lambda: window.status == "safe", timeout=RUN_TIMEOUT_MS)
    assert_lab_safe(lab)
    qtbot.waitUntil(lambda: not manual.readings.output_on and abs(manual.readings.Hz_Oe) < 20,
                    timeout=RUN_TIMEOUT_MS)


def test_a_value_beyond_the_setup_is_refused_before_any_output(qtbot, window, manual, lab):
    limit = lab.setup.limits.max_current_mA
    manual.set_current(limit * 2)  # past the spin box, as a script or a typo might
    qtbot.waitUntil(lambda: window.status == "error", timeout=RUN_TIMEOUT_MS)
    assert "exceeds" in window.status_label.text() and f"{limit:g} mA" in window.log.toPlainText()
    assert lab.sim.safe_state()["source_output_on"] is False


@pytest.mark.parametrize("keys", ["F12", "Ctrl+Shift+O"])
def test_the_shortcut_aborts_a_run_and_its_cleanup_leaves_the_lab_safe(qtbot, window, lab, keys):
    choose(window, "integrate-reset", cycles=100)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    assert not window.manual.current_button.isEnabled()  # the run owns the instruments
    key = {"F12": (Qt.Key.Key_F12, Qt.KeyboardModifier.NoModifier),
           "Ctrl+Shift+O": (Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier
                            | Qt.KeyboardModifier.ShiftModifier)}[keys]
    qtbot.keyClick(window, *key)
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=RUN_TIMEOUT_MS)
    assert window.status == "aborted"
    assert_lab_safe(lab)


def test_a_safety_failure_raises_an_alarm_and_start_waits_for_all_outputs_off(
        qtbot, window, lab, monkeypatch, tmp_path):
    make_safe = lab.make_safe
    monkeypatch.setattr(lab, "make_safe",
                        lambda: ["Hz to zero FAILED, state unknown: VisaIOError: timeout"])
    choose(window, "integrate-reset", cycles=1, baseline_pulses=5, write_pulses=10,
           reset_reads=50)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.alarm is not None and window.alarm.isVisible(),
                    timeout=RUN_TIMEOUT_MS)
    window.grab().save(str(tmp_path / "safety_alarm_window.png"))
    window.alarm.grab().save(str(tmp_path / "safety_alarm.png"))
    assert window.alarm.windowModality() != Qt.WindowModality.NonModal  # blocks the window
    assert "Hz to zero FAILED" in window.alarm.text()
    assert window.status == "UNSAFE" and not window.start_button.isEnabled()
    assert window.start_run() is False

    window.alarm.buttons()[0].click()  # Acknowledge
    qtbot.waitUntil(lambda: not window.alarm.isVisible())
    assert "alarm acknowledged" in window.log.toPlainText()
    assert not window.start_button.isEnabled()  # acknowledged is not safe

    monkeypatch.setattr(lab, "make_safe", make_safe)  # the operator fixed the cable
    window.manual.all_off.click()
    qtbot.waitUntil(lambda: window.safe_confirmed, timeout=RUN_TIMEOUT_MS)
    assert window.status == "safe" and window.start_button.isEnabled()
    assert_lab_safe(lab)


def test_all_outputs_off_that_cannot_confirm_keeps_the_alarm(qtbot, window, lab, monkeypatch):
    monkeypatch.setattr(lab, "make_safe", lambda: ["source off FAILED, state unknown: gone"])
    window.manual.all_off.click()
    qtbot.waitUntil(lambda: window.alarm is not None and window.alarm.isVisible(),
                    timeout=RUN_TIMEOUT_MS)
    assert not window.safe_confirmed and not window.start_button.isEnabled()
    assert isinstance(window.alarm, QMessageBox)
    window.alarm.buttons()[0].click()
