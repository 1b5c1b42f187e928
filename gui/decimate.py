"""Min/max decimation of a growing curve to the plot's pixel width, kept up incrementally.

A curve of a million points is drawn as at most two points (min and max of y) per pixel column
per segment (a sweep branch, a cycle phase): what the eye sees is unchanged, the work per frame
is bounded. To keep a frame cheap however long the run, the points are first summarised once,
as they arrive, in chunks of at most ``CHUNK`` consecutive points that never straddle a
segment (x and y range of each); a frame then bins the ~N/CHUNK chunks, not the N points.
When the visible part holds few enough points it is drawn point for point instead.

Within a segment x is assumed monotonic (time, or one sweep branch), which is what makes a
chunk's x range narrow; the envelope stays correct (min and max are kept) even where not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 32  # points summarised together
RAW_PER_PIXEL = 4  # draw point for point when the visible points fit this many per pixel


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


class Envelope:
    """Chunk summaries of (x, y, segment) for one choice of axes; ``update`` after points
    arrive, ``draw`` for each frame."""

    def __init__(self):
        self.n = 0  # points summarised (the last chunk may be partial and is redone)
        self.start = np.empty(0, dtype=np.int64)  # first point of each chunk
        self.seg = np.empty(0)
        self.xmin = self.xmax = self.ymin = self.ymax = np.empty(0)

    def update(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray) -> None:
        """Summarise points ``[self.n, len(x))``; the last chunk, perhaps partial, is redone."""
        n = len(x)
        if n == self.n:
            return
        keep = max(len(self.start) - 1, 0)
        s = int(self.start[keep]) if len(self.start) else 0
        idx = np.arange(s, n)
        boundary = idx % CHUNK == 0
        boundary[0] = True
        boundary[1:] |= seg[s + 1:n] != seg[s:n - 1]
        starts = idx[boundary]
        rel = starts - s
        with np.errstate(invalid="ignore"):
            parts = (np.fmin.reduceat(x[s:n], rel), np.fmax.reduceat(x[s:n], rel),
                     np.fmin.reduceat(y[s:n], rel), np.fmax.reduceat(y[s:n], rel))
        self.start = np.concatenate([self.start[:keep], starts])
        self.seg = np.concatenate([self.seg[:keep], seg[starts]])
        self.xmin, self.xmax, self.ymin, self.ymax = (
            np.concatenate([old[:keep], new]) for old, new in
            zip((self.xmin, self.xmax, self.ymin, self.ymax), parts))
        self.n = n

    def bounds(self, chunks: np.ndarray) -> tuple[float, float] | None:
        """x range of the given chunks (a mask), or None when there is nothing finite."""
        lo, hi = self.xmin[chunks], self.xmax[chunks]
        lo, hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
        return (float(lo.min()), float(hi.max())) if len(lo) else None

    def draw(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray, chunks: np.ndarray,
             x_range: tuple[float, float], pixels: int) -> Drawn:
        """The chunks selected by mask ``chunks`` that lie in ``x_range``, for ``pixels``
        columns: point for point if few, else min and max per pixel column per segment."""
        x0, x1 = x_range
        visible = chunks & (self.xmax >= x0) & (self.xmin <= x1)
        which = np.flatnonzero(visible)
        if not len(which):
            return Drawn.empty()
        ends = np.append(self.start[1:], self.n)
        lengths = ends[which] - self.start[which]
        if lengths.sum() <= RAW_PER_PIXEL * max(pixels, 1):
            return _raw(x, y, seg, self.start[which], lengths)
        xc = 0.5 * (self.xmin[which] + self.xmax[which])
        span = (x1 - x0) or 1.0
        column = np.floor((xc - x0) / span * pixels)
        column = np.nan_to_num(column, nan=-1.0)
        chunk_seg = self.seg[which]
        contiguous = np.r_[False, which[1:] == which[:-1] + 1]
        new_group = np.r_[True, column[1:] != column[:-1]]
        if not _increasing(self.xmin[which]):  # loops overlap: keep each branch apart
            new_group |= ~contiguous | np.r_[True, chunk_seg[1:] != chunk_seg[:-1]]
        first = np.flatnonzero(new_group)
        with np.errstate(invalid="ignore"):
            gx = np.add.reduceat(np.nan_to_num(xc), first) / np.diff(np.append(first, len(xc)))
            gmin = np.fmin.reduceat(self.ymin[which], first)
            gmax = np.fmax.reduceat(self.ymax[which], first)
        out_x = np.repeat(gx, 2)
        out_y = np.column_stack([gmin, gmax]).ravel()
        connect = np.ones(len(out_x), dtype=bool)
        # between groups: joined only when the next group continues the last one's segment
        last = np.r_[first[1:] - 1, len(which) - 1]
        continues = np.r_[contiguous[first[1:]] & (chunk_seg[first[1:]] == chunk_seg[last[:-1]]),
                          False]
        connect[1::2] = continues
        return Drawn(out_x, out_y, connect, raw=False)


def _increasing(values: np.ndarray) -> bool:
    """x only grows (time): segments side by side may share a pixel column's min/max bar."""
    finite = values[np.isfinite(values)]
    return bool(np.all(finite[1:] >= finite[:-1]))


def _raw(x, y, seg, starts, lengths) -> Drawn:
    """Every point of the given chunks, joined within a segment across contiguous chunks."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
    idx = np.arange(total) + offsets
    connect = np.zeros(total, dtype=bool)
    connect[:-1] = (idx[1:] == idx[:-1] + 1) & (seg[idx[1:]] == seg[idx[:-1]])
    return Drawn(x[idx], y[idx], connect)
