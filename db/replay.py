"""Replay a recorded run into the same listeners a live run feeds, at 1x, Nx or full speed.

The points go out in their recorded order and pace (``t`` scaled by 1/speed), interleaved with
the run's events, as ``on_points`` batches of the procedure's columns, exactly as the Runner
emits them, so a GUI plot or analysis cannot tell a replay from a live run. ``pause``,
``resume``, ``seek`` and ``stop`` may be called from another thread (a GUI button) or from a
listener; a seek is announced to listeners as an ``on_event("replay", ...)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from dwlab.clock import Clock
from dwlab.db.store import RunStore, StoreError
from dwlab.listener import Listener, RunInfo

MAX_BATCH = 1000  # points per on_points call
DUE_TOLERANCE = 1e-9  # s; closer than this is due (clock floats cannot resolve less)


class Replayer:
    """Plays run ``run_id`` of ``store`` into ``listeners``; ``speed=None`` is as fast as the
    listeners take it. ``clock``: where waits happen (default: wall time; a VirtualClock makes
    a 1x replay instant in tests while keeping its pace visible on the clock)."""

    def __init__(
        self,
        store: RunStore,
        run_id: int,
        listeners: Sequence[Listener],
        speed: float | None = 1.0,
        clock: Clock | None = None,
    ):
        if speed is not None and not speed > 0:
            raise StoreError(f"replay speed must be > 0 (or None for full speed), got {speed}")
        self.record = store.get_run(run_id)
        data = store.points(run_id)
        self.t = data[:, 0]
        self._values = data[:, 1:]
        self._columns = list(self.record.columns)
        events = store.events_with_seq(run_id)
        self._event_seq = np.array([e[0] for e in events], dtype=np.int64)
        self._event_t = np.array([e[1] for e in events])
        self._events = [(kind, msg) for _, _, kind, msg in events]
        self.listeners = list(listeners)
        self.speed = speed
        self._clock = clock
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False
        self.index = 0  # next point to deliver
        self._next_event = 0
        self._anchor_t = 0.0  # run time at anchor
        self._anchor_wall = 0.0  # clock time at anchor
        self._thread: threading.Thread | None = None

    # --- control (thread-safe) --------------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            if not self._paused:
                self._anchor_t, self._paused = self._run_time(), True
                self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._paused:
                self._anchor_wall, self._paused = self._now(), False
                self._cond.notify_all()

    def seek(self, t: float | None = None, *, index: int | None = None) -> None:
        """Jump to run time ``t`` (s since start) or to point ``index``; later points follow
        at the replay's pace from there. Events before the new position are skipped."""
        if (t is None) == (index is None):
            raise StoreError("seek needs exactly one of t (s) or index")
        n = len(self.t)
        with self._cond:
            if index is not None:
                if not 0 <= index <= n:
                    raise StoreError(f"seek index must be in 0..{n}, got {index}")
                t = float(self.t[index]) if index < n else (float(self.t[-1]) if n else 0.0)
            else:
                index = int(np.searchsorted(self.t, t, side="left"))
            self.index = index
            self._next_event = int(np.searchsorted(self._event_seq, index, side="left"))
            self._anchor_t, self._anchor_wall = float(t), self._now()
            self._cond.notify_all()
        self._emit_event("replay", f"seek to point {index} (t = {t:.6g} s)")

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # --- running -----------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        """Play in a background thread (returned, already started)."""
        self._thread = threading.Thread(target=self.run, name="dwlab-replay", daemon=True)
        self._thread.start()
        return self._thread

    def run(self) -> None:
        """Play the whole run in this thread: on_start, points and events, on_finish."""
        r = self.record
        info = RunInfo(
            procedure=r.procedure, parameters=r.parameters, columns=r.columns, run_id=r.id,
            sample=r.sample, operator=r.operator,
            metadata={**r.metadata(), "replay": True, "speed": self.speed},
        )
        for listener in self.listeners:
            listener.on_start(info)
        with self._cond:
            firsts = [*self.t[:1], *self._event_t[:1]]
            self._anchor_t = float(min(firsts)) if firsts else 0.0
            self._anchor_wall = self._now()
        while self._step():
            pass
        if self._stopped:
            status, error = "aborted", f"replay stopped at point {self.index}"
        else:
            status, error = r.status, r.error
        for listener in self.listeners:
            listener.on_finish(status, error)

    def _step(self) -> bool:
        """Deliver what is due, or wait until something is; False when done or stopped."""
        with self._cond:
            while self._paused and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return False
            i, j = self.index, self._next_event
            n = len(self.t)
            event_next = j < len(self._events) and self._event_seq[j] <= i
            if not event_next and i >= n:
                return False
            due = self._event_t[j] if event_next else self.t[i]
            if self.speed is not None:
                wait = (due - self._run_time()) / self.speed
                if wait > DUE_TOLERANCE:
                    self._wait(wait)
                    return True
            if event_next:
                self._next_event = j + 1
                kind, message = self._events[j]
                batch = None
            else:
                horizon = self._run_time() if self.speed is not None else np.inf
                stop = min(n, i + MAX_BATCH, int(np.searchsorted(self.t, horizon, side="right")))
                if j < len(self._events):
                    stop = min(stop, int(self._event_seq[j]))
                stop = max(stop, i + 1)
                self.index = stop
                batch = self._values[i:stop].tolist()
        if batch is None:
            self._emit_event(kind, message)
        else:
            points = [dict(zip(self._columns, row)) for row in batch]
            for listener in self.listeners:
                listener.on_points(points)
        return True

    def _emit_event(self, kind: str, message: str) -> None:
        for listener in self.listeners:
            listener.on_event(kind, message)

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else time.monotonic()

    def _run_time(self) -> float:
        if self._paused:
            return self._anchor_t
        return self._anchor_t + (self._now() - self._anchor_wall) * (self.speed or 1.0)

    def _wait(self, seconds: float) -> None:
        """Called holding the condition; pause, seek and stop cut a real-time wait short."""
        if self._clock is None:
            self._cond.wait(seconds)
        else:
            self._clock.sleep(seconds)


def replay(
    store: RunStore,
    run_id: int,
    listeners: Sequence[Listener],
    speed: float | None = 1.0,
    clock: Clock | None = None,
) -> Replayer:
    """Play a run into ``listeners`` in this thread and return the finished Replayer."""
    replayer = Replayer(store, run_id, listeners, speed, clock)
    replayer.run()
    return replayer
