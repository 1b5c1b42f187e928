"""Replay feeds listeners exactly what the run recorded, in order and at its pace."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dwlab.clock import VirtualClock
from dwlab.db.replay import Replayer, replay
from dwlab.db.store import RunStore, StoreError
from dwlab.listener import ListenerBase


class Recorder(ListenerBase):
    """Keeps everything it hears, with the clock time each batch arrived."""

    def __init__(self, clock=None):
        self.clock = clock
        self.log = []
        self.points = []
        self.arrivals = []

    def on_start(self, info):
        self.log.append(("start", info))

    def on_points(self, points):
        self.log.append(("points", len(points)))
        self.points.extend(points)
        if self.clock:
            self.arrivals.extend([self.clock.now()] * len(points))

    def on_event(self, kind, message):
        self.log.append(("event", kind, message))

    def on_finish(self, status, error):
        self.log.append(("finish", status, error))


@pytest.fixture
def recorded(sqlite_url):
    """A 3 s run: 31 points every 0.1 s (virtual clock) with a log event after point 20."""
    store = RunStore(sqlite_url)
    clock = VirtualClock()
    w = store.begin_run("iv", {"I": "mA", "V": "uV"}, {"n": 31}, sample="S1", clock=clock)
    for k in range(31):
        w.append({"I": 0.1 * k, "V": 3.0 * k})
        if k == 20:
            w.event("log", "pulse train done")
        clock.sleep(0.1)
    w.finish("aborted", "stopped by operator")
    return store, w.run_id


def test_full_speed_replay_is_the_recorded_run(recorded):
    store, run_id = recorded
    rec = Recorder()
    replay(store, run_id, [rec], speed=None)
    kind, info = rec.log[0]
    assert kind == "start" and info.run_id == run_id and info.columns == {"I": "mA", "V": "uV"}
    assert info.sample == "S1" and info.metadata["replay"] is True
    assert rec.points == [{"I": 0.1 * k, "V": 3.0 * k} for k in range(31)]
    events = [e for e in rec.log if e[0] == "event"]
    assert [e[2] for e in events] == ["running", "pulse train done", "aborted: stopped by operator"]
    # the log event arrives after point 20 and before point 21
    i_log = rec.log.index(("event", "log", "pulse train done"))
    assert sum(e[1] for e in rec.log[:i_log] if e[0] == "points") == 21
    assert rec.log[-1] == ("finish", "aborted", "stopped by operator")


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_replay_keeps_the_recorded_pace(recorded, speed):
    store, run_id = recorded
    clock = VirtualClock(1000.0)
    rec = Recorder(clock)
    replay(store, run_id, [rec], speed=speed, clock=clock)
    t = store.dataframe(run_id)["t"].to_numpy()
    start = 1000.0
    played = (np.array(rec.arrivals) - start) * speed  # run time at which each point arrived
    assert len(played) == 31
    # never early, and late by less than one point interval
    assert (played >= t - t[0] - 1e-9).all()
    assert (played - (t - t[0]) < 0.1 + 1e-9).all()
    t_end = store.events(run_id)[-1][0]  # the finish, 0.1 s after the last point
    assert clock.now() - start == pytest.approx(t_end / speed, abs=1e-6)


def test_seek_from_a_listener_skips_ahead(recorded):
    store, run_id = recorded

    class Seeker(Recorder):
        def on_points(self, points):
            super().on_points(points)
            if len(self.points) == 5:
                replayer.seek(index=25)

    rec = Seeker()
    replayer = Replayer(store, run_id, [rec], speed=1.0, clock=VirtualClock())
    replayer.run()
    assert [p["I"] for p in rec.points] == pytest.approx([0.1 * k for k in [*range(5), *range(25, 31)]])
    assert ("event", "replay", "seek to point 25 (t = 2.5 s)") in [
        (e[0], e[1], e[2].replace("2.50", "2.5")) for e in rec.log if e[0] == "event"]
    # the log event at t=2.0 s lies before the seek target: skipped
    assert not any(e[0] == "event" and e[1] == "log" for e in rec.log)
    with pytest.raises(StoreError, match="seek index must be in 0..31"):
        replayer.seek(index=40)


def _replay_pausing_at(store, run_id, n_points):
    """A real-time replay (the run lasts 0.06 s at 50x) that pauses itself once it has
    delivered at least n points (under load one step may deliver several: all that are due);
    ``rec.at_pause`` is how many it had then."""
    paused = threading.Event()

    class Pauser(Recorder):
        at_pause = None

        def on_points(self, points):
            super().on_points(points)
            if self.at_pause is None and len(self.points) >= n_points:
                replayer.pause()
                self.at_pause = len(self.points)
                paused.set()

    rec = Pauser()
    replayer = Replayer(store, run_id, [rec], speed=50.0)
    thread = replayer.start()
    assert paused.wait(10)
    time.sleep(0.2)  # far longer than the rest of the run would take unpaused
    assert len(rec.points) == rec.at_pause < 31 and thread.is_alive()
    return replayer, thread, rec


def test_pause_then_resume_from_another_thread_plays_the_rest(recorded):
    store, run_id = recorded
    replayer, thread, rec = _replay_pausing_at(store, run_id, 3)
    replayer.resume()
    thread.join(10)
    assert not thread.is_alive()
    assert len(rec.points) == 31
    assert rec.log[-1] == ("finish", "aborted", "stopped by operator")  # the recorded ending


def test_stop_from_another_thread_ends_a_paused_replay(recorded):
    store, run_id = recorded
    replayer, thread, rec = _replay_pausing_at(store, run_id, 3)
    replayer.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert rec.log[-1] == ("finish", "aborted", f"replay stopped at point {rec.at_pause}")
    assert len(rec.points) == rec.at_pause


def test_bad_speed_is_refused(recorded):
    store, run_id = recorded
    with pytest.raises(StoreError, match="replay speed must be > 0"):
        Replayer(store, run_id, [], speed=0)
