"""GUI fixtures: the simulated lab, a throw-away run store, and the console over both."""

from __future__ import annotations

import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab

RUN_TIMEOUT_MS = 60_000  # a generous bound for a run of a few virtual seconds


@pytest.fixture(autouse=True)
def private_settings_and_locks(tmp_path, monkeypatch):
    """Settings and lab locks under the test's tmp path, never the user's."""
    monkeypatch.setenv("DWLAB_SETTINGS", str(tmp_path / "cli_settings.ini"))
    monkeypatch.setenv("DWLAB_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def lab():
    with Lab.open("sim") as lab:
        yield lab


@pytest.fixture
def store(tmp_path):
    with RunStore(f"sqlite:///{tmp_path}/runs.sqlite") as store:
        yield store


@pytest.fixture
def session(tmp_path):
    """Settings in a file under the test's tmp path, never the user's."""
    from PyQt6.QtCore import QSettings

    from dwlab.gui.session import Session

    return Session(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, lab, store, session):
    from dwlab.gui.main_window import MainWindow

    win = MainWindow(lab, store, session=session)
    # A failed test may leave a run going; pytest-qt closes the window before this fixture's
    # teardown, and "a run is in progress?" would be a modal question nobody answers.
    win.confirm_close = lambda: True
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.runner is not None:  # never leave a worker driving the lab after a failed test
        win.runner.abort()
    qtbot.waitUntil(lambda: not win.running, timeout=RUN_TIMEOUT_MS)
    win.workers.wait(RUN_TIMEOUT_MS)
    win.close()


def choose(window, name: str, **values) -> None:
    """Pick procedure ``name`` and type ``values`` into its form, as the operator would."""
    window.chooser.setCurrentText(name)
    for attr, value in values.items():
        window.form.set_value(attr, value)
