"""Which opposing fields to time the wall's return at, chosen from what was measured.

The return drive at an opposing Hz is |h - H_ex| with h = -Hz, the field along the hard
layer (hard along -z). It must stay below the soft layer's coercivity H_c: beyond it
(h < H2 = H_ex - H_c) the soft layer switches by nucleation, and the timing would measure
that, not wall motion. H_ex and H_c come from a hysteresis run; the creep law of the sample
is unknown before the run, so the fields are found as the measurement goes:

1. the first field drives at ``START_FRACTION`` of H_c; a wall that does not arrive within
   the maximum wait, or arrives later than the middle of the target times, is driven harder
   next (up to ``MAX_FRACTION`` of H_c; if even that brings no wall the run fails: weaker
   drives would be slower still), one that arrives sooner is driven less (never a drive
   already measured);
2. from two crossings at distinct drives, the creep law ln t = c + α |H|^(-1/4) through
   them (refitted with every new crossing) places each next field where the crossing time
   fills the largest gap of the log-spaced targets between ``MIN_CROSS_S`` (or, on a slow
   sample, the time at the strongest allowed drive) and ``TARGET_WAIT_FRACTION`` of the
   maximum wait.

Given fields (``Hz_list_Oe``) are used as they are, after the same H_c check.
"""

from __future__ import annotations

import math

import numpy as np

START_FRACTION = 0.8
MAX_FRACTION = 0.95  # of H_c: closer, thermal nucleation may beat the wall
MIN_FRACTION = 0.2
MIN_CROSS_S = 20.0
TARGET_WAIT_FRACTION = 0.6
STEP = 0.85  # drive factor per step while no creep law is known yet


class NoReturn(RuntimeError):
    """The wall did not return even at the strongest allowed drive."""


def drive_Oe(hz_Oe: float, H_ex_Oe: float) -> float:
    """|h - H_ex| for h = -Hz (hard layer along -z)."""
    return abs(-hz_Oe - H_ex_Oe)


def field_for_drive(drive: float, H_ex_Oe: float) -> float:
    """The opposing Hz giving return drive ``drive``: h = H_ex - drive."""
    return -(H_ex_Oe - drive)


def check_field(hz_Oe: float, H_ex_Oe: float, Hc_Oe: float) -> str | None:
    """Why ``hz_Oe`` is not a return field for this sample, or None when it is."""
    h = -hz_Oe
    if not h < H_ex_Oe:
        return (f"Hz = {hz_Oe:g} Oe does not oppose the exchange field (h = -Hz must be below "
                f"H_ex = {H_ex_Oe:.0f} Oe)")
    if drive_Oe(hz_Oe, H_ex_Oe) >= Hc_Oe:
        return (f"Hz = {hz_Oe:g} Oe drives the wall with {drive_Oe(hz_Oe, H_ex_Oe):.0f} Oe, "
                f"beyond the measured H_c = {Hc_Oe:.0f} Oe: the soft layer would switch by "
                f"nucleation, not by wall motion; allowed: {-H_ex_Oe:.0f} < Hz < "
                f"{-(H_ex_Oe - Hc_Oe):.0f} Oe")
    return None


class FieldPlanner:
    """Yields the Hz of each run; ``record`` tells it when (or whether) the wall crossed."""

    def __init__(self, H_ex_Oe: float, Hc_Oe: float, n_fields: int, max_wait_s: float,
                 given: list[float] | None = None):
        self.H_ex, self.Hc, self.n, self.max_wait = H_ex_Oe, Hc_Oe, n_fields, max_wait_s
        self.given = list(given) if given else None
        self.done: list[tuple[float, float | None]] = []  # (drive, crossing time or None)
        targets = np.geomspace(MIN_CROSS_S, TARGET_WAIT_FRACTION * max_wait_s, n_fields)
        self.targets = list(targets)

    @property
    def planned(self) -> int:
        return len(self.given) if self.given else self.n

    def record(self, hz_Oe: float, t_cross_s: float | None) -> None:
        self.done.append((drive_Oe(hz_Oe, self.H_ex), t_cross_s))

    def __iter__(self):
        if self.given:
            yield from self.given
            return
        drive = START_FRACTION * self.Hc
        for _ in range(self.n + 4):  # a few probes beyond the n fields, never endless
            if self._timed() >= self.n:
                return
            yield field_for_drive(drive, self.H_ex)
            drive = self._next_drive(drive)
            if drive is None:
                return

    def _timed(self) -> int:
        return sum(t is not None and t >= MIN_CROSS_S for _, t in self.done)

    def _next_drive(self, last: float) -> float | None:
        crossed = [(d, t) for d, t in self.done if t is not None]
        law = _fit(crossed)
        if law is None:
            t_last = self.done[-1][1]
            middle = math.sqrt(self.targets[0] * self.targets[-1])
            if t_last is None or t_last > middle:  # too slow, or slow: drive harder
                drive = self._fresh(last, 1 / STEP)
                if drive is None and t_last is None:
                    raise NoReturn(
                        f"return-velocity: the wall did not return within max_wait_s = "
                        f"{self.max_wait:g} s even at {last:.0f} Oe of drive (Hz = "
                        f"{field_for_drive(last, self.H_ex):.0f} Oe), up to {MAX_FRACTION:g} x "
                        f"the measured H_c = {self.Hc:.0f} Oe; weaker drives return slower "
                        "still, so there is nothing to time on this sample")
                return drive
            return self._fresh(last, STEP)  # fast: a weaker drive, a slower crossing
        c, alpha = law
        # a slow sample cannot cross in 20 s below H_c: spread the targets over what it can
        fastest = math.exp(c + alpha * (MAX_FRACTION * self.Hc) ** -0.25)
        targets = np.geomspace(min(max(MIN_CROSS_S, fastest), self.targets[-1] / 2),
                               self.targets[-1], self.n)
        times = [t for _, t in crossed]
        gap = {target: min(abs(math.log(target / t)) for t in times) for target in targets}
        for target in sorted(targets, key=gap.get, reverse=True):
            u = (math.log(target) - c) / alpha
            drive = u ** -4 if u > 0 else MAX_FRACTION * self.Hc
            drive = float(min(max(drive, MIN_FRACTION * self.Hc), MAX_FRACTION * self.Hc))
            if all(abs(drive - d) > 0.02 * d for d, _ in self.done):
                return drive
        return None  # every target is at a drive already measured (or out of reach)


    def _fresh(self, drive: float, factor: float) -> float | None:
        """``drive`` stepped by ``factor`` (clamped to the allowed range) until it is not one
        already measured; None when the range is used up that way."""
        lo, hi = MIN_FRACTION * self.Hc, MAX_FRACTION * self.Hc
        for _ in range(20):
            drive = min(max(drive * factor, lo), hi)
            if all(abs(drive - d) > 0.02 * d for d, _ in self.done):
                return drive
            if drive in (lo, hi):
                return None
        return None


def _fit(crossed: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(c, α) of ln t = c + α |H|^(-1/4) through the crossings, None without two distinct
    drives or with a non-physical (α <= 0) slope."""
    drives = np.array([d for d, _ in crossed])
    if len(np.unique(np.round(drives))) < 2:
        return None
    u = drives ** -0.25
    alpha, c = np.polyfit(u, np.log([t for _, t in crossed]), 1)
    return (float(c), float(alpha)) if alpha > 0 else None
