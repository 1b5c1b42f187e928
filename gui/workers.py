"""Work that must not run in the GUI thread: analysis, export, replay loading, store polling,
and everything that talks to the instruments.

``Task`` wraps a function as a ``QRunnable`` whose result or error comes back to the GUI
thread as a signal. Two pools: ``background`` for reading and writing files and the store
(any number at once), and ``lab`` for the instruments, one task at a time, so a reading, a
manual command, All outputs off and a run never talk to the lab at the same moment.
A ``detached`` task runs in a daemon thread of its own: closing the window does not wait
for it. ``submit_process`` runs a function in a separate process (one, started at first use),
for long pure-Python work such as a stored run's analysis (minutes for a million points),
which in a thread would hold the GIL the GUI thread needs; closing the window ends it.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

log = logging.getLogger(__name__)


GIL_SWITCH_S = 0.0005  # Python's default is 5 ms


def favour_gui_thread() -> None:
    """Hand the GIL round more often than Python's default 5 ms.

    PyQt releases the GIL around every Qt call; with busy Python threads (a simulated lab,
    an analysis) the GUI thread would wait up to the switch interval to get it back after
    each call, and a repaint makes hundreds of calls."""
    sys.setswitchinterval(GIL_SWITCH_S)


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
        self._process_pool = None

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

    def submit_process(self, fn: Callable[..., Any], *args: Any,
                       on_done: Callable | None = None,
                       on_error: Callable | None = None) -> TaskSignals:
        """``fn(*args)`` (picklable, importable) in the worker process; callbacks in the GUI
        thread."""
        if self._process_pool is None:
            self._process_pool = multiprocessing.get_context("spawn").Pool(1)
        signals = TaskSignals()
        if on_done is not None:
            signals.done.connect(on_done)
        if on_error is not None:
            signals.failed.connect(on_error)
        self._alive.add(signals)
        done = lambda signal, value: (signal.emit(value), self._alive.discard(signals))  # noqa: E731
        self._process_pool.apply_async(
            fn, args, callback=lambda result: done(signals.done, result),
            error_callback=lambda exc: done(signals.failed, f"{type(exc).__name__}: {exc}"))
        return signals

    @property
    def lab_busy(self) -> bool:
        return self.lab.activeThreadCount() > 0

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Wait for the pools' tasks and end the worker process (closing the window)."""
        if self._process_pool is not None:
            self._process_pool.terminate()
            self._process_pool = None
        return self.lab.waitForDone(timeout_ms) and self.background.waitForDone(timeout_ms)
