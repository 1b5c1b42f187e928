"""BufferDrain: reads an instrument's reading buffer while it fills, handing on only what is new.

A buffered measurement (the 6221's delta test, the 2182A's timer-triggered readings) keeps its
readings in the instrument until someone reads them; a crash before then loses them all, and
the live plot stays empty. A procedure that drains the buffer every ``drain_period_s`` of lab
time instead stores each reading within the run store's loss bound (0.25 s).

Each reading carries its number in the buffer (the 6221's ``RNUM`` element). ``new()`` asks
for the latest reading only (``SENS:DATA?``, one short reply): its number says whether it is
the one already handed on (nothing new), the next one (hand it on), or a later one (readings
were missed in between: read the whole buffer, ``TRAC:DATA?``). Until the first reading has
come, it asks the count instead (``TRAC:POIN:ACT?``), since an empty buffer has no latest
reading. No read of a part of the buffer is confirmed by the manuals, so the whole read grows
with the buffer; a drain period of at most half the reading interval keeps it rare. The
numbers' base (0 or 1) is taken from the buffer itself, not assumed.
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
    """``count()`` -> readings in the buffer now; ``read()`` -> the whole buffer as
    equal-length arrays, the last one the readings' numbers; ``latest()`` -> the newest
    reading, one value per array of ``read()`` (its number last)."""

    def __init__(self, count: Callable[[], int], read: Callable[[], tuple[np.ndarray, ...]],
                 latest: Callable[[], tuple[float, ...]]):
        self._count, self._read, self._latest = count, read, latest
        self.taken = 0  # readings handed on so far
        self._last_number: float | None = None  # the number of the last one handed on

    def new(self) -> tuple[np.ndarray, ...] | None:
        """The readings that arrived since the last call, in order (None: none)."""
        if self._last_number is None:
            if self._count() == 0:
                return None
            return self._whole()
        newest = self._latest()
        if newest[-1] == self._last_number:
            return None
        if newest[-1] == self._last_number + 1:
            self.taken += 1
            self._last_number = newest[-1]
            return tuple(np.asarray([v], dtype=float) for v in newest)
        return self._whole()

    def _whole(self) -> tuple[np.ndarray, ...] | None:
        arrays = tuple(np.asarray(a, dtype=float) for a in self._read())
        fresh = tuple(a[self.taken:] for a in arrays)
        self.taken = len(arrays[0])
        if self.taken:
            self._last_number = float(arrays[-1][-1])
        return fresh if len(fresh[0]) else None
