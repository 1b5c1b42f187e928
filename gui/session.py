"""What the console remembers between sessions (QSettings): the last parameters typed for
each procedure, the chosen procedure, the window layout, the database and the setup.

Tests give a ``QSettings`` on a file under their tmp path (or set ``DWLAB_SETTINGS`` to one),
so they never touch the user's.
"""

from __future__ import annotations

import json
import os
from typing import Any

from PyQt6.QtCore import QByteArray, QSettings

DEFAULT_PROCEDURE = "integrate-reset"


def default_settings() -> QSettings:
    """The user's settings, or the INI file named by ``DWLAB_SETTINGS``."""
    path = os.environ.get("DWLAB_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("dwlab", "console")


class Session:
    """Typed access to the console's settings."""

    def __init__(self, settings: QSettings | None = None):
        self.settings = settings if settings is not None else default_settings()

    # ---- parameters ----------------------------------------------------------------------
    def parameters(self, procedure: str) -> dict[str, Any]:
        raw = self.settings.value(f"parameters/{procedure}", "")
        try:
            values = json.loads(raw) if raw else {}
        except ValueError:  # a damaged entry: start from the defaults
            return {}
        return values if isinstance(values, dict) else {}

    def save_parameters(self, procedure: str, values: dict[str, Any]) -> None:
        self.settings.setValue(f"parameters/{procedure}", json.dumps(values, default=str))

    # ---- simple values ---------------------------------------------------------------------
    def procedure(self, available: list[str]) -> str:
        last = self.settings.value("procedure", "")
        for name in (last, DEFAULT_PROCEDURE):
            if name in available:
                return name
        return available[0] if available else ""

    def set_procedure(self, name: str) -> None:
        self.settings.setValue("procedure", name)

    def value(self, key: str, default: str = "") -> str:
        return str(self.settings.value(key, default) or default)

    def set_value(self, key: str, value: str) -> None:
        self.settings.setValue(key, value)

    # ---- layout ----------------------------------------------------------------------------
    def save_layout(self, window, splitters: dict[str, Any]) -> None:
        self.settings.setValue("window/geometry", window.saveGeometry())
        self.settings.setValue("window/state", window.saveState())
        for name, splitter in splitters.items():
            self.settings.setValue(f"window/{name}", splitter.saveState())

    def restore_layout(self, window, splitters: dict[str, Any]) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            window.restoreState(state)
        for name, splitter in splitters.items():
            saved = self.settings.value(f"window/{name}")
            if isinstance(saved, QByteArray):
                splitter.restoreState(saved)

    def sync(self) -> None:
        self.settings.sync()
