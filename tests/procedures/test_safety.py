"""Every procedure, every way out: the source ends off and both fields at zero.

Checked on the simulated instruments' own state (not on what the drivers believe), with the
run recorded in the store with its status and cause. Ways out: an exception injected at an
instrument message early, midway and late in the run; an abort from another thread; an
instrument that stops answering (timeout) or whose link drops (disconnect).
"""

import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab
from dwlab.listener import ListenerBase
from dwlab.procedures.registry import names, procedure_class
from dwlab.procedures.runner import Runner

# small but complete runs of each procedure
QUICK = {
    "hysteresis": dict(loop="minor", n_loops=1),
    "integrate-reset": dict(cycles=1, baseline_pulses=2, write_pulses=5, reset_reads=5),
    "integration-sweep": dict(J_list_1e11_A_m2="4", Hx_list_Oe="1000", baseline_pulses=2, write_pulses=5,
                              reset_reads=5),
    "field-integrate": dict(cycles=1),
    "loop-shift": dict(currents_mA="10", Hx_list_Oe="1000"),
    "return-velocity": dict(Hz_list_Oe="-1300", H_ex_Oe=1504.0, Hc_soft_Oe=600.0),
    "kerr-integrate": dict(steps=2),
    "controls": dict(control_pulses=5, write_pulses=5, baseline_pulses=2, reset_reads=5),
}
PRESET = {"return-velocity": "rv-1504"}  # a device with a Hall bar to time the return at
ROLES = ("source", "voltmeter", "magnet_z", "magnet_x", "gaussmeter_z", "gaussmeter_x")


def test_every_registered_procedure_has_a_quick_run():
    assert set(names()) <= set(QUICK)


class Injected(RuntimeError):
    pass


def adapters(lab):
    return {"source": lab.source.adapter, "voltmeter": lab.voltmeter.adapter,
            "magnet_z": lab.supplies["z"].adapter, "magnet_x": lab.supplies["x"].adapter,
            "gaussmeter_z": lab.gaussmeter_z.adapter, "gaussmeter_x": lab.gaussmeter_x.adapter}


def count_messages(lab) -> list[int]:
    """Count the messages instruments receive: [all, then one count per role in ROLES]."""
    counter = [0] * (1 + len(ROLES))
    for i, adapter in enumerate(adapters(lab).values(), 1):
        original = adapter._write

        def counted(command, _original=original, _i=i, **kwargs):
            counter[0] += 1
            counter[_i] += 1
            return _original(command, **kwargs)

        adapter._write = counted
    return counter


def raise_at_message(lab, k: int) -> None:
    """Raise once, at the k-th message to any instrument (then the link works again)."""
    counter = count_messages(lab)
    for adapter in adapters(lab).values():
        counted = adapter._write

        def failing(command, _counted=counted, **kwargs):
            if counter[0] + 1 == k:
                counter[0] += 1
                raise Injected(f"injected at message {k}: {command!r}")
            return _counted(command, **kwargs)

        adapter._write = failing


def assert_safe(lab):
    state = lab.sim.safe_state()
    assert not state["source_output_on"] or state["source_current_A"] == 0
    assert state["source_current_A"] == 0
    for axis in "zx":
        allowed = lab.setup.fields[axis].remanence_Oe + lab.setup.fields[axis].tolerance_Oe
        assert abs(state[f"field_{axis}_Oe"]) <= allowed, (axis, state)


def run(name, tmp_path, prepare=None, listeners=()):
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    lab = Lab.open("sim", preset=PRESET.get(name))
    if prepare:
        prepare(lab)
    runner = Runner(lab, store=store, listeners=listeners)
    outcome = runner.run(procedure_class(name)(**QUICK[name]))
    record = store.get_run(outcome.run_id)
    return lab, outcome, record


@pytest.fixture(scope="module")
def message_counts(tmp_path_factory):
    """Messages a clean quick run of each procedure sends (to place the injections)."""
    counts = {}
    for name in names():
        before_cleanup = []

        def prepare(lab):
            counter = count_messages(lab)
            make_safe = lab.make_safe
            lab.make_safe = lambda: (before_cleanup.append(list(counter)), make_safe())[1]

        lab, outcome, _ = run(name, tmp_path_factory.mktemp(name), prepare=prepare)
        assert outcome.status == "finished", (name, outcome.error)
        assert_safe(lab)
        total, *per_role = before_cleanup[0]  # the procedure's own messages, not the cleanup's
        counts[name] = {"all": total, **dict(zip(ROLES, per_role))}
    return counts


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("where", [0.05, 0.5, 0.95])
def test_exception_at_any_step_leaves_the_lab_safe(name, where, message_counts, tmp_path):
    k = max(1, int(where * message_counts[name]["all"]))
    lab, outcome, record = run(name, tmp_path, prepare=lambda lab: raise_at_message(lab, k))
    assert outcome.status == "failed"
    assert f"injected at message {k}" in outcome.error
    assert record.status == "failed" and f"injected at message {k}" in record.error
    assert_safe(lab)


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
    assert_safe(lab)


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("role,fault", [("voltmeter", "timeout"), ("source", "disconnect"),
                                        ("magnet_z", "timeout")])
def test_instrument_fault_leaves_the_lab_safe(name, role, fault, message_counts, tmp_path):
    sent = message_counts[name][role]
    assert sent > 2, f"{name} hardly talks to its {role}"

    def prepare(lab):
        # the fault starts halfway through what the run sends to that instrument
        adapters(lab)[role].inject_fault(fault, after_messages=sent // 2)

    lab, outcome, record = run(name, tmp_path, prepare=prepare)
    assert outcome.status == "failed"
    # a dropped link is named as such; a hung instrument shows where the run noticed it: a read
    # timeout, a field that never arrives, or the readings the 6221 did not get from the 2182A
    if fault == "disconnect":
        assert "ConnectionError" in outcome.error
    assert outcome.error and record.error == outcome.error
    assert_safe(lab)
