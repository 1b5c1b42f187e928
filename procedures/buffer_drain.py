"""BufferDrain: reads an instrument's reading buffer while it fills, handing on only what is new.

A buffered measurement (the 6221's delta test, the 2182A's timer-triggered readings) keeps its
readings in the instrument until someone reads them; a crash before then loses them all, and
the live plot stays empty. A procedure that drains the buffer often (every ``drain_period_s``
of lab time, or at every step of a field sweep) stores each reading within the run store's
loss bound (0.25 s).

Each drain asks how many readings the buffer holds (``TRAC:POIN:ACT?``) and, when some are new,
reads only those: the 6221 with ``TRAC:DATA:SEL? start,count`` (6220/6221 Reference Manual,
section 6), so a long delta sweep costs what it measures, not the square of it. The 2182A's
buffer (at most 1024 readings) has no partial read (``WholeBufferReads``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_DRAIN_S = 0.1  # lab time between drains: a reading waits at most this, within 0.25 s


def drain_period_s(reading_interval_s: float) -> float:
    """How often to drain a buffer filled every ``reading_interval_s``: at most MAX_DRAIN_S,
    and at most half the interval, so that a drain mostly finds one reading or none."""
    return min(MAX_DRAIN_S, reading_interval_s / 2)


class BufferDrain:
    """``count()`` -> readings in the buffer now; ``read(start, n)`` -> the readings from
    number ``start`` on (the first is 0), at least ``n`` of them (more if more came since the
    count), as equal-length arrays, one per element."""

    def __init__(self, count: Callable[[], int],
                 read: Callable[[int, int], tuple[np.ndarray, ...]]):
        self._count, self._read = count, read
        self.taken = 0  # readings handed on so far

    def new(self) -> tuple[np.ndarray, ...] | None:
        """The readings that arrived since the last call, in order (None: none)."""
        stored = self._count()
        if stored <= self.taken:
            return None
        fresh = tuple(np.atleast_1d(np.asarray(a, dtype=float))
                      for a in self._read(self.taken, stored - self.taken))
        self.taken += len(fresh[0])
        return fresh if len(fresh[0]) else None


class WholeBufferReads:
    """``read(start, n)`` for a ``BufferDrain`` over an instrument whose only buffer read is
    ``read_all()`` (the 2182A's ``TRAC:DATA?``).

    What that read returns while the buffer still fills is not in the 2182A's manual: all the
    readings stored so far, as after storage, or only those no earlier read returned, as
    Keithley documents for its 2700. Each reply says which: one that begins with exactly the
    readings handed on so far is the whole buffer (its new part follows them); any other
    holds only readings not returned before, all of them new.
    """

    def __init__(self, read_all: Callable[[], np.ndarray]):
        self._read_all = read_all
        self._handed = np.empty(0)

    def __call__(self, start: int, n: int) -> tuple[np.ndarray]:
        reply = np.atleast_1d(np.asarray(self._read_all(), dtype=float))
        whole = len(reply) >= start and np.array_equal(reply[:start], self._handed[:start],
                                                        equal_nan=True)
        new = reply[start:] if whole else reply
        self._handed = np.concatenate([self._handed, new])
        return (new,)
