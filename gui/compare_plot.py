"""Stored runs of one procedure overlaid in one plot (like PyMeasure's results overlay): each
run one colour, drawn on its procedure's natural axes (``PLOT_VIEW``), time from each run's
own start, so a cycle, a loop or a return can be laid over the same one of another sample.

``load_curves`` reads and thins the runs (a background task); ``ComparePlot`` only draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from dwlab import computed
from dwlab.gui.live_plot import axis_label
from dwlab.gui.run_details import view_of

MAX_POINTS = 20_000  # per run: a stride keeps the overlay light whatever the runs' sizes
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22")


@dataclass(frozen=True)
class Curve:
    """One run's points on the procedure's axes, thinned to at most ``MAX_POINTS``."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Comparison:
    procedure: str
    x_label: str
    y_label: str
    curves: tuple[Curve, ...]


def load_curves(store, run_ids: list[int]) -> Comparison:
    """The runs' points on their procedure's axes. Raises ValueError, naming the runs, when
    they are not all of one procedure (their axes would not mean the same thing)."""
    records = [store.get_run(run_id) for run_id in run_ids]
    procedures = sorted({r.procedure for r in records})
    if len(procedures) != 1:
        raise ValueError(f"runs {', '.join(map(str, run_ids))} are of {len(procedures)} "
                         f"procedures ({', '.join(procedures)}); compare runs of one procedure")
    view = view_of(procedures[0])
    curves = []
    for record in records:
        frame = store.dataframe(record.id)
        if len(frame) == 0 or view.x not in frame or view.y not in frame:
            continue  # a run that stored nothing has nothing to lay over the others
        stride = max(1, -(-len(frame) // MAX_POINTS))
        x = frame[view.x].to_numpy()[::stride]
        if view.x == "t_s":
            x = x - x[0]  # time from the run's own start
        lab = computed.lab(record.procedure, record.simulated)
        suffix = "" if lab == "real" else f" ({lab})"
        curves.append(Curve(f"run {record.id}: {record.sample}{suffix}, {record.status}",
                            x, frame[view.y].to_numpy()[::stride]))
    units = records[0].columns
    x_label = ("time from run start (s)" if view.x == "t_s"
               else axis_label(view.x, units.get(view.x, "")))
    return Comparison(procedures[0], x_label, axis_label(view.y, units.get(view.y, "")),
                      tuple(curves))


class ComparePlot(pg.PlotWidget):
    """The overlay of a ``Comparison``; hidden until there is one."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.comparison: Comparison | None = None
        self.legend = self.addLegend(offset=(-10, 10))
        self.setMinimumHeight(220)
        self.hide()

    def show_comparison(self, comparison: Comparison | None) -> None:
        """Draw ``comparison`` (None: clear and hide)."""
        self.comparison = comparison
        self.clear()
        self.legend.clear()
        if comparison is None:
            self.hide()
            return
        item = self.getPlotItem()
        item.setTitle(f"{comparison.procedure}: {len(comparison.curves)} runs overlaid")
        item.setLabel("bottom", comparison.x_label)
        item.setLabel("left", comparison.y_label)
        for i, curve in enumerate(comparison.curves):
            self.plot(curve.x, curve.y, pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=1),
                      name=curve.label, skipFiniteCheck=True)
        self.getPlotItem().enableAutoRange()
        self.show()
