"""Kerr microscope: Otsu, wall extraction from synthetic differential images, averaging, tracking."""

import numpy as np
import pytest

from dwlab.clock import VirtualClock
from dwlab.instruments.kerr import (
    Camera,
    KerrMicroscope,
    NoWallError,
    otsu_threshold,
    wall_position_px,
)

SHAPE = (40, 200)  # rows across the bar, columns along it
BAR_ROWS = (15, 25)


def area_sampled_band(n, start_px, stop_px):
    """Fraction of each pixel [i, i+1) covered by the switched band [start_px, stop_px)."""
    i = np.arange(n)
    return np.clip(np.minimum(i + 1, stop_px) - np.maximum(i, start_px), 0.0, 1.0)


def illumination(shape):
    """Uneven illumination: a tilted vignette, +-30 % over the field."""
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    return 1000.0 * (1.0 + 0.3 * np.exp(-((c - 70) ** 2) / 8000.0) - 0.1 * c / shape[1] + 0.05 * r / shape[0])


class SceneCamera:
    """A camera looking at a bar with a switched band: Kerr contrast on uneven light, shot noise."""

    def __init__(self, seed=0, shape=SHAPE, kerr=0.03):
        self.rng = np.random.default_rng(seed)
        self.shape = shape
        self.kerr = kerr
        self.exposure_s = 0.05
        self.band = (5.0, 5.0)  # switched region along the bar, pixels
        self.brightness = 1.0  # lamp drift
        self.clock = None  # set to advance a virtual clock by the exposure

    def snap(self):
        m = np.zeros(self.shape)
        m[BAR_ROWS[0] : BAR_ROWS[1], :] = 2 * area_sampled_band(self.shape[1], *self.band) - 1
        light = self.brightness * illumination(self.shape)
        light[BAR_ROWS[0] : BAR_ROWS[1], :] *= 1 + self.kerr * m[BAR_ROWS[0] : BAR_ROWS[1], :]
        if self.clock is not None:
            self.clock.sleep(self.exposure_s)
        return self.rng.poisson(light).astype(np.uint16)

    def close(self):
        pass


def synthetic_diff(rng, wall_px, start_px=5.0, contrast=60.0, noise=30.0, drift=0.01):
    """Differential image: switched band x contrast, lamp drift x illumination, white noise."""
    light = illumination(SHAPE) / 1000.0
    diff = drift * 1000.0 * light + rng.normal(0.0, noise, SHAPE)
    diff[BAR_ROWS[0] : BAR_ROWS[1], :] += contrast * light[BAR_ROWS[0] : BAR_ROWS[1], :] * area_sampled_band(
        SHAPE[1], start_px, wall_px
    )
    return diff


def test_otsu_splits_a_bimodal_sample_between_its_modes():
    rng = np.random.default_rng(1)
    for weight in (0.2, 0.5, 0.8):
        n_lo = int(2000 * weight)
        values = np.concatenate((rng.normal(0.0, 1.0, n_lo), rng.normal(10.0, 1.0, 2000 - n_lo)))
        t = otsu_threshold(rng.permutation(values))
        assert 3.5 < t < 6.5
        # every point is classified as it was drawn, but for the very rare far tail
        assert np.mean((values > t) == (np.arange(2000) >= n_lo)) > 0.999


def test_otsu_threshold_maximises_the_between_class_variance():
    rng = np.random.default_rng(2)
    values = np.concatenate((rng.normal(0, 1, 50), rng.normal(4, 2, 30)))
    t = otsu_threshold(values)

    def between(th):
        lo, hi = values[values <= th], values[values > th]
        return lo.size * hi.size * (lo.mean() - hi.mean()) ** 2

    candidates = np.sort(values)[1:-1]
    assert between(t) >= max(between(c) for c in candidates) - 1e-9


@pytest.mark.parametrize("bar_axis", [1, 0])
def test_wall_found_within_a_pixel_over_many_positions(bar_axis):
    """Noise, uneven illumination and lamp drift; the band starts at a fixed junction."""
    rng = np.random.default_rng(3)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), pixel_um=1.0, bar_axis=1, bar_rows=BAR_ROWS)
    if bar_axis == 0:
        scope = KerrMicroscope(SceneCamera(shape=SHAPE[::-1]), VirtualClock(), bar_axis=0, bar_rows=BAR_ROWS)
    errors = []
    for wall in np.linspace(12.3, 190.8, 47):
        diff = synthetic_diff(rng, wall)
        errors.append(scope.dw_position_um(diff if bar_axis == 1 else diff.T) - wall)
    errors = np.abs(errors)
    assert errors.max() < 1.0
    assert errors.mean() < 0.3  # sub-pixel, not just the nearest pixel edge


def test_wall_of_a_step_touching_the_image_edge_and_of_a_negative_contrast():
    rng = np.random.default_rng(4)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    for wall in (37.6, 121.2):
        assert scope.dw_position_um(synthetic_diff(rng, wall, start_px=0.0)) == pytest.approx(wall, abs=1.0)
        assert scope.dw_position_um(synthetic_diff(rng, wall, contrast=-60.0)) == pytest.approx(wall, abs=1.0)


def test_near_edge_picks_a_wall_come_back_from_the_notch():
    """Reference saturated: the region the wall swept on its way back is a band up to the notch."""
    rng = np.random.default_rng(5)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    for wall in (30.4, 100.9):
        diff = synthetic_diff(rng, 170.0, start_px=wall)
        assert scope.dw_position_um(diff, edge="near") == pytest.approx(wall, abs=1.0)
        assert scope.dw_position_um(diff, edge="far") == pytest.approx(170.0, abs=1.0)


def test_a_narrow_domain_next_to_the_junction_is_a_wall_but_a_noise_blip_is_not():
    rng = np.random.default_rng(14)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    for wall in (6.5, 7.2):  # 1.5 and 2.2 px past the junction at pixel 5
        diff = synthetic_diff(rng, wall, noise=10.0)
        assert scope.dw_position_um(diff) == pytest.approx(wall, abs=1.0)
    profile = np.where(np.arange(100) < 40, 10.0, 0.0) + rng.normal(0, 0.3, 100)
    profile[70] = 6.0  # over the threshold, but not decisively on the switched level
    assert wall_position_px(profile) == pytest.approx(40.0, abs=0.5)


def test_pixel_size_and_origin_map_pixels_to_device_microns():
    rng = np.random.default_rng(6)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), pixel_um=0.5, bar_rows=BAR_ROWS,
                           x0_um=-2.5)
    diff = synthetic_diff(rng, 84.0)  # 84 px from the image start
    assert scope.dw_position_um(diff) == pytest.approx(-2.5 + 0.5 * 84.0, abs=0.5)


def test_no_contrast_raises_instead_of_returning_a_position():
    rng = np.random.default_rng(7)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    for _ in range(20):  # pure noise plus lamp drift: Otsu always splits it, the check must refuse
        with pytest.raises(NoWallError, match="no wall"):
            scope.dw_position_um(synthetic_diff(rng, 5.0))
    with pytest.raises(NoWallError, match="no wall"):
        wall_position_px(np.full(50, 3.0))


def test_several_walls_are_refused():
    profile = np.zeros(120)
    profile[10:30] = 50.0
    profile[60:80] = 50.0
    with pytest.raises(NoWallError, match="4 boundaries"):
        wall_position_px(profile + np.random.default_rng(8).normal(0, 1, 120))


def test_averaging_reduces_noise_as_one_over_sqrt_n():
    cam = SceneCamera(seed=9)
    scope = KerrMicroscope(cam, VirtualClock())
    light = illumination(SHAPE)
    for n in (1, 4, 16):
        residual = (scope.snap_averaged(n) - light)[:, :]
        residual[BAR_ROWS[0] : BAR_ROWS[1], :] = np.nan  # leave out the bar's Kerr contrast
        expected = np.sqrt(light / n)  # shot noise of the mean of n frames
        ratio = np.nanstd(residual / expected)
        assert ratio == pytest.approx(1.0, rel=0.03)


def test_microscope_pipeline_recovers_the_wall_through_reference_and_drift():
    clock = VirtualClock()
    cam = SceneCamera(seed=10)
    cam.clock = clock
    scope = KerrMicroscope(cam, clock, bar_rows=BAR_ROWS)
    assert isinstance(cam, Camera)
    scope.take_reference(8)
    assert clock.now() == pytest.approx(8 * 0.05)
    for wall in (22.7, 64.2, 143.5):
        cam.band = (5.0, wall)
        cam.brightness = 1.005  # lamp drift since the reference
        diff = scope.differential(4)
        assert scope.last_time_s == pytest.approx(clock.now() - 2 * 0.05)
        assert scope.dw_position_um(diff) == pytest.approx(wall, abs=1.0)


def test_lamp_drift_without_a_wall_is_not_taken_for_one():
    """A 10 % brighter lamp over a vignetted field is a smooth bump in a raw difference.

    Without dividing by the reference this bump passes Otsu and the contrast test (a false
    wall near pixel 130); normalised it is a flat offset.
    """
    cam = SceneCamera(seed=13)
    scope = KerrMicroscope(cam, VirtualClock(), bar_rows=BAR_ROWS)
    scope.take_reference(64)
    cam.brightness = 1.10
    with pytest.raises(NoWallError, match="no wall"):
        scope.dw_position_um(scope.differential(64))
    cam.band = (5.0, 77.3)
    assert scope.dw_position_um(scope.differential(64)) == pytest.approx(77.3, abs=1.0)


def test_velocity_fit_recovers_a_known_speed():
    rng = np.random.default_rng(11)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    times = np.linspace(0.0, 0.8, 17)
    speed_um_s, x_start = 180.0, 20.0
    frames = [synthetic_diff(rng, x_start + speed_um_s * t) for t in times]
    track = scope.track(frames, times)
    assert track.velocity_um_s == pytest.approx(speed_um_s, rel=0.01)
    assert track.intercept_um == pytest.approx(x_start, abs=0.5)
    assert 0 < track.velocity_err_um_s < 1.0
    assert np.abs(track.positions_um - (x_start + speed_um_s * times)).max() < 1.0


def test_track_names_the_frame_without_a_wall():
    rng = np.random.default_rng(12)
    scope = KerrMicroscope(SceneCamera(), VirtualClock(), bar_rows=BAR_ROWS)
    frames = [synthetic_diff(rng, 50.0), synthetic_diff(rng, 5.0)]
    with pytest.raises(NoWallError, match="frame 1"):
        scope.track(frames, [0.0, 0.1])
    with pytest.raises(ValueError, match="2 frames but 3 times"):
        scope.track(frames, [0.0, 0.1, 0.2])


def test_missing_reference_and_shape_mismatch_are_clear_errors():
    cam = SceneCamera()
    scope = KerrMicroscope(cam, VirtualClock(), bar_rows=BAR_ROWS)
    with pytest.raises(RuntimeError, match="take_reference"):
        scope.differential()
    scope.take_reference(2)
    cam.shape = (40, 100)  # ROI changed after the reference
    with pytest.raises(ValueError, match=r"reference shape \(40, 200\).*\(40, 100\)"):
        scope.differential()
    with pytest.raises(ValueError, match="diff_image shape"):
        scope.dw_position_um(np.zeros((40, 100)))


def test_bad_parameters_are_refused_with_name_and_value():
    cam = SceneCamera()
    with pytest.raises(ValueError, match="pixel_um must be > 0, got -1"):
        KerrMicroscope(cam, VirtualClock(), pixel_um=-1)
    with pytest.raises(ValueError, match="bar_rows .* <= 40, got \\(30, 50\\)"):
        KerrMicroscope(cam, VirtualClock(), bar_rows=(30, 50))
    with pytest.raises(ValueError, match="n .* >= 1, got 0"):
        KerrMicroscope(cam, VirtualClock()).snap_averaged(0)
    with pytest.raises(ValueError, match="edge must be"):
        wall_position_px(np.zeros(20), edge="left")
