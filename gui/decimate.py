"""Min/max decimation of a growing curve to the plot's pixel width, kept up incrementally.

A curve of a million points is drawn as one or two vertical bars (min to max of y) per pixel
column per segment (a sweep branch, a cycle phase): what the eye sees is unchanged, the work
per frame is bounded. The x axis is cut into bins of a power-of-two width (half a pixel to
a pixel at the current zoom) fixed in data coordinates, and the points are run-length
summarised, as they arrive, into *records*: consecutive points in one segment and one bin (first point,
segment, bin, y min and max). A finished record never changes, so a frame only summarises the
points that came since the last one (the last record is redone), and draws from the records,
not the points. Only a zoom that changes the bin width summarises every point again.
When the visible part holds few enough points it is drawn point for point instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RAW_PER_PIXEL = 4  # draw point for point when the visible points fit this many per pixel
NO_BIN = np.iinfo(np.int64).min  # the bin of a point whose x is not a finite number


class _Records:
    """One field of the records in use (``Envelope.first``, ``.seg``, ...), a view."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, envelope, owner=None) -> np.ndarray:
        return envelope.store[self.name][: envelope.count]


@dataclass
class Drawn:
    """What one curve item is given: x, y and which consecutive pairs are joined."""

    x: np.ndarray
    y: np.ndarray
    connect: np.ndarray  # bool, len(x); connect[i] joins point i to i + 1
    raw: bool = True  # every point as measured (False: min/max per pixel column)

    @classmethod
    def empty(cls) -> Drawn:
        return cls(np.empty(0), np.empty(0), np.empty(0, dtype=bool))


def bin_width(span: float, pixels: int, current: float | None = None) -> float:
    """A power of two giving bins of half a pixel to one pixel over ``span`` (so that every
    pixel column gets a bar: no gaps where the bars are taller than the joins between them);
    ``current`` is kept while it gives 0.4 to 1 pixel per bin (so a growing run is not
    summarised again every frame)."""
    if not np.isfinite(span) or span <= 0:
        return current or 1.0
    per_pixel = span / max(pixels, 1)
    if current and current <= per_pixel <= 2.5 * current:
        return current
    return float(2.0 ** np.floor(np.log2(per_pixel)))


class Envelope:
    """Records of (x, y, segment) for one choice of axes: ``track`` the x range and
    ``summarise`` after points arrive, ``draw`` for each frame."""

    first, seg, bin, ymin, ymax = (_Records() for _ in range(5))  # noqa: A003 - bin: x bin

    def __init__(self):
        self.n_tracked = 0
        self.monotonic = True  # x never decreased (time): columns may merge across segments
        self.x_lo, self.x_hi = np.inf, -np.inf  # finite x range of every point
        self.y_lo, self.y_hi = np.inf, -np.inf  # and finite y range
        self._last_x = -np.inf
        self._reset(None)

    def _reset(self, width: float | None) -> None:
        self.width = width
        self.n = 0  # points summarised
        self.count = 0  # records in use
        self.store = {name: np.empty(1024, dtype=np.int64 if name in ("first", "bin") else float)
                      for name in ("first", "seg", "bin", "ymin", "ymax")}

    def track(self, x: np.ndarray, y: np.ndarray) -> None:
        """Take the x and y ranges and the monotony of x of points ``[n_tracked, len(x))``."""
        new, new_y = x[self.n_tracked:], y[self.n_tracked:]
        self.n_tracked = len(x)
        new_y = new_y[np.isfinite(new_y)]
        if len(new_y):
            self.y_lo, self.y_hi = min(self.y_lo, new_y.min()), max(self.y_hi, new_y.max())
        finite = new[np.isfinite(new)]
        if not len(finite):
            return
        self.x_lo, self.x_hi = min(self.x_lo, finite.min()), max(self.x_hi, finite.max())
        self.monotonic = self.monotonic and finite[0] >= self._last_x and bool(
            np.all(finite[1:] >= finite[:-1]))
        self._last_x = float(finite[-1])

    def summarise(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray, width: float) -> None:
        """Records for points ``[self.n, len(x))`` at bin ``width`` (all points again if the
        width changed); the last record, perhaps unfinished, is redone."""
        if width != self.width:
            self._reset(width)
        n = len(x)
        if n == self.n:
            return
        keep = max(self.count - 1, 0)
        s = int(self.store["first"][keep]) if self.count else 0
        with np.errstate(invalid="ignore", over="ignore"):
            b = np.floor(x[s:n] / width)
            bins = np.where(np.isfinite(b) & (np.abs(b) < 2.0 ** 62), b, NO_BIN).astype(np.int64)
            key_changes = (bins[1:] != bins[:-1]) | (seg[s + 1:n] != seg[s:n - 1])
            rel = np.r_[0, np.flatnonzero(key_changes) + 1]
            parts = {"first": rel + s, "seg": seg[s:n][rel], "bin": bins[rel],
                     "ymin": np.fmin.reduceat(y[s:n], rel), "ymax": np.fmax.reduceat(y[s:n], rel)}
        need = keep + len(rel)
        if need > len(self.store["first"]):
            size = max(need, 2 * len(self.store["first"]))
            for name, old in self.store.items():
                self.store[name] = np.empty(size, dtype=old.dtype)
                self.store[name][:keep] = old[:keep]
        for name, values in parts.items():
            self.store[name][keep:need] = values
        self.count, self.n = need, n

    def counts(self, start: int = 0) -> np.ndarray:
        """Points in each record from record ``start`` on."""
        return np.diff(np.append(self.first[start:], self.n))

    def draw(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray, records: np.ndarray,
             x_range: tuple[float, float], pixels: int, start: int = 0,
             bars: bool = False) -> Drawn:
        """The records selected by mask ``records`` (over the records from ``start`` on) that
        lie in ``x_range``, for ``pixels`` columns: point for point if few (and not ``bars``),
        else one min-max bar per bin and segment (merged across segments where x only grows)."""
        lo, hi = (np.floor(v / self.width) for v in x_range)
        bins = self.bin
        which = start + np.flatnonzero(records & (bins[start:] >= lo) & (bins[start:] <= hi))
        if not len(which):
            return Drawn.empty()
        counts = np.append(self.first, self.n)[which + 1] - self.first[which]
        if not bars and few(counts.sum(), pixels):
            return _raw(x, y, seg, self.first[which], counts)
        which = which[np.isfinite(self.ymin[which])]
        if not len(which):
            return Drawn.empty()
        rec_seg, bins = self.seg[which], bins[which]
        if self.monotonic:  # one bar per bin: merge the records that share it
            firsts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
            lasts = np.r_[firsts[1:] - 1, len(which) - 1]
            ymin = np.fmin.reduceat(self.ymin[which], firsts)
            ymax = np.fmax.reduceat(self.ymax[which], firsts)
            bins = bins[firsts]
            joined = ((which[firsts[1:]] == which[lasts[:-1]] + 1)
                      & (rec_seg[firsts[1:]] == rec_seg[lasts[:-1]]))
        else:  # loops overlap: every record its own bar, joined within its segment
            ymin, ymax = self.ymin[which], self.ymax[which]
            joined = (which[1:] == which[:-1] + 1) & (rec_seg[1:] == rec_seg[:-1])
        out_x = np.repeat((bins + 0.5) * self.width, 2)
        bars = np.column_stack([ymin, ymax])
        bars[1::2] = bars[1::2, ::-1]  # up, down, up...: the joins between bars stay short
        connect = np.ones(len(out_x), dtype=bool)
        connect[1::2] = np.r_[joined, False]
        return Drawn(out_x, bars.ravel(), connect, raw=False)


def few(points: int, pixels: int) -> bool:
    """Few enough points to draw them one by one."""
    return points <= RAW_PER_PIXEL * max(pixels, 1)


def _raw(x, y, seg, starts, lengths) -> Drawn:
    """Every finite point of the given records, joined where consecutive in one segment."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
    idx = np.arange(total) + offsets
    idx = idx[np.isfinite(x[idx]) & np.isfinite(y[idx])]
    connect = np.zeros(len(idx), dtype=bool)
    connect[:-1] = (idx[1:] == idx[:-1] + 1) & (seg[idx[1:]] == seg[idx[:-1]])
    return Drawn(x[idx], y[idx], connect)
