"""Fault injection for the safety tests: quick runs of every procedure, message counting per
role, and the simulated instruments' own end state."""

from dwlab.db.store import RunStore
from dwlab.lab import Lab
from dwlab.procedures.registry import procedure_class
from dwlab.procedures.runner import Runner

# small but complete runs of each procedure (fast sweeps: fewer field steps to simulate)
QUICK = {
    "hysteresis": dict(loop="minor", n_loops=1, sweep_rate_Oe_s=1000),
    "integrate-reset": dict(cycles=1, baseline_pulses=2, write_pulses=5, reset_reads=5),
    "integration-sweep": dict(J_list_1e11_A_m2="4", Hx_list_Oe="1000", baseline_pulses=2,
                              write_pulses=5, reset_reads=5),
    "field-integrate": dict(cycles=1),
    "loop-shift": dict(currents_mA="10", Hx_list_Oe="1000", sweep_rate_Oe_s=1000),
    # the default reading interval: 1 s times out delta_sense in the buffer-draining loop
    "return-velocity": dict(Hz_list_Oe="-1300", saturate_s=1, H_ex_Oe=1504.0, Hc_soft_Oe=600.0),
    "kerr-integrate": dict(steps=2),
    "controls": dict(control_pulses=5, write_pulses=5, baseline_pulses=2, reset_reads=5),
}
PRESET = {"return-velocity": "rv-1504"}  # a device with a Hall bar to time the return at
ROLES = ("source", "voltmeter", "magnet_z", "magnet_x", "gaussmeter_z", "gaussmeter_x")


def adapters(lab) -> dict:
    """Role -> the SimAdapter of the lab's instrument in that role now."""
    return {role: inst.adapter for role, inst in lab._instruments().items()}


def count_messages(lab) -> dict[str, int]:
    """Count, live, what each role's adapter carries: writes and reads, as its faults count
    them (``after_messages``); ``"all"`` is every role's together."""
    counter = dict.fromkeys(("all", *ROLES), 0)
    for role, adapter in adapters(lab).items():
        for method in ("_write", "_read"):
            original = getattr(adapter, method)

            def counted(*args, _original=original, _role=role, **kwargs):
                counter["all"] += 1
                counter[_role] += 1
                return _original(*args, **kwargs)

            setattr(adapter, method, counted)
    return counter


def sim_state_problems(lab) -> list[str]:
    """What the simulated instruments themselves still drive (by role): [] when the source is
    off at 0 A, each supply off or at 0 A, each field within remanence + tolerance of zero."""
    state = lab.sim.safe_state()
    problems = []
    if state["source_output_on"] or state["source_level_A"] != 0 or \
            state["source_current_A"] != 0:
        problems.append("source")
    for axis in "zx":
        cfg = lab.setup.fields[axis]
        if abs(state[f"supply_{axis}_current_A"]) > lab.fields[axis].zero_band_A:
            problems.append(f"magnet_{axis}")
        if abs(state[f"field_{axis}_Oe"]) > cfg.remanence_Oe + cfg.tolerance_Oe:
            problems.append(f"field_{axis}")
    return problems


def run(name, store_or_path, prepare=None, listeners=(), **overrides):
    """A quick run of ``name`` on a fresh simulated lab: (lab, outcome, stored record)."""
    store = store_or_path if isinstance(store_or_path, RunStore) else \
        RunStore(f"sqlite:///{store_or_path}/runs.sqlite")
    lab = Lab.open("sim", preset=PRESET.get(name))
    if prepare:
        prepare(lab)
    runner = Runner(lab, store=store, listeners=listeners)
    outcome = runner.run(procedure_class(name)(**{**QUICK[name], **overrides}))
    return lab, outcome, store.get_run(outcome.run_id)


def clean_run_counts(store_for) -> dict[str, dict[str, int]]:
    """Per procedure: the messages (per role, and "all") a clean quick run sends before its
    cleanup, to place injections at early, middle and late moments without wall-clock races.
    ``store_for(name)`` gives each procedure's store (or tmp path)."""
    from dwlab.procedures.registry import names

    counts = {}
    for name in names():
        before_cleanup = []

        def prepare(lab, before_cleanup=before_cleanup):
            counter = count_messages(lab)
            make_safe = lab.make_safe
            lab.make_safe = lambda: (before_cleanup.append(dict(counter)), make_safe())[1]

        lab, outcome, _ = run(name, store_for(name), prepare=prepare)
        assert outcome.status == "finished", (name, outcome.error)
        assert sim_state_problems(lab) == []
        counts[name] = before_cleanup[0]  # the procedure's own messages, not the cleanup's
    return counts
