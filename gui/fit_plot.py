"""An analysis result's fit over the points it was fitted to (``FitOverlay``, offered by the
result itself), e.g. the return velocities against Hz with the creep law (Fig 4b/e): the
points as markers, each labelled (its Hz), the fit as a line. Hidden when there is none."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from dwlab.procedures.plot_view import FitOverlay

POINTS = "#1f4e9c"
FIT = "#d62728"


class FitPlot(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.overlay: FitOverlay | None = None
        self.legend = self.addLegend(offset=(-10, 10))
        self.setMinimumHeight(220)
        self.hide()

    def show_overlay(self, overlay: FitOverlay | None) -> None:
        """Draw ``overlay`` (None: clear and hide)."""
        self.overlay = overlay
        self.clear()
        self.legend.clear()
        if overlay is None:
            self.hide()
            return
        item = self.getPlotItem()
        item.setLogMode(y=overlay.log_y)
        item.setTitle(overlay.title)
        item.setLabel("bottom", overlay.x_label)
        item.setLabel("left", overlay.y_label)
        self.plot(np.array(overlay.fit_x), np.array(overlay.fit_y),
                  pen=pg.mkPen(FIT, width=2), name=overlay.fit_label)
        if overlay.points:
            x, y, labels = zip(*overlay.points)
            self.plot(np.array(x), np.array(y), pen=None, symbol="o", symbolSize=8,
                      symbolBrush=POINTS, symbolPen=None, name="measured")
            for xi, yi, label in overlay.points:  # in log mode items sit at log10(y)
                text = pg.TextItem(label, color="k", anchor=(0, 1))
                text.setPos(xi, np.log10(yi) if overlay.log_y else yi)
                self.addItem(text)
        self.show()
