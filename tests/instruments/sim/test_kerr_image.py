"""Kerr frames: the DW position is recoverable within 1 px by differential imaging."""

import numpy as np
import pytest

from dwlab.instruments.sim.device import DeviceParams, SafHallBar
from dwlab.instruments.sim.kerr_image import bar_geometry_px, render_kerr_image


def normalised(frame, geo):
    """Divide out the illumination drift with the substrate rows above the bar."""
    frame = frame.astype(float)
    return frame / frame[: int(geo["bar_y_px"][0])].mean()


def wall_from_images(frame, reference, full, geo):
    """DW position (um): region-B columns that switched more than half of the full contrast."""
    rows = geo["rows_inside"]
    cols = slice(int(geo["x0_px"]), int(geo["notch_px"]))
    switched = (frame - reference)[rows, cols].mean(0) / (full - reference)[rows, cols].mean(0)
    return (switched > 0.5).sum() * geo["pixel_um"]


@pytest.mark.parametrize("pixel_um", [1.0, 0.5])
def test_wall_position_recovered_within_one_pixel(pixel_um):
    rng = np.random.default_rng(11)
    bar = SafHallBar(DeviceParams(), rng)
    geo = bar_geometry_px(bar.params, pixel_um)
    reference = normalised(render_kerr_image(bar, rng, pixel_um=pixel_um), geo)
    bar.x_um = bar.params.x_notch_um
    full = normalised(render_kerr_image(bar, rng, pixel_um=pixel_um), geo)
    for t_s, x in enumerate(np.linspace(0.0, 20.0, 23)):
        bar.x_um = float(x)
        frame = normalised(render_kerr_image(bar, rng, pixel_um=pixel_um, t_s=40.0 * t_s), geo)
        assert wall_from_images(frame, reference, full, geo) == pytest.approx(x, abs=pixel_um)


def test_frame_geometry_and_contrast():
    rng = np.random.default_rng(12)
    bar = SafHallBar(DeviceParams(), rng)
    geo = bar_geometry_px(bar.params, 1.0)
    frame = render_kerr_image(bar, rng)
    assert frame.dtype == np.uint16 and frame.shape == geo["shape"]
    assert geo["notch_px"] - geo["x0_px"] == 20.0
    rows = geo["rows_inside"]
    b = slice(int(geo["x0_px"]), int(geo["notch_px"]))
    bar.x_um = 20.0                      # soft layer flipped in region B
    soft_flip = render_kerr_image(bar, rng).astype(float)[rows, b].mean() - frame[rows, b].mean()
    bar.m_hard = +1                      # hard flipped too: soft back to its rest direction
    hard_flip = render_kerr_image(bar, rng).astype(float)[rows, b].mean() - frame[rows, b].mean()
    assert abs(hard_flip) > 1.5 * abs(soft_flip) > 0  # the hard layer weighs more
    on_bar = frame[rows, b].mean()
    assert on_bar > 1.3 * frame[0, b].mean()          # film brighter than the substrate


def test_shot_noise_relative_size_scales_as_inverse_sqrt_exposure():
    rng = np.random.default_rng(13)
    bar = SafHallBar(DeviceParams(), rng)
    geo = bar_geometry_px(bar.params, 1.0)
    rows, b = geo["rows_inside"], slice(int(geo["x0_px"]), int(geo["notch_px"]))

    def relative_noise(exposure):
        a, c = (render_kerr_image(bar, rng, exposure_s=exposure).astype(float) for _ in range(2))
        return np.std((a - c)[rows, b]) / a[rows, b].mean()

    assert relative_noise(0.01) / relative_noise(0.16) == pytest.approx(4.0, rel=0.2)


def test_illumination_drifts_slowly():
    rng = np.random.default_rng(14)
    bar = SafHallBar(DeviceParams(), rng)
    means = [render_kerr_image(bar, rng, t_s=t).astype(float).mean() for t in (0.0, 1.0, 150.0)]
    assert means[1] == pytest.approx(means[0], rel=2e-3)
    assert abs(means[2] / means[0] - 1) > 0.02
