"""Every procedure, every way out: the source ends off and both fields at zero.

Checked on the simulated instruments' own state (not on what the drivers believe), with the
run recorded in the store with its status and cause. Ways out: an exception injected at an
instrument message early, midway and late in the run; an abort from another thread. Faults of
the instruments themselves are the fault matrix's (``test_safety_matrix.py``).
"""

import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab
from dwlab.listener import ListenerBase
from dwlab.procedures.base import LabProcedure
from dwlab.procedures.registry import names, procedure_class
from dwlab.procedures.runner import Runner

from .faults import (
    PRESET,
    QUICK,
    adapters,
    clean_run_counts,
    count_messages,
    run,
    sim_state_problems,
)


def test_every_registered_procedure_has_a_quick_run():
    assert set(names()) <= set(QUICK)


class Injected(RuntimeError):
    pass


def raise_at_message(lab, k: int) -> None:
    """Raise once, at the first command written from the k-th message (writes and reads) to
    any instrument on (then the link works again)."""
    counter = count_messages(lab)
    fired = []
    for adapter in adapters(lab).values():
        counted = adapter._write

        def failing(command, _counted=counted, **kwargs):
            if counter["all"] + 1 >= k and not fired:
                fired.append(command)
                raise Injected(f"injected at message {k}: {command!r}")
            return _counted(command, **kwargs)

        adapter._write = failing


@pytest.fixture(scope="module")
def message_counts(tmp_path_factory):
    """Messages a clean quick run of each procedure sends (to place the injections)."""
    return clean_run_counts(tmp_path_factory.mktemp)


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("where", [0.05, 0.5, 0.95])
def test_exception_at_any_step_leaves_the_lab_safe(name, where, message_counts, tmp_path):
    k = max(1, int(where * message_counts[name]["all"]))
    lab, outcome, record = run(name, tmp_path, prepare=lambda lab: raise_at_message(lab, k))
    assert outcome.status == "failed"
    assert f"injected at message {k}" in outcome.error
    assert record.status == "failed" and f"injected at message {k}" in record.error
    assert sim_state_problems(lab) == []


class AbortAfterFirstPoint(ListenerBase):
    def __init__(self):
        self.runner = None

    def on_points(self, points):
        self.runner.abort()


@pytest.mark.parametrize("name", names())
def test_abort_leaves_the_lab_safe(name, tmp_path):
    listener = AbortAfterFirstPoint()
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    lab = Lab.open("sim", preset=PRESET.get(name))
    runner = Runner(lab, store=store, listeners=[listener])
    listener.runner = runner
    outcome = runner.run(procedure_class(name)(**QUICK[name]))
    assert outcome.status == "aborted"
    assert store.get_run(outcome.run_id).status == "aborted"
    assert sim_state_problems(lab) == []


class SetsAField(LabProcedure):
    """Sets one field slowly, with no ``on_step`` of its own; notes when set_field returned."""

    NAME = "sets-a-field"
    COLUMNS = {"t_s": "s"}

    def execute(self):
        axis = self.lab.fields[self.axis_name]
        try:
            axis.set_field(0.8 * axis.limits.max_field_Oe, rate_Oe_s=200.0)  # ~10 s of ramp
        finally:
            self.left_at = self.lab.clock.now()


@pytest.mark.parametrize("axis_name", ["z", "x"])  # the BOP ramped by software, the 643 itself
def test_a_stop_during_set_field_ends_the_ramp_within_a_step(axis_name, tmp_path):
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    runner = Runner(lab, store=store)
    procedure = SetsAField()
    procedure.axis_name = axis_name
    sleep, asked = lab.clock.sleep, []

    def sleep_then_abort(seconds):  # the operator's abort, 2 s into the ramp
        sleep(seconds)
        if not asked and lab.clock.now() >= 2.0:
            asked.append(lab.clock.now())
            runner.abort()
    lab.clock.sleep = sleep_then_abort
    outcome = runner.run(procedure)
    assert outcome.status == "aborted" and outcome.error == "aborted on request"
    assert procedure.left_at - asked[0] <= 2 * lab.fields[axis_name].step_s
    assert sim_state_problems(lab) == []
