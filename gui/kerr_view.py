"""Kerr images of a run: the latest differential image beside V_AHE while kerr-integrate
runs, and every stored image of a selected run, browsable with a slider.

Images are read from the store in a background task (the Runner routes them there), never in
the GUI thread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QSlider, QVBoxLayout, QWidget


class KerrView(QWidget):
    """An image, its caption, and a slider over the run's images."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images: list[tuple[float, np.ndarray, dict]] = []
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view = pg.PlotWidget(background="w")
        self.view.addItem(self.image)
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setLabel("bottom", "x (pixels)")
        self.caption = QLabel("no Kerr images")
        self.caption.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._show)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.slider)
        layout.addWidget(self.caption)

    def set_images(self, images: list[tuple[float, np.ndarray, dict]], latest: bool = True):
        """Show these (t_s, image, meta) images; the newest differential one when ``latest``."""
        self.images = list(images)
        self.slider.setEnabled(len(self.images) > 1)
        self.slider.setRange(0, max(len(self.images) - 1, 0))
        if not self.images:
            self.image.clear()
            self.caption.setText("no Kerr images")
            return
        index = len(self.images) - 1
        if latest:
            diffs = [i for i, (_, _, m) in enumerate(self.images) if m.get("kind") == "differential"]
            index = diffs[-1] if diffs else index
        self.slider.setValue(index)
        self._show(index)

    def _show(self, index: int) -> None:
        if not 0 <= index < len(self.images):
            return
        t, image, meta = self.images[index]
        levels = np.nanpercentile(image, [1, 99]) if image.size else (0, 1)
        self.image.setImage(np.asarray(image, dtype=float), levels=levels)
        self.image.setColorMap(pg.colormap.get("CET-D1"))  # diverging: dark = switched
        what = ", ".join(f"{k} {v}" for k, v in meta.items())
        self.caption.setText(f"image {index + 1}/{len(self.images)} at t = {t:.3g} s ({what})")
