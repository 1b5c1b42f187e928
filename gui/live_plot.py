"""V_AHE against the run's natural x, redrawn at a bounded rate however fast points arrive.

Points are appended to a growing NumPy table (amortised doubling, all columns kept so the
operator can switch axes without losing anything); a 20 Hz timer redraws only when something
changed. pyqtgraph clips to the view and peak-downsamples, so 100k points stay responsive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dwlab.listener import RunInfo

REDRAW_HZ = 20
SYMBOLS_UP_TO = 2000  # points; beyond, the curve is a line only
FIELD_SWEEPS = {"hysteresis", "loop-shift"}  # procedures whose natural x is the field
X_PREFERENCE = ("t_s", "pulse")  # otherwise the first of these that the run has
Y_PREFERENCE = ("V_uV",)
SEGMENT_COLUMNS = ("run", "loop", "branch", "cycle", "phase", "step")  # a change breaks the line
POINT_NUMBER = "point #"  # an x choice: the points in the order they were taken


def natural_axes(procedure: str, columns: list[str]) -> tuple[str, str]:
    """(x, y) column names: Hz for field loops, else time (or pulse number); y is V_AHE."""
    if not columns:
        raise ValueError("a run needs at least one column to plot")
    y = next((c for c in Y_PREFERENCE if c in columns), columns[-1])
    preferred = (("Hz_Oe",) if procedure in FIELD_SWEEPS else ()) + X_PREFERENCE
    x = next((c for c in preferred if c in columns and c != y), None)
    return x or next((c for c in columns if c != y), y), y


class PointTable:
    """Rows of floats by column, growing without copying on every append."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self._index = {c: i for i, c in enumerate(self.columns)}
        self._data = np.empty((1024, len(self.columns)))
        self.n = 0

    def extend(self, points: list[dict[str, Any]]) -> None:
        if not points:
            return
        need = self.n + len(points)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), len(self.columns)))
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        rows = [[_number(p.get(c)) for c in self.columns] for p in points]
        self._data[self.n:need] = rows
        self.n = need

    def column(self, name: str) -> np.ndarray:
        return self._data[: self.n, self._index[name]]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


class LivePlot(QWidget):
    """One curve of the current run; axis choosers above it; ``point_count`` for status."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = PointTable([])
        self.units: dict[str, str] = {}
        self._dirty = False

        self.x_choice, self.y_choice = QComboBox(), QComboBox()
        self.count_label = QLabel("no run")
        self.count_label.setMinimumWidth(120)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("y:"))
        chooser.addWidget(self.y_choice)
        chooser.addWidget(QLabel("against x:"))
        chooser.addWidget(self.x_choice)
        chooser.addStretch(1)
        chooser.addWidget(self.count_label)

        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1f4e9c", width=1.5), symbol="o",
                                    symbolSize=4, symbolBrush="#1f4e9c", symbolPen=None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chooser)
        layout.addWidget(self.plot, 1)

        self.x_choice.currentTextChanged.connect(self._axes_changed)
        self.y_choice.currentTextChanged.connect(self._axes_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / REDRAW_HZ))
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    @property
    def point_count(self) -> int:
        return self.table.n

    def begin(self, info: RunInfo) -> None:
        """Clear for a new run (live or replay) and pick its natural axes."""
        columns = list(info.columns)
        self.table = PointTable(columns)
        self.units = dict(info.columns)
        self.curve.setSymbol("o")
        x, y = natural_axes(info.procedure, columns)
        for combo, choice in ((self.x_choice, x), (self.y_choice, y)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(columns + ([POINT_NUMBER] if combo is self.x_choice else []))
            combo.setCurrentText(choice)
            combo.blockSignals(False)
        title = f"run {info.run_id}: {info.procedure}" if info.run_id else info.procedure
        if info.metadata.get("replay"):
            title += " (replay)"
        self.plot.setTitle(title)
        self._axes_changed()

    def add_points(self, points: list[dict[str, Any]]) -> None:
        self.table.extend(points)
        self._dirty = True

    def redraw(self) -> None:
        """Push the table to the curve if it changed (the timer calls this; so may tests)."""
        if not self._dirty:
            return
        self._dirty = False
        x, y = self.x_choice.currentText(), self.y_choice.currentText()
        if x and y:
            if self.table.n > SYMBOLS_UP_TO:  # markers for 100k points would be a smear
                self.curve.setSymbol(None)
            xs = np.arange(self.table.n) if x == POINT_NUMBER else self.table.column(x)
            # pyqtgraph clips and downsamples assuming x only grows: right for time, wrong for
            # a loop against Hz, which it would draw as slanted lines between far points
            ordered = bool(np.all(np.diff(xs) >= 0))
            self.curve.setClipToView(ordered)
            self.curve.setDownsampling(auto=ordered, method="peak")
            self.curve.setData(xs, self.table.column(y), connect=self._connections())
        self.count_label.setText(f"{self.table.n:,} points")

    def _connections(self):
        """Join consecutive points only within one sweep branch / loop / field setting / cycle
        phase, so a jump between them (the end of one sweep and the start of the next, or the
        field ramp between a cycle's baseline and its writes) is not drawn as if it were data."""
        segments = [c for c in SEGMENT_COLUMNS if c in self.table.columns]
        if not segments or self.table.n < 2:
            return "all"
        same = np.ones(self.table.n, dtype=bool)
        for name in segments:
            column = self.table.column(name)
            same[:-1] &= column[1:] == column[:-1]
        same[-1] = False
        return same

    def _axes_changed(self, *_):
        for axis, combo in (("bottom", self.x_choice), ("left", self.y_choice)):
            name = combo.currentText()
            self.plot.setLabel(axis, _label(name, self.units.get(name, "")))
        self._dirty = True
        self.redraw()


def _label(column: str, unit: str) -> str:
    """An axis label: the quantity's lab name, then its unit (``V_uV`` -> ``V_AHE (µV)``)."""
    quantity = {"V_uV": "V_AHE", "t_s": "time", "pulse": "pulse number"}.get(
        column, column.rsplit("_", 1)[0] if unit else column)
    return f"{quantity} ({unit})" if unit else quantity
