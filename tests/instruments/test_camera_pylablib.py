"""pylablib adapter, checked against a test double with pylablib's own method names and rules."""

import math

import numpy as np
import pytest

from dwlab.instruments import camera_pylablib
from dwlab.instruments.camera_pylablib import CameraUnavailableError, PylablibCamera, open_camera
from dwlab.instruments.kerr import Camera

WIDTH, HEIGHT = 640, 480  # sensor: wider than tall, so a transposed frame is caught


class FakePylablibCamera:
    """Stands in for an ``IBinROICamera``/``IExposureCamera`` (e.g. DCAMCamera, ThorlabsTLCamera).

    Follows pylablib: exposure in seconds rounded to the sensor's 1 µs step (as TLCamera does
    with ``int(exposure/1E-6)``), ROI as (hstart, hend, vstart, vend, hbin, vbin), frames
    indexed by ``set_image_indexing`` and served from one reused driver buffer.
    """

    def __init__(self, idx=0):
        self.idx = idx
        self.calls = []
        self._exposure = 0.1
        self._indexing = "rct"
        self._roi = (0, WIDTH, 0, HEIGHT, 1, 1)
        self._buffer = None
        self.closed = False

    def set_image_indexing(self, indexing):
        self.calls.append(("set_image_indexing", indexing))
        self._indexing = indexing
        return indexing

    def set_exposure(self, exposure):
        self.calls.append(("set_exposure", exposure))
        self._exposure = int(exposure / 1e-6) * 1e-6
        return self._exposure

    def get_exposure(self):
        return self._exposure

    def get_detector_size(self):
        return WIDTH, HEIGHT

    def get_roi(self):
        return self._roi

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None, hbin=1, vbin=1):
        self.calls.append(("set_roi", hstart, hend, vstart, vend, hbin, vbin))
        hend = WIDTH if hend is None else min(hend, WIDTH)
        vend = HEIGHT if vend is None else min(vend, HEIGHT)
        hstart -= hstart % 4  # this sensor's ROI position step is 4 px
        self._roi = (hstart, hend, vstart, vend, hbin, vbin)
        return self._roi

    def get_data_dimensions(self):
        hstart, hend, vstart, vend, hbin, vbin = self._roi
        rows, cols = (vend - vstart) // vbin, (hend - hstart) // hbin
        return (rows, cols) if self._indexing.startswith("rc") else (cols, rows)

    def snap(self, timeout=5.0, return_info=False):
        self.calls.append(("snap", timeout))
        rows, cols = self.get_data_dimensions() if self._indexing.startswith("rc") else self.get_data_dimensions()[::-1]
        if self._buffer is None or self._buffer.shape != (rows, cols):
            self._buffer = np.empty((rows, cols), dtype=np.uint16)
        # counts rise along the columns and, less, down the rows
        self._buffer[:] = 10 * np.arange(cols)[None, :] + np.arange(rows)[:, None]
        return self._buffer if self._indexing.startswith("rc") else self._buffer.T

    def close(self):
        self.calls.append(("close",))
        self.closed = True

    def open(self):
        self.closed = False


def test_adapter_sets_row_first_indexing_and_frames_match_shape():
    device = FakePylablibCamera()
    device.set_image_indexing("xyb")  # left by an earlier user
    cam = PylablibCamera(device)
    assert isinstance(cam, Camera)
    assert device.calls[-1] == ("set_image_indexing", "rct")
    assert cam.shape == (HEIGHT, WIDTH)
    frame = cam.snap()
    assert frame.shape == cam.shape
    assert frame.dtype == np.uint16
    assert frame[0, 1] - frame[0, 0] == 10  # columns run along the sensor's width
    assert frame[1, 0] - frame[0, 0] == 1


def test_snap_passes_the_timeout_and_copies_out_of_the_driver_buffer():
    device = FakePylablibCamera()
    cam = PylablibCamera(device, timeout_s=2.5)
    first = cam.snap()
    kept = first.copy()
    device._buffer[:] = 0  # the driver reuses its buffer for the next frame
    assert np.array_equal(first, kept)
    assert ("snap", 2.5) in device.calls


def test_exposure_in_seconds_reads_back_what_the_camera_took():
    device = FakePylablibCamera()
    cam = PylablibCamera(device)
    cam.exposure_s = 0.0500004
    assert device.calls[-1] == ("set_exposure", 0.0500004)
    assert cam.exposure_s == pytest.approx(0.050, abs=1e-9)  # rounded by the camera
    for bad in (0.0, -0.01, float("nan")):
        with pytest.raises(ValueError, match="exposure_s must be a finite time > 0 s"):
            cam.exposure_s = bad


def test_roi_is_rows_then_columns_and_reports_what_the_camera_took():
    device = FakePylablibCamera()
    cam = PylablibCamera(device)
    assert cam.roi == ((0, HEIGHT), (0, WIDTH))
    taken = cam.set_roi(rows=(100, 140), cols=(50, 450))
    assert device.calls[-1] == ("set_roi", 50, 450, 100, 140, 1, 1)
    assert taken == ((100, 140), (48, 450))  # column start snapped to the sensor's step
    assert cam.shape == (40, 402)
    assert cam.snap().shape == (40, 402)
    cam.set_roi(rows=(0, 480), cols=(0, 640), binning=2)
    assert device.calls[-1] == ("set_roi", 0, 640, 0, 480, 2, 2)
    assert cam.shape == (240, 320)
    with pytest.raises(ValueError, match=r"rows must satisfy 0 <= start < stop, got \(5, 5\)"):
        cam.set_roi(rows=(5, 5), cols=(0, 10))


def test_colour_frames_are_refused():
    device = FakePylablibCamera()
    cam = PylablibCamera(device)
    device.snap = lambda timeout=5.0, return_info=False: np.zeros((4, 6, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"monochrome 2-D frame.*\(4, 6, 3\)"):
        cam.snap()


def test_open_camera_builds_the_pylablib_class_with_its_arguments(monkeypatch):
    import pylablib.devices.DCAM

    made = []

    def fake_dcam(**kwargs):
        made.append(FakePylablibCamera(**kwargs))
        return made[-1]

    monkeypatch.setattr(pylablib.devices.DCAM, "DCAMCamera", fake_dcam)
    cam = open_camera("dcam", idx=1, timeout_s=3.0)
    assert made[0].idx == 1
    assert cam.device is made[0]
    assert cam.timeout_s == 3.0
    cam.close()
    assert made[0].closed


def test_open_camera_explains_a_missing_sdk(monkeypatch):
    import pylablib.devices.Thorlabs

    def no_dll(**kwargs):  # what pylablib raises when the vendor DLL is absent
        raise OSError("DLLs are untested and not available on non-Windows platform by default")

    monkeypatch.setattr(pylablib.devices.Thorlabs, "ThorlabsTLCamera", no_dll)
    with pytest.raises(CameraUnavailableError, match=r"'thorlabs_tlcam'.*ThorlabsTLCamera.*SDK.*OSError"):
        open_camera("thorlabs_tlcam")
    monkeypatch.setitem(camera_pylablib.CAMERA_CLASSES, "acme", ("pylablib.devices.NoSuchVendor", "AcmeCamera"))
    with pytest.raises(CameraUnavailableError, match="ModuleNotFoundError"):
        open_camera("acme")


def test_open_camera_refuses_an_unknown_kind_and_lists_the_known():
    with pytest.raises(ValueError, match=r"unknown camera kind 'hamamatsu'.*dcam.*pco"):
        open_camera("hamamatsu")


def test_a_failing_adapter_does_not_leave_the_camera_open(monkeypatch):
    import pylablib.devices.DCAM

    device = FakePylablibCamera()
    device.set_image_indexing = None  # not callable: the adapter's setup fails
    monkeypatch.setattr(pylablib.devices.DCAM, "DCAMCamera", lambda **kw: device)
    with pytest.raises(TypeError):
        open_camera("dcam")
    assert device.closed


class FakeBaslerCamera(FakePylablibCamera):
    """Like pylablib's ``BaslerPylonCamera``: an ``IROICamera`` whose ``set_roi`` has no
    hbin/vbin and whose ``get_roi`` gives (hstart, hend, vstart, vend)."""

    def get_roi(self):
        return self._roi[:4]

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None):
        return super().set_roi(hstart, hend, vstart, vend)[:4]


class FakeImaqCamera(FakeBaslerCamera):
    """Like pylablib's ``IMAQCamera``: a frame grabber, with no binning and no exposure
    calls."""

    def __getattribute__(self, name):
        if name in ("set_exposure", "get_exposure"):
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_the_fakes_have_the_calls_of_the_pylablib_classes_they_stand_for():
    from pylablib.devices.Basler import BaslerPylonCamera
    from pylablib.devices.DCAM import DCAMCamera
    from pylablib.devices.IMAQ import IMAQCamera

    for real, fake in ((BaslerPylonCamera, FakeBaslerCamera()), (DCAMCamera, FakePylablibCamera()),
                       (IMAQCamera, FakeImaqCamera())):
        assert camera_pylablib.supports_binning(real) == camera_pylablib.supports_binning(fake)
        assert camera_pylablib.has_exposure(real) == camera_pylablib.has_exposure(fake)
    assert not camera_pylablib.supports_binning(BaslerPylonCamera)
    assert not camera_pylablib.has_exposure(IMAQCamera)


def test_basler_roi_without_binning_and_binning_refused_in_one_line():
    device = FakeBaslerCamera()
    cam = PylablibCamera(device)
    assert cam.set_roi(rows=(10, 50), cols=(8, 108)) == ((10, 50), (8, 108))
    assert device.calls[-1] == ("set_roi", 8, 108, 10, 50, 1, 1)
    with pytest.raises(camera_pylablib.CameraFeatureError,
                       match=r"^camera FakeBaslerCamera reads out no binned ROI: binning must be 1, "
                             r"got 2$"):
        cam.set_roi(rows=(0, 480), cols=(0, 640), binning=2)
    assert cam.roi == ((10, 50), (8, 108))  # nothing was sent


def test_a_frame_grabber_has_no_exposure_to_read_or_set():
    device = FakeImaqCamera()
    cam = PylablibCamera(device)
    assert math.isnan(cam.exposure_s)
    with pytest.raises(camera_pylablib.CameraFeatureError,
                       match=r"^camera FakeImaqCamera has no exposure control .*exposure_s = 0.05 s$"):
        cam.exposure_s = 0.05
    assert cam.snap().shape == (HEIGHT, WIDTH)  # frames still come


# ---- against pylablib's own camera classes --------------------------------------------------
# ``pylablib-lightweight`` (the test extra) brings pylablib's camera interface without a vendor
# SDK. SensorCamera implements only what a vendor driver implements (the sensor's hooks); the
# indexing, the acquisition and frame bookkeeping, grab() and snap() are pylablib's own code.
from pylablib.devices.interface.camera import IBinROICamera, IExposureCamera  # noqa: E402


class SensorCamera(IBinROICamera, IExposureCamera):
    """A 640 x 480 sensor through pylablib's ICamera machinery; frames count up from 0."""

    def __init__(self):
        super().__init__()
        self._opened, self._running, self._acquired = True, False, 0
        self._exposure = 0.1
        self._roi = (0, WIDTH, 0, HEIGHT, 1, 1)

    # what every vendor driver provides
    def open(self):
        self._opened = True

    def close(self):
        self._opened = False

    def is_opened(self):
        return self._opened

    def get_detector_size(self):
        return WIDTH, HEIGHT

    def get_exposure(self):
        return self._exposure

    def set_exposure(self, exposure):
        self._exposure = round(exposure / 1e-6) * 1e-6  # a 1 µs step
        return self._exposure

    def get_roi(self):
        return self._roi

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None, hbin=1, vbin=1):
        hend = WIDTH if hend is None else min(hend, WIDTH)
        vend = HEIGHT if vend is None else min(vend, HEIGHT)
        self._roi = (hstart - hstart % 4, hend, vstart, vend, hbin, vbin)
        return self._roi

    def _get_data_dimensions_rc(self):
        hstart, hend, vstart, vend, hbin, vbin = self._roi
        return (vend - vstart) // vbin, (hend - hstart) // hbin

    def setup_acquisition(self, mode="sequence", nframes=100):
        super().setup_acquisition(mode=mode, nframes=nframes)

    def start_acquisition(self, *args, **kwargs):
        self.stop_acquisition()
        super().start_acquisition(*args, **kwargs)
        self._frame_counter.reset(self._acq_params["nframes"])
        self._running, self._acquired = True, 0

    def stop_acquisition(self):
        self._running = False

    def acquisition_in_progress(self):
        return self._running

    def _get_acquired_frames(self):
        self._acquired += 1  # one frame per poll: the sensor is fast
        return self._acquired

    def _read_frames(self, rng, return_info=False):
        rows, cols = self._get_data_dimensions_rc()
        frame = 10 * np.arange(cols, dtype=np.uint16)[None, :] + np.arange(rows,
                                                                           dtype=np.uint16)[:, None]
        return [frame.copy() for _ in range(*rng)], None


def test_adapter_over_pylablibs_camera_machinery_gives_rows_first_frames():
    device = SensorCamera()
    device.set_image_indexing("xyb")  # left transposed and flipped by an earlier user
    cam = PylablibCamera(device)
    assert device.get_image_indexing() == "rct"
    assert cam.shape == (HEIGHT, WIDTH)
    frame = cam.snap()  # pylablib's snap: start, wait for a frame, read it, stop
    assert frame.shape == (HEIGHT, WIDTH) and frame.dtype == np.uint16
    assert frame[0, 1] - frame[0, 0] == 10 and frame[1, 0] - frame[0, 0] == 1
    assert not device.acquisition_in_progress()


def test_adapter_roi_and_exposure_through_pylablibs_interface():
    device = SensorCamera()
    cam = PylablibCamera(device)
    taken = cam.set_roi(rows=(100, 140), cols=(50, 450))
    assert taken == ((100, 140), (48, 450))
    assert cam.snap().shape == cam.shape == (40, 402)
    cam.set_roi(rows=(0, HEIGHT), cols=(0, WIDTH), binning=2)
    assert cam.snap().shape == (HEIGHT // 2, WIDTH // 2)
    cam.exposure_s = 0.0500004
    assert cam.exposure_s == pytest.approx(0.05, abs=1e-9)
    cam.close()
    assert not device.is_opened()
