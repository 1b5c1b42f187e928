"""The Listener that carries a run (live or replayed) from its worker thread to the GUI thread.

The Runner and the Replayer call listeners in their own threads; Qt widgets may only be touched
in the GUI thread. ``RunBridge`` turns every call into a Qt signal delivered through a queued
connection. Points are not sent one signal each (100k queued signals would swamp the event
loop): they collect in a locked buffer and one ``points_ready`` signal is pending at a time;
the GUI drains the buffer with ``take_points()``. Signal order is kept, so the points of a run
are all drained before its ``finished`` arrives.
"""

from __future__ import annotations

import threading
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from dwlab.listener import RunInfo


class RunBridge(QObject):
    """A ``dwlab.listener.Listener`` whose calls arrive in the GUI thread as signals."""

    started = pyqtSignal(object)  # RunInfo
    points_ready = pyqtSignal()  # call take_points()
    event = pyqtSignal(str, str)  # kind, message
    finished = pyqtSignal(str, object)  # status, error (str or None)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._points: list[dict[str, Any]] = []
        self._pending = False

    # ---- Listener (any thread) ---------------------------------------------------------------
    def on_start(self, info: RunInfo) -> None:
        with self._lock:
            self._points.clear()
            self._pending = False
        self.started.emit(info)

    def on_points(self, points: list[dict[str, Any]]) -> None:
        with self._lock:
            self._points.extend(points)
            if self._pending:
                return
            self._pending = True
        self.points_ready.emit()

    def on_event(self, kind: str, message: str) -> None:
        self.event.emit(kind, message)

    def on_finish(self, status: str, error: str | None) -> None:
        self.finished.emit(status, error)

    # ---- GUI thread ----------------------------------------------------------------------------
    def take_points(self) -> list[dict[str, Any]]:
        """Every point received since the last call, in order."""
        with self._lock:
            points, self._points = self._points, []
            self._pending = False
        return points
