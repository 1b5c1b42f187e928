"""The Runner's one cleanup block: every way out leaves the lab safe and records why."""

import threading

import pytest
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.clock import VirtualClock
from dwlab.listener import ListenerBase
from dwlab.procedures.base import LabProcedure, ParameterError
from dwlab.procedures.runner import Runner
from dwlab.setup import load_setup


class FakeLab:
    """Records outputs and whether it was made safe."""

    def __init__(self):
        self.clock = VirtualClock()
        self.setup = load_setup("sim")
        self.output_on = False
        self.made_safe = 0
        self.safety_problems = []
        self.fields = {}  # no field axes

    def make_safe(self):
        self.output_on = False
        self.made_safe += 1
        return list(self.safety_problems)

    def snapshot(self):
        return {"fake": True}

    def clear_errors(self):
        self.errors = []

    def check_errors(self):
        if self.errors:
            raise RuntimeError(f"instrument(s) refused commands: {self.errors}")


class Pulses(LabProcedure):
    NAME = "pulses"
    COLUMNS = {"t_s": "s", "n": ""}
    count = IntegerParameter("Pulse count", minimum=1, maximum=100, default=5)
    current = FloatParameter("Write current", units="mA", minimum=0, maximum=50, default=10)
    fail_at = IntegerParameter("Fail at", minimum=-1, maximum=100, default=-1)

    def check_limits(self, lab):
        if self.current > lab.setup.limits.max_current_mA:
            raise ValueError(f"current {self.current} mA exceeds the limit "
                             f"{lab.setup.limits.max_current_mA} mA")

    def execute(self):
        self.lab.output_on = True
        for n in range(self.count):
            if n == self.fail_at:
                raise RuntimeError("instrument fault injected")
            self.sleep(1.0)
            self.point(t_s=self.lab.clock.now(), n=n)


class Collector(ListenerBase):
    def __init__(self):
        self.points, self.events, self.finished = [], [], None

    def on_points(self, points):
        self.points.extend(points)

    def on_event(self, kind, message):
        self.events.append((kind, message))

    def on_finish(self, status, error):
        self.finished = (status, error)


def test_finished_run_feeds_listeners_and_is_made_safe():
    lab, listener = FakeLab(), Collector()
    outcome = Runner(lab, listeners=[listener]).run(Pulses(count=3))
    assert outcome.status == "finished" and outcome.error is None
    assert [p["n"] for p in listener.points] == [0, 1, 2]
    assert [p["t_s"] for p in listener.points] == [1.0, 2.0, 3.0]  # the lab's clock, not wall time
    assert lab.made_safe == 1 and not lab.output_on
    assert listener.finished == ("finished", None)


def test_exception_is_recorded_and_lab_left_safe():
    lab, listener = FakeLab(), Collector()
    outcome = Runner(lab, listeners=[listener]).run(Pulses(count=5, fail_at=2))
    assert outcome.status == "failed"
    assert "instrument fault injected" in outcome.error
    assert len(listener.points) == 2
    assert lab.made_safe == 1 and not lab.output_on


def test_ctrl_c_aborts_safely_then_propagates():
    lab = FakeLab()

    class Interrupted(Pulses):
        def execute(self):
            self.lab.output_on = True
            raise KeyboardInterrupt

    runner = Runner(lab)
    with pytest.raises(KeyboardInterrupt):
        runner.run(Interrupted())
    assert runner.outcome.status == "aborted" and "Ctrl-C" in runner.outcome.error
    assert lab.made_safe == 1 and not lab.output_on


def test_abort_from_another_thread_stops_within_a_wait():
    lab = FakeLab()
    started = threading.Event()

    class Long(Pulses):
        def execute(self):
            self.lab.output_on = True
            started.set()
            while True:
                self.sleep(0.5)

    runner = Runner(lab)
    runner.start(Long())
    assert started.wait(5)
    runner.abort()
    outcome = runner.wait(5)
    assert outcome.status == "aborted"
    assert lab.made_safe == 1 and not lab.output_on


def test_a_command_an_instrument_refused_fails_the_run():
    lab = FakeLab()

    class Refused(Pulses):
        def execute(self):
            super().execute()
            self.lab.errors.append('-222,"Data out of range"')

    outcome = Runner(lab).run(Refused(count=1))
    assert outcome.status == "failed" and "-222" in outcome.error
    assert lab.made_safe == 1


def test_safety_problems_turn_a_finished_run_into_failed():
    lab = FakeLab()
    lab.safety_problems = ["field z: ramp to zero failed: timeout"]
    outcome = Runner(lab).run(Pulses(count=1))
    assert outcome.status == "failed"
    assert "SAFETY: field z: ramp to zero failed" in outcome.error


def test_bad_parameter_is_refused_with_name_value_and_range():
    with pytest.raises(ParameterError, match=r"count \(Pulse count\) = 500 .*\[1, 100\]"):
        Pulses(count=500)
    with pytest.raises(ParameterError, match=r"unknown parameter cuont; did you mean count\?"):
        Pulses(cuont=5)


def test_limit_check_refuses_before_any_output():
    lab = FakeLab()
    with pytest.raises(ValueError, match="exceeds the limit 25.0 mA"):
        Runner(lab).run(Pulses(current=40))
    assert not lab.output_on and lab.made_safe == 0
