"""The lab's clock: real time on hardware, virtual time in simulation.

Procedures, field ramps and instrument waits never call ``time.sleep`` directly; they ask the
lab's clock. On hardware that is wall time. In simulation a ``VirtualClock`` advances instantly,
so a 600 s return-velocity wait costs no wall time, while the simulated instruments read
``clock.now()`` to evolve the device model up to the present.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What a procedure needs of time: the present (s) and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall time (monotonic), for hardware and for a simulated lab served to real clients."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)


class VirtualClock:
    """Simulated time that only moves when someone sleeps; thread-safe.

    ``sleep`` returns at once after moving time forward. Several threads may share one clock
    (a runner and a GUI poller); each sleep advances the one shared time line.
    """

    def __init__(self, start: float = 0.0):
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time: {seconds} s")
        with self._lock:
            self._t += seconds
