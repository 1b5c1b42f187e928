"""The run's events as the operator reads them: time-stamped, safety problems in red.

Progress events drive the progress bar, not this pane. The pane keeps the last
``MAX_LINES`` lines so a run that logs for days does not grow memory without bound.
"""

from __future__ import annotations

import html
from datetime import datetime

from PyQt6.QtWidgets import QTextEdit, QWidget

MAX_LINES = 5000
STYLES = {
    "safety": "color: #b00020; font-weight: bold;",
    "error": "color: #b00020;",
    "refused": "color: #b00020;",
    "warning": "color: #e65100;",
    "critical": "color: #b00020; font-weight: bold;",
    "manual": "color: #1f4e9c;",
    "analysis-error": "color: #b00020;",
    "status": "color: #555555;",
    "analysis": "color: #1b5e20;",
    "end": "font-weight: bold;",
}


class EventLog(QTextEdit):
    """Append-only, read-only log of run events."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.document().setMaximumBlockCount(MAX_LINES)
        self.kinds: list[str] = []  # kind of every line added, for tests and summaries

    def add(self, kind: str, message: str) -> None:
        self.kinds.append(kind)
        stamp = datetime.now().strftime("%H:%M:%S")
        style = STYLES.get(kind, "")
        self.append(f'<span style="{style}">{stamp} [{html.escape(kind)}] '
                    f'{html.escape(message)}</span>')
