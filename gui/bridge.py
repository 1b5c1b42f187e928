"""The Listener that carries a run (live or replayed) from its worker thread to the GUI thread.

The Runner and the Replayer call listeners in their own threads; Qt widgets may only be touched
in the GUI thread. ``RunBridge`` turns every call into a Qt signal delivered through a queued
connection. Points are not sent one signal each (100k queued signals would swamp the event
loop): they are turned into rows of floats here, in the worker's thread (so the GUI thread
never loops over dicts), collect in a locked buffer, and one ``points_ready`` signal is
pending at a time; the GUI drains the buffer with ``take_points()``. Signal order is kept, so
the points of a run are all drained before its ``finished`` arrives.
"""

from __future__ import annotations

import threading
from operator import itemgetter
from typing import Any

import numpy as np
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
        self.columns: list[str] = []
        self._blocks: list[np.ndarray] = []
        self._pending = False

    # ---- Listener (any thread) ---------------------------------------------------------------
    def on_start(self, info: RunInfo) -> None:
        with self._lock:
            self.columns = list(info.columns)
            self._blocks.clear()
            self._pending = False
        self.started.emit(info)

    def on_points(self, points: list[dict[str, Any]]) -> None:
        rows = points_to_rows(points, self.columns)
        with self._lock:
            self._blocks.append(rows)
            if self._pending:
                return
            self._pending = True
        self.points_ready.emit()

    def on_event(self, kind: str, message: str) -> None:
        self.event.emit(kind, message)

    def on_finish(self, status: str, error: str | None) -> None:
        self.finished.emit(status, error)

    # ---- GUI thread ----------------------------------------------------------------------------
    def take_points(self) -> np.ndarray:
        """Every point received since the last call, in order: rows by ``columns``."""
        with self._lock:
            blocks, self._blocks = self._blocks, []
            self._pending = False
        if not blocks:
            return np.empty((0, len(self.columns)))
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def points_to_rows(points: list[dict[str, Any]], columns: list[str]) -> np.ndarray:
    """Points as an (n, len(columns)) float array; a missing or non-numeric value is NaN."""
    if not columns:
        return np.empty((len(points), 0))
    try:
        row = itemgetter(*columns) if len(columns) > 1 else (lambda p: (p[columns[0]],))
        return np.array(list(map(row, points)), dtype=float).reshape(len(points), len(columns))
    except (KeyError, TypeError, ValueError):
        return np.array([[_number(p.get(c)) for c in columns] for p in points],
                        dtype=float).reshape(len(points), len(columns))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan
