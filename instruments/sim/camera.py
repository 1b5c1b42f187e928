"""The Kerr camera of the simulated lab: frames of the device model as it is right now.

Like every simulated instrument, a snap first evolves the lab up to the clock's present (under
the lab's lock), then renders the bar with the wall where the model has it. Taking the frame
costs the exposure time on the lab's clock, outside the lock so that other clients of a lab
served in real time are not held up.
"""

from __future__ import annotations

import math

import numpy as np

from dwlab.instruments.sim.kerr_image import bar_geometry_px, render_kerr_image


class SimCamera:
    """``Camera`` over a ``SimLab``: uint16 frames rendered from ``lab.device``.

    ``shape`` None frames the whole bar with a margin. ``bar_rows`` and ``x0_um`` are what a
    ``KerrMicroscope`` needs to report walls in device coordinates.
    """

    def __init__(self, lab, pixel_um: float = 1.0, exposure_s: float = 0.05,
                 shape: tuple[int, int] | None = None):
        self.lab = lab
        self.geometry = bar_geometry_px(lab.device.params, pixel_um, shape)
        self.pixel_um = float(pixel_um)
        self.exposure_s = exposure_s
        self._closed = False

    @property
    def exposure_s(self) -> float:
        return self._exposure_s

    @exposure_s.setter
    def exposure_s(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"exposure_s must be a finite time > 0 s, got {seconds}")
        self._exposure_s = float(seconds)

    @property
    def shape(self) -> tuple[int, int]:
        return self.geometry["shape"]

    @property
    def bar_rows(self) -> tuple[int, int]:
        """(start, stop) of the image rows lying wholly on the bar."""
        inside = self.geometry["rows_inside"]
        return inside.start, inside.stop

    @property
    def x0_um(self) -> float:
        """Device x (µm) of the image's first pixel edge: x = x0_um + pixel_um * column."""
        return -self.geometry["x0_px"] * self.pixel_um

    def snap(self) -> np.ndarray:
        """One frame of the device now; the lab clock then moves on by the exposure."""
        if self._closed:
            raise RuntimeError("camera is closed")
        with self.lab.lock:
            self.lab.advance()
            frame = render_kerr_image(self.lab.device, self.lab.stream("camera"), pixel_um=self.pixel_um,
                                      exposure_s=self.exposure_s, t_s=self.lab.clock.now(),
                                      shape=self.shape)
        self.lab.clock.sleep(self.exposure_s)
        return frame

    def close(self) -> None:
        self._closed = True
