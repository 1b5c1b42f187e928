"""Stop signals (SIGINT, SIGTERM, SIGHUP), once or repeatedly, at any moment of a run: the
Runner's one cleanup runs to its end, the simulated instruments end off and at zero, and the
run is recorded "aborted" with the first signal as its cause.

The moments are placed by counting instrument messages (race-free): the signal is sent to this
very process from inside the k-th message, and Python runs the handler right after.
"""

import os
import signal

import pytest

from dwlab.db.store import RunStore
from dwlab.procedures.registry import names
from dwlab.procedures.runner import Interrupted

from .faults import adapters, count_messages, run, sim_state_problems

WHEN = {"early": 0.05, "middle": 0.5, "late": 0.95}
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@pytest.fixture(scope="module")
def message_counts(tmp_path_factory):
    """All messages of a clean quick run of each procedure, before and in its cleanup."""
    counts = {}
    for name in names():
        seen = {}

        def prepare(lab, seen=seen):
            counter = count_messages(lab)
            make_safe = lab.make_safe

            def counted_make_safe():
                seen["run"] = counter["all"]
                problems = make_safe()
                seen["cleanup"] = counter["all"] - seen["run"]
                return problems

            lab.make_safe = counted_make_safe

        run(name, tmp_path_factory.mktemp(name), prepare=prepare)
        counts[name] = seen
    return counts


def signal_at_messages(lab, plan: dict[int, str]) -> None:
    """Send this process ``plan[k]`` (a signal name) at the k-th message to any instrument."""
    counter = count_messages(lab)
    for adapter in adapters(lab).values():
        for method in ("_write", "_read"):
            counted = getattr(adapter, method)

            def signalling(*args, _counted=counted, **kwargs):
                name = plan.get(counter["all"] + 1)
                if name:
                    os.kill(os.getpid(), getattr(signal, name))
                return _counted(*args, **kwargs)

            setattr(adapter, method, signalling)


def interrupted_run(name, tmp_path, plan):
    with pytest.raises(Interrupted) as info:
        run(name, tmp_path, prepare=lambda lab: signal_at_messages(lab, plan))
    return info.value


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("name", names())
def test_a_signal_at_any_moment_aborts_through_the_cleanup(name, when, message_counts,
                                                           tmp_path):
    signal_name = SIGNALS[(names().index(name) + list(WHEN).index(when)) % len(SIGNALS)]
    k = max(1, int(WHEN[when] * message_counts[name]["run"]))
    stop = interrupted_run(name, tmp_path, {k: signal_name})
    outcome = stop.outcome
    assert stop.signal_name == signal_name
    assert (outcome.status, outcome.error) == ("aborted", f"aborted: {signal_name}")
    record = RunStore(f"sqlite:///{tmp_path}/runs.sqlite").get_run(outcome.run_id)
    assert (record.status, record.error) == ("aborted", f"aborted: {signal_name}")
    assert outcome.safety_problems == []


@pytest.mark.parametrize("name", ["integrate-reset", "hysteresis", "return-velocity"])
def test_more_signals_during_the_cleanup_do_not_cut_it_short(name, message_counts, tmp_path):
    counts = message_counts[name]
    first = counts["run"] // 2
    # SIGTERM mid-run; the run stops at its next check, then the cleanup starts: a storm of
    # every signal at its 1st, 2nd, ... messages and near its end
    plan = {first: "SIGTERM", first + 1: "SIGTERM"}
    lab_holder = []

    def prepare(lab):
        lab_holder.append(lab)
        make_safe = lab.make_safe

        def make_safe_under_fire():
            counter = count_messages(lab)  # the cleanup's own messages from here
            for adapter in adapters(lab).values():
                written = adapter._write

                def storm(command, _written=written, **kwargs):
                    if counter["all"] in (1, 2, 5, counts["cleanup"] // 2,
                                          counts["cleanup"] - 2):
                        os.kill(os.getpid(), getattr(signal, SIGNALS[counter["all"] % 3]))
                    return _written(command, **kwargs)

                adapter._write = storm
            return make_safe()

        lab.make_safe = make_safe_under_fire
        signal_at_messages(lab, plan)

    with pytest.raises(Interrupted) as info:
        run(name, tmp_path, prepare=prepare)
    outcome = info.value.outcome
    assert (outcome.status, outcome.error) == ("aborted", "aborted: SIGTERM")
    assert sim_state_problems(lab_holder[0]) == []  # the cleanup went to its end
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    record = store.get_run(outcome.run_id)
    assert (record.status, record.error) == ("aborted", "aborted: SIGTERM")
    notes = [message for _, kind, message in store.events(outcome.run_id) if kind == "signal"]
    assert any("while cleanup; the cleanup went on to its end" in n for n in notes), notes
    assert notes[0].startswith("SIGTERM received while running")


def test_signals_outside_a_run_keep_their_previous_handlers(tmp_path):
    before = {name: signal.getsignal(getattr(signal, name)) for name in SIGNALS}
    lab, outcome, _ = run("kerr-integrate", tmp_path)
    assert outcome.status == "finished"
    assert {name: signal.getsignal(getattr(signal, name)) for name in SIGNALS} == before
    assert sim_state_problems(lab) == []
