"""Errors anywhere in the GUI reach the operator: the status line and the log pane.

``install(report)`` replaces ``sys.excepthook`` (PyQt calls it for an exception escaping a
slot; without a hook PyQt6 would abort the process) and adds a logging handler, so warnings
and errors logged by any module, in any thread, land in the log pane too. The traceback goes
to the Python log at debug level, never only to stderr.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

log = logging.getLogger("dwlab.gui")


class LogForwarder(QObject, logging.Handler):
    """A logging handler whose records arrive in the GUI thread as ``record`` signals."""

    record = pyqtSignal(str, str)  # level name, message

    def __init__(self, level: int = logging.WARNING):
        QObject.__init__(self)
        logging.Handler.__init__(self, level)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:  # logging's name, any thread
        try:
            message = record.getMessage().splitlines()[0] if record.msg else ""
            self.record.emit(record.levelname.lower(), f"{record.name}: {message}")
        except RuntimeError:  # the window is gone while a worker still logs
            pass


def install(report: Callable[[str], None]) -> Callable[[], None]:
    """Send uncaught exceptions to ``report(one_line)``; returns a function undoing it."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        log.debug("uncaught exception:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        report(f"{kind.__name__}: {value}")

    sys.excepthook = hook

    def uninstall() -> None:
        if sys.excepthook is hook:
            sys.excepthook = previous

    return uninstall
