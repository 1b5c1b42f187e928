"""Polar-Kerr microscope: differential imaging and domain-wall extraction.

A Kerr image is grey levels whose contrast follows the out-of-plane magnetisation. The static
background (uneven illumination, dirt, the other layer's contrast) is removed by subtracting a
reference frame taken in a known state (saturated, or just before the pulse): what is left is
the switched region. The wall is the boundary of that region along the bar axis.

Extraction, in the order done here: average the differential image across the bar into a
profile along the bar, divided by the reference's profile when there is one (dI/I, so uneven
illumination scales neither the contrast nor a lamp drift); flatten what is left of a slow
linear background; split the profile into two levels by Otsu's threshold; drop runs shorter
than a few pixels unless a pixel of theirs sits decisively on its level (noise only just
crosses the threshold, a narrow domain just past the junction is fully switched); refuse a
contrast within a few noise sigmas. The wall is the remaining boundary (of a band, the far or
near edge), placed to sub-pixel by the area under the normalised step.

Positions are in µm at this user-facing edge: ``x0_um + pixel_um * (boundary in pixels)``,
where pixel ``i`` along the bar spans ``[i, i+1)``, so ``x0_um`` is where the image's first
pixel begins in device coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from dwlab.clock import Clock

#: a run of one level shorter than this (pixels) is noise, not a domain, unless every pixel
#: in it is decisively on its level (beyond SURE_FRACTION of the way from the other level)
MIN_RUN_PX = 3
SURE_FRACTION = 0.8
#: the two levels must differ by this many noise standard deviations to count as contrast
MIN_CONTRAST_SIGMA = 5.0
#: half-width (pixels) of the window used to place the wall to sub-pixel
SUBPIXEL_HALF_WINDOW_PX = 3


@runtime_checkable
class Camera(Protocol):
    """What the microscope needs of a camera; frames are 2-D, rows first."""

    exposure_s: float

    @property
    def shape(self) -> tuple[int, int]: ...

    def snap(self) -> np.ndarray: ...

    def close(self) -> None: ...


class NoWallError(ValueError):
    """The differential image shows no single wall (no contrast, or several walls)."""


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of 1-D data, exact over its sorted values (no histogram binning).

    Returns the value between the two classes that maximises the between-class variance.
    """
    v = np.sort(np.asarray(values, dtype=float).ravel())
    if v.size < 2:
        raise ValueError(f"Otsu needs at least 2 values, got {v.size}")
    n = v.size
    k = np.arange(1, n)  # size of the lower class
    csum = np.cumsum(v)[:-1]
    mean_lo = csum / k
    mean_hi = (v.sum() - csum) / (n - k)
    between = k * (n - k) * (mean_hi - mean_lo) ** 2
    best = int(np.argmax(between))
    return 0.5 * (v[best] + v[best + 1])


def _remove_short_runs(levels: np.ndarray, sure: np.ndarray, min_run: int) -> np.ndarray:
    """Flip runs shorter than ``min_run`` into their neighbours, shortest first.

    A short run with a ``sure`` pixel in it stays: a narrow domain (a wall just past the
    junction) is kept, while pixels that noise pushed just over the threshold are not.
    """
    levels = levels.copy()
    while True:
        edges = np.flatnonzero(np.diff(levels)) + 1
        starts = np.concatenate(([0], edges))
        lengths = np.diff(np.concatenate((starts, [levels.size])))
        doubtful = [i for i in range(len(starts)) if lengths[i] < min_run
                    and not sure[starts[i] : starts[i] + lengths[i]].any()]
        if len(starts) == 1 or not doubtful:
            return levels
        i = min(doubtful, key=lambda k: lengths[k])
        levels[starts[i] : starts[i] + lengths[i]] = not levels[starts[i]]


def _two_levels(flat: np.ndarray) -> np.ndarray:
    """Otsu split of a flattened profile, cleaned of noise runs: True on the upper level."""
    levels = flat > otsu_threshold(flat)
    high, low = flat[levels].mean(), flat[~levels].mean()
    frac = (flat - low) / (high - low)
    sure = np.where(levels, frac > SURE_FRACTION, frac < 1.0 - SURE_FRACTION)
    return _remove_short_runs(levels, sure, MIN_RUN_PX)


def _noise_sigma(profile: np.ndarray) -> float:
    """Pixel noise from the median neighbour difference: blind to the few pixels at a step."""
    return float(np.median(np.abs(np.diff(profile)))) / 0.954


def _flatten(profile: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Subtract the linear trend fitted jointly with the step (so the step does not bias it)."""
    x = np.arange(profile.size, dtype=float)
    design = np.column_stack((np.ones_like(x), x, levels.astype(float)))
    coef, *_ = np.linalg.lstsq(design, profile, rcond=None)
    return profile - coef[1] * x


def wall_position_px(profile: np.ndarray, edge: Literal["far", "near"] = "far") -> float:
    """Position (pixels from the start of pixel 0) of the wall in a differential profile.

    If the switched region is a band with two boundaries inside the profile (for example the
    fixed nucleation junction and the wall), ``edge`` picks the boundary at larger index
    ("far": a region grown forward from the junction) or smaller index ("near": a wall that
    has come back from the notch). Raises ``NoWallError`` when there is no contrast or more
    than two boundaries.
    """
    if edge not in ("far", "near"):
        raise ValueError(f"edge must be 'far' or 'near', got {edge!r}")
    p = np.asarray(profile, dtype=float)
    if p.ndim != 1 or p.size < 2 * MIN_RUN_PX:
        raise ValueError(f"profile must be 1-D with >= {2 * MIN_RUN_PX} pixels, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("profile contains NaN or inf")
    if np.ptp(p) == 0:
        raise NoWallError("no wall: the differential profile is constant (no contrast)")
    levels = p > otsu_threshold(p)
    for _ in range(3):  # flatten and re-threshold until the split settles
        flat = _flatten(p, levels)
        new_levels = _two_levels(flat)
        if np.array_equal(new_levels, levels):
            break
        levels = new_levels
    boundaries = np.flatnonzero(np.diff(levels)) + 1
    sigma = _noise_sigma(flat)
    if boundaries.size == 0:
        raise NoWallError("no wall: the differential profile has a single level (no contrast)")
    high, low = flat[levels].mean(), flat[~levels].mean()
    if high - low < MIN_CONTRAST_SIGMA * sigma:
        raise NoWallError(
            f"no wall: contrast {high - low:.3g} is below {MIN_CONTRAST_SIGMA} x noise "
            f"({sigma:.3g}) of the differential profile"
        )
    if boundaries.size > 2:
        raise NoWallError(
            f"expected one wall, found {boundaries.size} boundaries at pixels "
            f"{boundaries.tolist()}: several walls, or contrast that is not a domain"
        )
    j = boundaries.size - 1 if edge == "far" else 0
    b = int(boundaries[j])
    # sub-pixel: the area under the step normalised to [0, 1] counts the pixels on its high
    # side; the window stops halfway to a neighbouring boundary so it sees one step only
    lo_px = max(b - SUBPIXEL_HALF_WINDOW_PX, (boundaries[j - 1] + b) // 2 if j > 0 else 0)
    hi_px = min(b + SUBPIXEL_HALF_WINDOW_PX, (boundaries[j + 1] + b + 1) // 2 if j + 1 < boundaries.size else p.size)
    frac = np.clip((flat[lo_px:hi_px] - low) / (high - low), 0.0, 1.0)
    high_first = bool(levels[b - 1])
    return lo_px + float(frac.sum() if high_first else (1.0 - frac).sum())


@dataclass(frozen=True)
class WallTrack:
    """Wall positions against time and the straight-line fit through them."""

    times_s: np.ndarray
    positions_um: np.ndarray
    velocity_um_s: float
    velocity_err_um_s: float  # standard error of the slope (nan with only two points)
    intercept_um: float  # fitted position at t = 0


class KerrMicroscope:
    """A camera looking at one bar: averaged snaps, differential images, wall positions.

    ``bar_axis`` is the image axis that runs along the bar (1: the bar is horizontal, along
    columns). ``bar_rows`` is the ``(start, stop)`` index range across the bar to average
    over; ``None`` averages the whole image width across the bar.
    """

    def __init__(
        self,
        camera: Camera,
        clock: Clock,
        pixel_um: float = 1.0,
        bar_axis: int = 1,
        bar_rows: tuple[int, int] | None = None,
        x0_um: float = 0.0,
    ):
        if not pixel_um > 0:
            raise ValueError(f"pixel_um must be > 0, got {pixel_um}")
        if bar_axis not in (0, 1):
            raise ValueError(f"bar_axis must be 0 or 1, got {bar_axis}")
        across = camera.shape[1 - bar_axis]
        if bar_rows is not None and not 0 <= bar_rows[0] < bar_rows[1] <= across:
            raise ValueError(f"bar_rows must satisfy 0 <= start < stop <= {across}, got {bar_rows}")
        self.camera = camera
        self.clock = clock
        self.pixel_um = float(pixel_um)
        self.bar_axis = bar_axis
        self.bar_rows = bar_rows
        self.x0_um = float(x0_um)  # where the image's first pixel edge lies along the bar
        self.reference: np.ndarray | None = None
        self.last_time_s: float | None = None  # clock time at the middle of the last snap

    def snap_averaged(self, n: int) -> np.ndarray:
        """Mean of ``n`` frames as float64: the noise falls as 1/sqrt(n)."""
        if int(n) != n or n < 1:
            raise ValueError(f"n (frames to average) must be an integer >= 1, got {n}")
        t_start = self.clock.now()
        total = np.zeros(self.camera.shape, dtype=float)
        for i in range(int(n)):
            frame = self.camera.snap()
            if frame.shape != total.shape:
                raise ValueError(f"frame {i} has shape {frame.shape}, camera reports {total.shape}")
            total += frame
        self.last_time_s = 0.5 * (t_start + self.clock.now())
        return total / n

    def take_reference(self, n: int = 8) -> np.ndarray:
        """Store the reference frame (saturated state, or just before the pulse)."""
        self.reference = self.snap_averaged(n)
        return self.reference

    def differential(self, n: int = 4) -> np.ndarray:
        """Averaged frame minus the reference: only what switched since the reference remains."""
        if self.reference is None:
            raise RuntimeError("no reference frame: call take_reference() first")
        if self.reference.shape != self.camera.shape:
            raise ValueError(
                f"reference shape {self.reference.shape} differs from the camera's {self.camera.shape} "
                "(ROI or binning changed): take a new reference"
            )
        return self.snap_averaged(n) - self.reference

    def profile(self, diff_image: np.ndarray) -> np.ndarray:
        """Differential image averaged across the bar: one value per pixel along the bar.

        With a reference stored, the profile is divided by the reference's (dI/I): uneven
        illumination then scales neither the Kerr contrast nor a lamp drift, which becomes a
        flat offset instead of a bump that could pass for a domain.
        """
        img = np.asarray(diff_image, dtype=float)
        if img.ndim != 2:
            raise ValueError(f"diff_image must be 2-D, got shape {img.shape}")
        if self.reference is None:
            return self._across_bar_mean(img)
        if img.shape != self.reference.shape:
            raise ValueError(f"diff_image shape {img.shape} differs from the reference {self.reference.shape}")
        light = self._across_bar_mean(self.reference)
        if light.min() <= 0:
            raise ValueError("reference frame is dark (<= 0) somewhere along the bar: check bar_rows and exposure")
        return self._across_bar_mean(img) / light

    def _across_bar_mean(self, img: np.ndarray) -> np.ndarray:
        across = 1 - self.bar_axis
        if self.bar_rows is not None:
            if self.bar_rows[1] > img.shape[across]:
                raise ValueError(f"bar_rows {self.bar_rows} exceed the image's {img.shape[across]} pixels across the bar")
            img = np.take(img, np.arange(*self.bar_rows), axis=across)
        return img.mean(axis=across)

    def dw_position_um(self, diff_image: np.ndarray, edge: Literal["far", "near"] = "far") -> float:
        """Wall position (µm) along the bar in a differential image; see ``wall_position_px``."""
        return self.x0_um + self.pixel_um * wall_position_px(self.profile(diff_image), edge)

    def track(
        self, frames: Sequence[np.ndarray], times: Sequence[float],
        edge: Literal["far", "near"] = "far",
    ) -> WallTrack:
        """Wall position in each differential frame and the velocity (µm/s) of a line fit."""
        t = np.asarray(times, dtype=float)
        if len(frames) != t.size:
            raise ValueError(f"got {len(frames)} frames but {t.size} times")
        if t.size < 2 or np.ptp(t) == 0:
            raise ValueError(f"a velocity needs >= 2 frames at different times, got times {t.tolist()}")
        x = np.empty(t.size)
        for i, frame in enumerate(frames):
            try:
                x[i] = self.dw_position_um(frame, edge)
            except NoWallError as err:
                raise NoWallError(f"frame {i} (t = {t[i]} s): {err}") from err
        if t.size > 2:
            (slope, intercept), cov = np.polyfit(t, x, 1, cov=True)
            slope_err = float(np.sqrt(cov[0, 0]))
        else:
            slope, intercept = np.polyfit(t, x, 1)
            slope_err = float("nan")
        return WallTrack(t, x, float(slope), slope_err, float(intercept))
