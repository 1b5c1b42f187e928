"""Polar-Kerr microscope frames of the simulated Hall bar (docs/physics.md section 4).

The bar lies along image axis 1 (x), centred across axis 0. Each pixel integrates the area it
covers, so a DW between pixel edges gives a proportional grey level and the wall position is
recoverable to a fraction of a pixel from a differential image (frame minus a reference).

Grey level = illumination x reflectivity, with reflectivity ``1 + c_hard m_hard + c_soft m_soft``
on the film (polar Kerr contrast of both layers along z; the thin soft layer weighs less) and
a darker substrate around it. Region A (x < 0) is etched to the Ru: soft layer only, drawn in
the field-following orientation (parallel to the hard layer) that puts the rest-state DW at the
A/B junction. The illumination is uneven (vignetting and a tilt) and drifts slowly with time;
photon shot noise is Poisson, so its relative size scales as 1/sqrt(exposure).
"""

from __future__ import annotations

import math

import numpy as np

from dwlab.instruments.sim.device import DeviceParams, SafHallBar

MARGIN_UM = 10.0  # substrate shown around the bar
C_HARD = 0.04  # polar Kerr contrast per unit m_z of the hard layer
C_SOFT = 0.02  # ... of the soft layer (thinner, weighted less)
SUBSTRATE_REFLECTIVITY = 0.6
PHOTONS_PER_S = 1e6  # electrons per pixel per second at full illumination on the film
GAIN_ADU_PER_E = 0.05
DARK_ADU = 100.0
DRIFT_FRACTION = 0.03  # illumination drift amplitude
DRIFT_PERIOD_S = 600.0


def bar_geometry_px(params: DeviceParams, pixel_um: float, shape: tuple[int, int] | None = None
                    ) -> dict:
    """Where the bar, region A/B and the notch sit in the image, in pixel-edge coordinates.

    A position ``x_um`` along the bar is at column coordinate ``x0_px + x_um / pixel_um``
    (column c spans [c, c+1)). ``rows_inside`` are the rows entirely on the bar.
    """
    if not pixel_um > 0:
        raise ValueError(f"pixel_um must be > 0, got {pixel_um}")
    bar_start_um = -params.region_a_um
    bar_end_um = params.length_um - params.region_a_um
    if shape is None:
        cols = math.ceil((bar_end_um - bar_start_um + 2 * MARGIN_UM) / pixel_um)
        rows = math.ceil((params.width_um + 2 * MARGIN_UM) / pixel_um)
        shape = (rows, cols)
    rows, cols = shape
    if rows < 1 or cols < 1:
        raise ValueError(f"shape must be positive, got {shape}")
    # Whole-pixel offsets keep x = 0 and the bar edges on pixel edges when the sizes allow.
    x0_px = float(math.floor((cols - (bar_end_um - bar_start_um) / pixel_um) / 2)
                  + params.region_a_um / pixel_um)
    y_top_px = float(math.floor((rows - params.width_um / pixel_um) / 2))
    y_bottom_px = y_top_px + params.width_um / pixel_um

    def col(x_um: float) -> float:
        return x0_px + x_um / pixel_um

    return {
        "shape": (rows, cols),
        "pixel_um": pixel_um,
        "x0_px": x0_px,
        "notch_px": col(params.x_notch_um),
        "bar_x_px": (col(bar_start_um), col(bar_end_um)),
        "bar_y_px": (y_top_px, y_bottom_px),
        "region_a_px": (col(bar_start_um), x0_px),
        "region_b_px": (x0_px, col(params.x_notch_um)),
        "rows_inside": slice(math.ceil(y_top_px), math.floor(y_bottom_px)),
    }


def _coverage(edges_px: np.ndarray, start_px: float, end_px: float) -> np.ndarray:
    """Fraction of each pixel [edges[i], edges[i+1]) that lies inside [start, end]."""
    lo = np.clip(edges_px[:-1], start_px, end_px)
    hi = np.clip(edges_px[1:], start_px, end_px)
    return hi - lo


def _film_reflectivity_by_column(bar: SafHallBar, geo: dict) -> tuple[np.ndarray, np.ndarray]:
    """(film coverage, coverage-weighted film reflectivity) per column."""
    edges = np.arange(geo["shape"][1] + 1, dtype=float)
    x_wall_px = geo["x0_px"] + bar.x_um / geo["pixel_um"]
    m_h = bar.m_hard
    m_beyond = m_h if bar.beyond_notch_p else -m_h
    segments = [  # (start, end, m_hard seen, m_soft)
        (*geo["region_a_px"], 0, m_h),
        (geo["x0_px"], x_wall_px, m_h, m_h),
        (x_wall_px, geo["notch_px"], m_h, -m_h),
        (geo["notch_px"], geo["bar_x_px"][1], m_h, m_beyond),
    ]
    cover = np.zeros(len(edges) - 1)
    weighted = np.zeros(len(edges) - 1)
    for start, end, m_hard, m_soft in segments:
        c = _coverage(edges, start, end)
        cover += c
        weighted += c * (1.0 + C_HARD * m_hard + C_SOFT * m_soft)
    return cover, weighted


def _illumination(shape: tuple[int, int], t_s: float) -> np.ndarray:
    rows, cols = shape
    y = (np.arange(rows) + 0.5) / rows - 0.5
    x = (np.arange(cols) + 0.5) / cols - 0.5
    vignette = 1.0 - 0.25 * (x[None, :] ** 2 + y[:, None] ** 2) * 4.0
    tilt = 1.0 + 0.1 * x[None, :]
    drift = 1.0 + DRIFT_FRACTION * math.sin(2 * math.pi * t_s / DRIFT_PERIOD_S)
    return vignette * tilt * drift


def render_kerr_image(bar: SafHallBar, rng: np.random.Generator, *, pixel_um: float = 1.0,
                      exposure_s: float = 0.05, t_s: float = 0.0,
                      shape: tuple[int, int] | None = None) -> np.ndarray:
    """One uint16 grey frame of the bar in its present magnetic state."""
    if not exposure_s > 0:
        raise ValueError(f"exposure_s must be > 0, got {exposure_s}")
    geo = bar_geometry_px(bar.params, pixel_um, shape)
    rows, _ = geo["shape"]
    row_cover = _coverage(np.arange(rows + 1, dtype=float), *geo["bar_y_px"])
    col_cover, col_film = _film_reflectivity_by_column(bar, geo)
    reflectivity = (row_cover[:, None] * col_film[None, :]
                    + (1.0 - row_cover[:, None] * col_cover[None, :]) * SUBSTRATE_REFLECTIVITY)
    electrons = rng.poisson(PHOTONS_PER_S * exposure_s * _illumination(geo["shape"], t_s)
                            * reflectivity)
    return np.clip(DARK_ADU + GAIN_ADU_PER_E * electrons, 0, 65535).astype(np.uint16)
