"""V_AHE against the run's natural x, as the procedure's ``PLOT_VIEW`` declares it, at a
bounded frame rate however many points the run has.

Points go into a growing NumPy table (amortised doubling; every column kept so the operator
can switch axes). Time is shown from the run's first point, not the lab clock. A timer
redraws when something changed, at up to 40 Hz but never more often than keeps the GUI thread
free for 70 % of the time (a slow machine gets fewer frames, never a frozen Abort button),
from a min/max envelope decimated to the pixel width
(``dwlab.gui.decimate``), one curve per colour group (cycle phase, sweep branch). Each group
is two curve items: the older records, painted once into a cached pixmap (a million points
cost a blit per frame), and the newest ``LIVE_RECORDS``, redrawn every frame; while x only
grows the axis is extended in ``HEADROOM`` steps, so the cache and the axis ticks stay valid
between steps. The view auto-ranges at the start of every run; a mouse zoom stops that until
the next run or the "A" button. "Follow latest" shows only the newest points.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dwlab.gui.bridge import points_to_rows
from dwlab.gui.decimate import Envelope, bin_width, few
from dwlab.listener import RunInfo
from dwlab.procedures.plot_view import PlotView

REDRAW_HZ = 40  # at most; fewer when a frame is costly (see ``redraw``)
GUI_SHARE = 0.3  # the plot may keep the GUI thread busy this fraction of the time, at most
SYMBOLS_UP_TO = 500  # points drawn; beyond, the curve is a line only (markers cost)
SEGMENT_COLUMNS = ("run", "loop", "branch", "cycle", "phase", "step")  # a change breaks the line
POINT_NUMBER = "point"  # an x choice: the points in the order they were taken
TIME = "t_s"
FOLLOW_DEFAULT = 20_000  # points shown when following the latest
NAMES = {"V_uV": "V_AHE", "t_s": "time from run start", "pulse": "pulse number",
         "Hz_Oe": "Hz", "Hx_Oe": "Hx", "I_write_mA": "write current", "I_dc_mA": "DC current",
         "J_1e11_A_m2": "current density", "x_kerr_um": "wall position (Kerr)",
         "write_width_ms": "write pulse width", POINT_NUMBER: "point number"}
DEFAULT_PEN = "#1f4e9c"
LIVE_RECORDS = 1024  # records redrawn every frame; older ones are painted once, then cached
HEADROOM = 1.25  # a growing x axis is extended in steps of this factor, not every frame


def natural_axes(view: PlotView, columns: list[str]) -> tuple[str, str]:
    """(x, y) columns: the view's if the run has them, else time (or pulse number), V_AHE."""
    if not columns:
        raise ValueError("a run needs at least one column to plot")
    y = view.y if view.y in columns else columns[-1]
    x = next((c for c in (view.x, TIME, "pulse") if c in columns and c != y), None)
    return x or next((c for c in columns if c != y), y), y


def overlay_column(group: str) -> str:
    return f"t_in_{group}_s"


def axis_label(column: str, unit: str) -> str:
    """A human axis name with its unit (``V_uV`` -> ``V_AHE (µV)``)."""
    if column.startswith("t_in_"):
        name = f"time in {column[5:-2]}"
    else:
        name = NAMES.get(column, column.rsplit("_", 1)[0] if unit else column)
    return f"{name} ({unit})" if unit else name


class PointTable:
    """Rows of floats by column, growing without copying on every append; ``t_s`` counted
    from the first point; a segment number per point (a change of sweep branch, loop, cycle
    phase... starts a new one); optionally each ``overlay_by`` group's own time."""

    def __init__(self, columns: list[str], segment_by: tuple[str, ...] = (),
                 overlay_by: str | None = None):
        self.source_columns = list(columns)
        self.overlay_by = overlay_by if overlay_by in columns and TIME in columns else None
        self.columns = self.source_columns + (
            [overlay_column(self.overlay_by)] if self.overlay_by else [])
        self._index = {c: i for i, c in enumerate(self.columns)}
        self._segment_by = [self._index[c] for c in segment_by if c in self._index]
        self._data = np.empty((1024, len(self.columns)))
        self._seg = np.empty(1024)
        self.t0: float | None = None
        self._group_t0 = np.nan
        self.n = 0

    def extend(self, points: list[dict[str, Any]] | np.ndarray) -> None:
        """Append points: dicts by column name, or rows of the run's columns in order."""
        rows = (points if isinstance(points, np.ndarray)
                else points_to_rows(points, self.source_columns))
        if not len(rows):
            return
        need = self.n + len(rows)
        if need > len(self._data):
            size = max(need, 2 * len(self._data))
            self._data = _grown(self._data, size, self.n)
            self._seg = _grown(self._seg, size, self.n)
        width = len(self.source_columns)
        new = self._data[self.n:need]
        new[:, :width] = rows
        if TIME in self._index:
            t = new[:, self._index[TIME]]
            if self.t0 is None:
                self.t0 = float(t[0])
            t -= self.t0
        self._number_segments(self.n, need)
        if self.overlay_by:
            self._overlay_times(self.n, need)
        self.n = need

    def _number_segments(self, a: int, b: int) -> None:
        cols = self._data[max(a - 1, 0):b][:, self._segment_by]
        if len(cols) and self._segment_by:
            changed = _differs(cols[1:], cols[:-1]).any(axis=1)
        else:
            changed = np.zeros(max(len(cols) - 1, 0), dtype=bool)
        if a == 0:
            self._seg[0] = 0
            self._seg[1:b] = np.cumsum(changed)
        else:
            self._seg[a:b] = self._seg[a - 1] + np.cumsum(changed)

    def _overlay_times(self, a: int, b: int) -> None:
        index = self._index[self.overlay_by]
        group = self._data[a:b, index]
        starts = np.empty(b - a, dtype=bool)
        starts[0] = a == 0 or bool(_differs(group[:1], self._data[a - 1:a, index])[0])
        starts[1:] = _differs(group[1:], group[:-1])
        t = self._data[a:b, self._index[TIME]]
        origin = np.where(starts, t, np.nan)
        if not starts[0]:
            origin[0] = self._group_t0
        origin = _fill_forward(origin)
        self._group_t0 = float(origin[-1])
        self._data[a:b, self._index[overlay_column(self.overlay_by)]] = t - origin

    def column(self, name: str) -> np.ndarray:
        if name == POINT_NUMBER:
            return np.arange(self.n, dtype=float)
        return self._data[: self.n, self._index[name]]

    @property
    def segments(self) -> np.ndarray:
        return self._seg[: self.n]


def _grown(array: np.ndarray, size: int, n: int) -> np.ndarray:
    grown = np.empty((size, *array.shape[1:]))
    grown[:n] = array[:n]
    return grown


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a != b, with NaN equal to NaN (a column a run never fills is one segment)."""
    return (a != b) & ~(np.isnan(a) & np.isnan(b))


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values; (inf, -inf) when there are none."""
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if len(finite) else (np.inf, -np.inf)


def _fill_forward(values: np.ndarray) -> np.ndarray:
    idx = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(idx, out=idx)
    return values[idx]


class _TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that knows how long its last paint took (frame pacing uses it)."""

    last_paint_s = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - started


class _Curve(pg.PlotCurveItem):
    """A curve that leaves auto-range to the plot's bounds item: pyqtgraph would otherwise
    repaint the whole plot after every new point, for a range that has not changed."""

    def informViewBoundsChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        pass


class LivePlot(QWidget):
    """The current run's curves, axis choosers above them; ``point_count`` for the status."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = PlotView()
        self.table = PointTable([])
        self.units: dict[str, str] = {}
        self.frames = 0  # redraws that drew something (the benchmark counts them)
        self._dirty = False
        self._costs: deque[float] = deque(maxlen=8)  # the last frames' seconds, for pacing
        self._envelope = Envelope()
        self._curves: dict[float | None, _Curve] = {}  # the cached, older part
        self._live: dict[float | None, _Curve] = {}  # the newest records
        self._markers: dict[float | None, pg.ScatterPlotItem] = {}
        self._static_key: tuple | None = None  # what the cached part was drawn for
        self._checkpoint = 0  # records before this one are in the cached part
        self._bars = False  # too many points in view: the newest drawn as bars too
        self._raw: dict[pg.PlotCurveItem, bool] = {}  # each item's last draw: point for point?
        self._levels: list[pg.InfiniteLine] = []
        self._labels: list[pg.TextItem] = []
        self._group_ends: list[int] = []  # label_by: the last row of each group before the last
        self._groups_scanned = 0  # rows whose group boundaries are in _group_ends

        self.x_choice, self.y_choice = QComboBox(), QComboBox()
        for combo in (self.x_choice, self.y_choice):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.follow = QCheckBox("follow latest")
        self.follow_points = QSpinBox()
        self.follow_points.setRange(100, 10_000_000)
        self.follow_points.setSingleStep(1000)
        self.follow_points.setValue(FOLLOW_DEFAULT)
        self.follow_points.setSuffix(" points")
        self.count_label = QLabel("no run")
        self.count_label.setMinimumWidth(120)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("y:"))
        chooser.addWidget(self.y_choice)
        chooser.addWidget(QLabel("against x:"))
        chooser.addWidget(self.x_choice)
        chooser.addWidget(self.follow)
        chooser.addWidget(self.follow_points)
        chooser.addStretch(1)
        chooser.addWidget(self.count_label)

        self.plot = _TimedPlotWidget(background="w")
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self._bounds_item = pg.PlotCurveItem(pen=pg.mkPen(None))  # what auto-range spans
        self._bounds: tuple | None = None  # ((x0, x1), (y0, y1)) it spans
        self.plot.addItem(self._bounds_item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chooser)
        layout.addWidget(self.plot, 1)

        self.x_choice.currentIndexChanged.connect(self._axes_changed)
        self.y_choice.currentIndexChanged.connect(self._axes_changed)
        self.follow.toggled.connect(self._follow_changed)
        self.follow_points.valueChanged.connect(self._follow_changed)
        self.plot.getViewBox().sigRangeChangedManually.connect(self._zoomed)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / REDRAW_HZ))
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    # ---- what the window calls ---------------------------------------------------------------
    @property
    def point_count(self) -> int:
        return self.table.n

    @property
    def x_column(self) -> str:
        return self.x_choice.currentData() or ""

    @property
    def y_column(self) -> str:
        return self.y_choice.currentData() or ""

    def set_axes(self, x: str | None = None, y: str | None = None) -> None:
        """Choose axes by column name (as the operator does in the choosers)."""
        for combo, name in ((self.x_choice, x), (self.y_choice, y)):
            if name is not None:
                index = combo.findData(name)
                if index < 0:
                    raise ValueError(f"no column {name!r} to plot; have "
                                     f"{[combo.itemData(i) for i in range(combo.count())]}")
                combo.setCurrentIndex(index)

    def begin(self, info: RunInfo, view: PlotView | None = None) -> None:
        """Clear for a new run (live or replay), take its view and natural axes, auto-range."""
        self.view = view or PlotView()
        columns = list(info.columns)
        segment_by = tuple(dict.fromkeys(
            [*SEGMENT_COLUMNS, *(c for c in (self.view.colour_by, self.view.overlay_by) if c)]))
        self.table = PointTable(columns, segment_by, self.view.overlay_by)
        self.units = {**dict(info.columns), POINT_NUMBER: ""}
        if self.table.overlay_by:
            self.units[overlay_column(self.table.overlay_by)] = "s"
        self._envelope = Envelope()
        self._clear_items()
        x, y = natural_axes(self.view, columns)
        for combo, choices, choice in (
                (self.x_choice, self.table.columns + [POINT_NUMBER], x),
                (self.y_choice, columns, y)):
            combo.blockSignals(True)
            combo.clear()
            for column in choices:
                combo.addItem(axis_label(column, self.units.get(column, "")), column)
            combo.setCurrentIndex(combo.findData(choice))
            combo.blockSignals(False)
        title = f"run {info.run_id}: {info.procedure}" if info.run_id else info.procedure
        if info.metadata.get("replay"):
            title += " (replay)"
        self.plot.setTitle(title)
        self.plot.enableAutoRange()
        self._axes_changed()

    def add_points(self, points: list[dict[str, Any]] | np.ndarray) -> None:
        self.table.extend(points)
        self._dirty = True

    def show_levels(self, summary: dict[str, Any]) -> None:
        """Horizontal lines at the view's levels found in an analysis summary."""
        for line in self._levels:
            self.plot.removeItem(line)
        self._levels = []
        for key in self.view.levels:
            value = summary.get(key)
            if isinstance(value, (int, float)) and np.isfinite(value):
                line = pg.InfiniteLine(
                    pos=value, angle=0, pen=pg.mkPen("k", width=1, style=Qt.PenStyle.DashLine),
                    label=f"{key.rsplit('_', 1)[0]} = {value:.4g} {self.units.get(self.y_column, '')}",
                    labelOpts={"position": 0.05, "color": "k", "anchors": [(0, 1), (0, 1)]})
                self.plot.addItem(line)
                self._levels.append(line)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Every point of the run on the chosen axes (what is drawn is decimated from this)."""
        return self.table.column(self.x_column), self.table.column(self.y_column)

    def drawn(self) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
        """What each curve shows now: colour group -> (x, y)."""
        drawn = {}
        for key, curve in self._curves.items():
            parts = [c.getData() for c in (curve, self._live[key]) if c.xData is not None]
            if parts:
                drawn[key] = tuple(np.concatenate(axis) for axis in zip(*parts))
        return drawn

    # ---- drawing -----------------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw the envelope if something changed (the timer calls this; so may tests), and
        space the next frame by what frames cost lately (the median of the last few: the
        occasional full repaint of the cached part does not stall the frames after it)."""
        if not self._dirty:
            return
        started = time.perf_counter()
        self._draw()
        self._costs.append(time.perf_counter() - started + self.plot.last_paint_s)
        interval = min(max(float(np.median(self._costs)) / GUI_SHARE, 1 / REDRAW_HZ), 1.0)
        self._timer.setInterval(int(interval * 1000))

    def _draw(self) -> None:
        self._dirty = False
        x_name, y_name = self.x_column, self.y_column
        self.count_label.setText(f"{self.table.n:,} points")
        if not (x_name and y_name) or self.table.n == 0:
            return
        x, y, seg = self.table.column(x_name), self.table.column(y_name), self.table.segments
        env = self._envelope
        env.track(x, y)
        shown_from = max(self.table.n - self.follow_points.value(), 0) if self.follow.isChecked() \
            else 0
        vb = self.plot.getViewBox()
        if not vb.autoRangeEnabled()[0]:
            x_range = tuple(vb.viewRange()[0])
        else:
            x_range = _finite_range(x[shown_from:]) if shown_from else (env.x_lo, env.x_hi)
        if not x_range[0] <= x_range[1]:
            return
        pixels = max(int(vb.width()), 200)
        env.summarise(x, y, seg, bin_width(x_range[1] - x_range[0], pixels, env.width))
        static_key = (x_name, y_name, env.width, pixels, shown_from > 0,
                      None if vb.autoRangeEnabled()[0] else x_range)
        redo_static = (static_key != self._static_key or shown_from > 0
                       or env.count - self._checkpoint > LIVE_RECORDS)
        if redo_static:
            self._static_key = static_key
            self._checkpoint = 0 if shown_from else max(env.count - 1, 0)
            in_view = env.counts()[(env.bin >= np.floor(x_range[0] / env.width))
                                   & (env.bin <= np.floor(x_range[1] / env.width))]
            self._bars = not few(int(in_view.sum()) - shown_from, pixels)  # the newest, too
        start = 0 if redo_static else self._checkpoint  # records to look at this frame
        records = env.first[start:] + env.counts(start) > shown_from
        colour_by = self.view.colour_by if self.view.colour_by in self.table.columns else None
        if colour_by is None:
            groups = {None: records}
        else:
            record_colour = self.table.column(colour_by)[env.first[start:]]
            groups = {value: records & (record_colour == value)
                      for value in np.unique(record_colour[records])}
        live_records = np.arange(start, env.count) >= self._checkpoint
        for key in list(self._curves):
            if key not in groups:
                self._live[key].setData([], [])
                if redo_static:
                    self._curves[key].setData([], [])
        for key, mask in groups.items():
            static, live = self._curve(key)
            parts = [(live, mask & live_records)]
            if redo_static:
                parts.append((static, mask & ~live_records))
            for item, part in parts:
                drawn = env.draw(x, y, seg, part, x_range, pixels, start, self._bars)
                item.setData(drawn.x, drawn.y, connect=drawn.connect, skipFiniteCheck=True)
                self._raw[item] = drawn.raw
        shown = [c for c in (*self._curves.values(), *self._live.values())
                 if c.xData is not None and len(c.xData)]
        total = sum(len(c.xData) for c in shown)
        raw = all(self._raw.get(c, True) for c in shown)
        with_markers = raw and total <= SYMBOLS_UP_TO  # never markers on an envelope
        for key, markers in self._markers.items():
            if with_markers:
                markers.setData(*self.drawn().get(key, ([], [])))
            elif len(markers.data):
                markers.clear()
        self._set_bounds(x, y, shown_from)
        self._label_groups(x, y)
        self.frames += 1

    def _curve(self, key) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem]:
        """The colour group's two lines, the cached older part (in the legend) and the newest,
        and its markers (shown when few points are drawn one by one)."""
        if key not in self._curves:
            group = self.view.groups.get(key) if key is not None else None
            colour = group.colour if group else DEFAULT_PEN
            name = group.label if group else (None if key is None else f"{self.view.colour_by} "
                                                                       f"{key:g}")
            for items, label in ((self._curves, name), (self._live, None)):
                items[key] = _Curve(pen=pg.mkPen(colour, width=1), name=label)
                self.plot.addItem(items[key], ignoreBounds=True)
            self._curves[key].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self._markers[key] = pg.ScatterPlotItem(size=4, brush=colour, pen=None)
            self.plot.addItem(self._markers[key])
        return self._curves[key], self._live[key]

    def _set_bounds(self, x: np.ndarray, y: np.ndarray, shown_from: int) -> None:
        """Span the invisible bounds item over the data (from point ``shown_from`` on, when
        following the latest); while x only grows, to the next ``HEADROOM`` step beyond the
        data, so the view (and with it the cached part and the axis ticks) changes once a step,
        not every frame. Only a change is set: it repaints the whole plot."""
        env = self._envelope
        if shown_from:
            bounds = tuple(_finite_range(v[shown_from:]) for v in (x, y))
        else:
            bounds = ((env.x_lo, env.x_hi), (env.y_lo, env.y_hi))
            (x0, x1), y_range = bounds
            if env.monotonic and x1 > x0:
                bounds = ((x0, x0 + HEADROOM ** np.ceil(np.log(x1 - x0) / np.log(HEADROOM))),
                          y_range)
        if not all(lo <= hi for lo, hi in bounds):
            return
        if bounds != self._bounds:
            self._bounds = bounds
            self._bounds_item.setData(*(np.array(b, dtype=float) for b in bounds))

    def _label_groups(self, x: np.ndarray, y: np.ndarray) -> None:
        """The view's ``label_by``: each group's curve named at its last point (Hz = ...)."""
        if self.view.label_by is None:
            return
        group_col, value_col = self.view.label_by
        if group_col not in self.table.columns or value_col not in self.table.columns:
            return
        groups = self.table.column(group_col)
        if not len(groups):
            return
        start = max(self._groups_scanned - 1, 0)  # only the rows new since the last frame
        found = start + np.flatnonzero(_differs(groups[start + 1:], groups[start:-1]))
        self._group_ends += found.tolist()
        self._groups_scanned = len(groups)
        ends = [*self._group_ends, len(groups) - 1]
        values = self.table.column(value_col)
        unit = self.units.get(value_col, "")
        while len(self._labels) < len(ends):
            label = pg.TextItem(color="k", anchor=(0, 0.5))
            self.plot.addItem(label)
            self._labels.append(label)
        for label, end in zip(self._labels, ends):
            label.setText(f"{axis_label(value_col, '')} = {values[end]:.4g} {unit}".strip())
            label.setPos(float(x[end]), float(y[end]))

    def _clear_items(self) -> None:
        for item in [*self._curves.values(), *self._live.values(), *self._markers.values(),
                     *self._levels, *self._labels]:
            self.plot.removeItem(item)
        self.legend.clear()
        self._curves, self._live, self._markers, self._levels, self._labels = {}, {}, {}, [], []
        self._raw, self._static_key, self._bounds = {}, None, None
        self._group_ends, self._groups_scanned = [], 0

    def _axes_changed(self, *_):
        self._envelope = Envelope()
        self._static_key = None
        for axis, column in (("bottom", self.x_column), ("left", self.y_column)):
            self.plot.setLabel(axis, axis_label(column, self.units.get(column, "")))
        self.plot.enableAutoRange()
        self._dirty = True
        self.redraw()

    def _follow_changed(self, *_):
        self.plot.enableAutoRange()
        self._dirty = True

    def _zoomed(self, *_):
        """The operator zoomed or panned: re-decimate for the new range."""
        self._dirty = True
