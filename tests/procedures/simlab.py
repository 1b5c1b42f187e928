"""Simulated labs for procedure tests, and the check that a refusal touched nothing."""

import copy

import pytest

from dwlab.instruments.sim.lab import SimLab
from dwlab.lab import Lab, LimitError, with_preset
from dwlab.procedures.runner import Runner
from dwlab.setup import load_setup, parse_setup


def make_lab(seed: int = 0, device_overrides: dict | None = None, preset: str = "sot-neuron",
             **setup_changes) -> Lab:
    """A simulated lab on the built-in setup with the device ``preset`` (its ``[device]``
    table too, as ``--preset`` gives it) and hidden ``device_overrides``; ``setup_changes``
    maps "table.key" -> value (e.g. ``{"field.z.max_ramp_rate_Oe_s": 50.0}``) for a variant
    of the setup file."""
    raw = copy.deepcopy(with_preset(load_setup("sim"), preset).raw)
    for dotted, value in setup_changes.items():
        *tables, key = dotted.split(".")
        node = raw
        for name in tables:
            node = node[name]
        node[key] = value
    setup = parse_setup(raw)
    return Lab(setup, sim=SimLab(preset=preset, seed=seed, device_overrides=device_overrides))


class OvertakenSource:
    """The lab's 6221 as another link sees it (a served lab under load, a busy GPIB bus): its
    settings and ``enable_source``/``disable_source`` take effect ``late_s`` of lab time after
    they are sent, or when it is next asked something (a query waits for what came before), so
    a 2182A reading sent in between comes first."""

    HELD_CALLS = ("enable_source", "disable_source")

    def __init__(self, source, clock, late_s: float = 1e-3):
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_clock", clock)
        object.__setattr__(self, "_late_s", late_s)
        object.__setattr__(self, "_held", [])

    def _deliver(self, everything: bool):
        while self._held and (everything or self._held[0][0] <= self._clock.now()):
            self._held.pop(0)[1]()

    def _hold(self, action):
        self._deliver(everything=False)
        self._held.append((self._clock.now() + self._late_s, action))

    def __setattr__(self, name, value):
        self._hold(lambda: setattr(self._source, name, value))

    def __getattr__(self, name):
        if name in self.HELD_CALLS:
            return lambda: self._hold(getattr(self._source, name))
        self._deliver(everything=True)
        return getattr(self._source, name)


def refused_before_output(lab: Lab, store, procedure, message: str) -> None:
    """The run raises LimitError naming ``message`` and the simulated instruments' own state
    is untouched: no output, no magnet current, no field change, no time spent, no run."""
    before = lab.sim.safe_state()
    t0 = lab.clock.now()
    with pytest.raises(LimitError, match=message):
        Runner(lab, store).run(procedure)
    assert lab.sim.safe_state() == before
    assert not before["source_output_on"] and before["supply_z_current_A"] == 0.0
    assert lab.clock.now() == t0
    assert store.list_runs() == []
