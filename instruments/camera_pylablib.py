"""Real Kerr cameras through pylablib, adapted to the microscope's ``Camera`` protocol.

pylablib wraps each vendor SDK (Hamamatsu DCAM, Andor, Thorlabs, PCO, ...) behind one
interface: ``set_exposure``/``get_exposure`` in seconds, ``snap``, ``get_data_dimensions``,
``get_roi``/``set_roi`` in (horizontal, vertical) order, ``close``. The adapter fixes what the
microscope relies on: frames indexed rows first from the top, exposure in seconds, the frame
copied out of the driver's buffer, and ROI given as (rows, columns) like the array it yields.
Not every class has every call: binning exists only where ``set_roi`` takes ``hbin``/``vbin``
(not on Basler's ``BaslerPylonCamera``: binning > 1 is refused there), and a frame grabber
(IMAQ) has no exposure control at all (the camera head sets it: ``exposure_s`` reads NaN and
setting it is refused).

Vendor modules are imported only when a camera is opened, so dwlab runs without any SDK.
"""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np

from dwlab.drivers import DRIVERS
from dwlab.errors import Failure

#: camera kind -> (pylablib module, class): the camera rows of dwlab.drivers.DRIVERS
CAMERA_CLASSES: dict[str, tuple[str, str]] = {
    name: tuple(row.cls.split(":")) for name, row in DRIVERS.items()
    if row.interface == "camera" and row.cls.startswith("pylablib.")
}


class CameraUnavailableError(Failure, RuntimeError):
    """The vendor SDK behind a pylablib camera class is missing or cannot be loaded."""


class CameraFeatureError(ValueError):
    """The camera class has no such control (binning, exposure)."""


def supports_binning(camera) -> bool:
    """Whether this pylablib camera (class or instance) bins in ``set_roi(hbin=, vbin=)``."""
    parameters = inspect.signature(camera.set_roi).parameters
    return "hbin" in parameters and "vbin" in parameters


def has_exposure(camera) -> bool:
    """Whether this pylablib camera (class or instance) sets its own exposure."""
    return callable(getattr(camera, "set_exposure", None)) and \
        callable(getattr(camera, "get_exposure", None))


class PylablibCamera:
    """A pylablib camera seen as a ``Camera``: 2-D frames, rows first, exposure in s."""

    def __init__(self, pylablib_camera, timeout_s: float = 5.0):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.device = pylablib_camera
        self.timeout_s = float(timeout_s)
        # rows first, counted from the top: what numpy and the microscope's bar_axis expect
        self.device.set_image_indexing("rct")

    @property
    def exposure_s(self) -> float:
        """The exposure in s; NaN when the class has no exposure control (a frame grabber)."""
        if not has_exposure(self.device):
            return math.nan
        return float(self.device.get_exposure())

    @exposure_s.setter
    def exposure_s(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"exposure_s must be a finite time > 0 s, got {seconds}")
        if not has_exposure(self.device):
            raise CameraFeatureError(
                f"{self._name} has no exposure control (a frame grabber): set the exposure "
                f"on the camera head, not exposure_s = {seconds:g} s")
        self.device.set_exposure(float(seconds))  # the camera rounds it to its own step

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.device.get_data_dimensions()  # (rows, columns) under "rct"
        return int(rows), int(cols)

    def snap(self) -> np.ndarray:
        """One frame of raw counts, in the camera's integer dtype, owned by the caller."""
        frame = np.array(self.device.snap(timeout=self.timeout_s), copy=True)
        if frame.ndim != 2:
            raise ValueError(f"expected a monochrome 2-D frame, the camera gave shape {frame.shape}")
        return frame

    @property
    def roi(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Region read out, as ((row_start, row_stop), (col_start, col_stop)) in sensor pixels."""
        hstart, hend, vstart, vend = self.device.get_roi()[:4]
        return (int(vstart), int(vend)), (int(hstart), int(hend))

    def set_roi(self, rows: tuple[int, int], cols: tuple[int, int], binning: int = 1):
        """Read out only ``rows`` x ``cols`` (stop exclusive); returns the ROI the camera took."""
        for name, (start, stop) in (("rows", rows), ("cols", cols)):
            if not 0 <= start < stop:
                raise ValueError(f"{name} must satisfy 0 <= start < stop, got {(start, stop)}")
        if int(binning) != binning or binning < 1:
            raise ValueError(f"binning must be an integer >= 1, got {binning}")
        if binning > 1 and not supports_binning(self.device):
            raise CameraFeatureError(f"{self._name} reads out no binned ROI: binning must be 1, "
                                     f"got {binning}")
        bins = {} if binning == 1 else {"hbin": int(binning), "vbin": int(binning)}
        self.device.set_roi(hstart=cols[0], hend=cols[1], vstart=rows[0], vend=rows[1], **bins)
        return self.roi

    @property
    def _name(self) -> str:
        return f"camera {type(self.device).__name__}"

    def close(self) -> None:
        self.device.close()


def open_camera(kind: str, timeout_s: float = 5.0, **kwargs) -> PylablibCamera:
    """Open a pylablib camera by kind ("dcam", "andor_sdk3", "thorlabs_tlcam", "pco", ...).

    ``kwargs`` go to the pylablib class (``idx=0``, ``serial=...``). Raises
    ``CameraUnavailableError`` when the vendor SDK cannot be imported or loaded.
    """
    if kind not in CAMERA_CLASSES:
        raise ValueError(f"unknown camera kind {kind!r}; known: {', '.join(sorted(CAMERA_CLASSES))}")
    module_name, class_name = CAMERA_CLASSES[kind]
    where = f"{module_name}.{class_name}"
    try:
        camera_class = getattr(importlib.import_module(module_name), class_name)
        device = camera_class(**kwargs)
    except (ImportError, OSError, AttributeError) as err:
        # AttributeError: pylablib reaches for ctypes.windll where a Windows-only SDK is absent
        raise CameraUnavailableError(
            f"cannot open a {kind!r} camera ({where}): its vendor SDK is missing or failed to load "
            f"({type(err).__name__}: {err})"
        ) from err
    try:
        return PylablibCamera(device, timeout_s=timeout_s)
    except Exception:
        device.close()  # do not leave the camera open behind a failed adapter
        raise
