"""Work that must not run in the GUI thread: analysis, export, replay loading, store polling,
and everything that talks to the instruments.

``Task`` wraps a function as a ``QRunnable`` whose result or error comes back to the GUI
thread as a signal. Two pools: ``background`` for reading and writing files and the store
(any number at once), and ``lab`` for the instruments, one task at a time, so a reading, a
manual command, All outputs off and a run never talk to the lab at the same moment.
A ``detached`` task (a stored run's analysis, which can take minutes for a million points)
runs in a daemon thread of its own: closing the window does not wait for it.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

log = logging.getLogger(__name__)


class TaskSignals(QObject):
    done = pyqtSignal(object)  # the function's result
    failed = pyqtSignal(str)  # "ExceptionType: message"
    progress = pyqtSignal(float)  # 0..1, when the function takes a ``progress`` callback


class Task(QRunnable):
    """``fn(*args)`` in a pool thread; connect to ``signals`` before ``Workers.submit``."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False):
        super().__init__()
        self.fn, self.args, self.with_progress = fn, args, with_progress
        self.signals = TaskSignals()
        self.setAutoDelete(False)  # the pool must not delete it while a signal is in flight

    def run(self) -> None:
        try:
            kwargs = {"progress": self.signals.progress.emit} if self.with_progress else {}
            result = self.fn(*self.args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the operator
            log.debug("task failed:\n%s", traceback.format_exc())
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(result)


class Workers(QObject):
    """The window's two pools and the tasks in flight (kept alive until they report)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.background = QThreadPool(self)
        self.background.setMaxThreadCount(2)
        self.lab = QThreadPool(self)
        self.lab.setMaxThreadCount(1)
        self._alive: set[Task] = set()

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable | None = None,
               on_error: Callable | None = None, on_progress: Callable | None = None,
               lab: bool = False, detached: bool = False) -> Task:
        """Run ``fn(*args)`` in the lab pool (``lab=True``), the background pool, or its own
        daemon thread (``detached``); the callbacks are called in the GUI thread."""
        task = Task(fn, *args, with_progress=on_progress is not None)
        self._alive.add(task)
        if on_done is not None:
            task.signals.done.connect(on_done)
        if on_error is not None:
            task.signals.failed.connect(on_error)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        task.signals.done.connect(lambda _: self._alive.discard(task))
        task.signals.failed.connect(lambda _: self._alive.discard(task))
        if detached:
            threading.Thread(target=task.run, name="dwlab-detached", daemon=True).start()
        else:
            (self.lab if lab else self.background).start(task)
        return task

    @property
    def lab_busy(self) -> bool:
        return self.lab.activeThreadCount() > 0

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Wait for every task (closing the window)."""
        return self.lab.waitForDone(timeout_ms) and self.background.waitForDone(timeout_ms)
