"""Buffered readings reach the store while the buffer fills: every reading handed on once, in
order; in return-velocity and in field sweeps each within the loss bound of its moment, not
when the field or the branch ends, and a crash in the middle of a field keeps what was read up
to then."""

import numpy as np
import pytest

from dwlab.listener import ListenerBase
from dwlab.procedures.buffer_drain import BufferDrain, WholeBufferReads, drain_period_s
from dwlab.procedures.registry import procedure_class
from dwlab.procedures.return_velocity import ReturnVelocity
from dwlab.procedures.runner import Runner

from .simlab import make_lab

LOSS_BOUND_S = 0.25  # the README's promise: at most this much of the points lost


class FakeBuffer:
    """A buffer that gains ``arrivals[k]`` readings at the k-th query of any kind; it answers
    a count, or a range of readings (start, n) that must be stored, as TRAC:DATA:SEL? does."""

    def __init__(self, arrivals):
        self.readings, self.arrivals, self.queries, self.values_sent = [], list(arrivals), 0, 0

    def _tick(self):
        n = self.arrivals[self.queries] if self.queries < len(self.arrivals) else 0
        self.queries += 1
        self.readings += [10.0 * (len(self.readings) + i) for i in range(n)]

    def count(self):
        self._tick()
        return len(self.readings)

    def read(self, start, n):
        assert start >= 0 and n >= 1 and start + n <= len(self.readings)  # -222 otherwise
        chosen = self.readings[start:start + n]
        self._tick()  # a reading that lands during the read is not in this reply
        self.values_sent += len(chosen)
        return (np.array(chosen),)


def handed_on(drain: BufferDrain, drains: int) -> list[float]:
    """The readings ``drains`` calls of ``drain.new()`` hand on, in order."""
    got = []
    for _ in range(drains):
        new = drain.new()
        if new is not None:
            got += new[0].tolist()
    return got


def test_every_reading_is_handed_on_once_in_order_and_read_once():
    # per query: none yet; one; none; three at once (and one more while they are read); ...
    buffer = FakeBuffer([0, 1, 0, 0, 3, 1, 0, 0, 2, 0, 1])
    drain = BufferDrain(buffer.count, buffer.read)
    got = handed_on(drain, drains=10)
    assert got == [10.0 * k for k in range(len(buffer.readings))] and len(got) == 8
    assert buffer.values_sent == len(got)  # each reading crosses the bus once, not the buffer


class WholeOnlyBuffer(FakeBuffer):
    """An instrument whose one read is the whole buffer; ``new_only``: while it fills, each
    read sends only the readings no earlier read sent (Keithley's 2700)."""

    def __init__(self, arrivals, new_only):
        super().__init__(arrivals)
        self.new_only, self.sent = new_only, 0

    def read_all(self):
        self._tick()
        reply = self.readings[self.sent:] if self.new_only else self.readings
        self.sent = len(self.readings)
        return np.array(reply)


@pytest.mark.parametrize("new_only", [False, True])
def test_a_whole_buffer_read_hands_on_each_reading_once_whichever_it_sends(new_only):
    buffer = WholeOnlyBuffer([0, 1, 0, 0, 3, 1, 0, 0, 2, 0, 1], new_only)
    drain = BufferDrain(buffer.count, WholeBufferReads(buffer.read_all))
    got = handed_on(drain, drains=10)
    assert got == [10.0 * k for k in range(len(buffer.readings))] and len(got) == 8


def test_the_drain_period_stays_within_the_bound_and_below_the_reading_interval():
    assert drain_period_s(0.2) == pytest.approx(0.1)
    assert drain_period_s(0.05) == pytest.approx(0.025)
    assert drain_period_s(30.0) <= LOSS_BOUND_S


class Arrivals(ListenerBase):
    """Lab time at which each point reached the listeners, with the point's own t_s and run."""

    def __init__(self, clock):
        self.clock, self.seen = clock, []

    def on_points(self, points):
        self.seen += [(self.clock.now(), p["t_s"], p.get("run")) for p in points]


class CrashAfter(ListenerBase):
    """Kills the run ``seconds`` of lab time after the first point: an exception out of the
    procedure, like a crash; nothing after it is read from the instruments."""

    def __init__(self, clock, seconds):
        self.clock, self.seconds, self.first_at, self.crashed_at = clock, seconds, None, None

    def on_points(self, points):
        now = self.clock.now()
        self.first_at = now if self.first_at is None else self.first_at
        if now >= self.first_at + self.seconds:
            self.crashed_at = now
            raise KeyboardInterrupt


def given_fields(**extra):
    return ReturnVelocity(H_ex_Oe=1504.0, Hc_soft_Oe=600.0, **extra)  # measured elsewhere


def test_return_velocity_points_reach_the_listener_during_the_field(store):
    lab = make_lab(preset="rv-1504", seed=3)
    listener = Arrivals(lab.clock)
    outcome = Runner(lab, store, listeners=[listener]).run(given_fields(Hz_list_Oe="-1000"))
    assert outcome.status == "finished", outcome.error
    seen = np.array([(now, t) for now, t, _ in listener.seen])
    assert len(seen) > 100
    lag = seen[:, 0] - seen[:, 1]  # arrival on the lab clock minus the reading's own t_s
    # every reading arrives within the bound after the soonest one (t_s counts from t0, so
    # the soonest lag is the fixed offset between the two time lines)
    assert lag.max() - lag.min() <= LOSS_BOUND_S
    assert len(store.dataframe(outcome.run_id)) == len(listener.seen)


def test_a_crash_in_the_middle_of_a_field_keeps_its_readings_up_to_the_bound(store):
    """Killed 60 s into a field's wait (which lasts up to ~17 min): every reading the 6221
    took until 0.25 s before the crash is in the store, in order, as the instrument has it."""
    lab = make_lab(preset="rv-1504", seed=3)
    crash = CrashAfter(lab.clock, 60.0)
    with pytest.raises(KeyboardInterrupt):
        Runner(lab, store, listeners=[crash]).run(given_fields(Hz_list_Oe="-1160"))  # ~600 s
    stored = store.dataframe(store.list_runs()[0].id)["V_uV"].to_numpy()
    source = lab.sim.source  # the simulated 6221's buffer: what it measured, and when
    buffer = [(source.t_start + r.timestamp, r.reading * 1e6) for r in source.buffer.readings]
    due = sum(t <= crash.crashed_at - LOSS_BOUND_S for t, _ in buffer)
    assert due > 250  # 60 s of readings, 0.2 s apart, and those before t0
    first = next(i for i, (_, v) in enumerate(buffer) if v == pytest.approx(stored[0]))
    assert stored == pytest.approx([v for _, v in buffer[first:first + len(stored)]])
    assert first + len(stored) >= due



@pytest.mark.parametrize("name, params", [
    ("hysteresis", dict(loop="minor", n_loops=1)),  # the 6221's delta buffer
    ("loop-shift", dict(currents_mA="10", Hx_list_Oe="1000", n_loops=1)),  # the 2182A's
    ("integrate-reset", dict(cycles=2)),  # the pulse trains' 2182A buffer, segment by segment
])
def test_buffered_readings_reach_the_listener_within_the_bound(store, name, params):
    """Each reading (t_s on the lab clock) is stored within the bound of its moment, not when
    its sweep branch ends (seconds to tens of them at 100 Oe/s) or its pulse train ends (2 s
    for integrate-reset's reset reads)."""
    lab = make_lab(seed=2)
    listener = Arrivals(lab.clock)
    outcome = Runner(lab, store, listeners=[listener]).run(procedure_class(name)(**params))
    assert outcome.status == "finished", outcome.error
    seen = np.array([(now, t) for now, t, _ in listener.seen])
    assert len(seen) > 200
    lag = seen[:, 0] - seen[:, 1]
    assert lag.min() >= 0 and lag.max() <= LOSS_BOUND_S
    assert len(store.dataframe(outcome.run_id)) == len(listener.seen)
