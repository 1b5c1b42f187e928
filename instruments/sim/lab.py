"""The simulated lab: one device, two magnets and the instruments that share them, on one clock.

Time moves only through the clock. Every simulated instrument calls ``advance()`` before it
handles a command; the lab then evolves the device model and both magnets from where it last
stopped up to ``clock.now()``, processing scheduled events (6221 pulse edges, trigger-link
triggers, 2182A readings) in time order. Between events the inputs are constant, so the
device steps exactly; while a magnet supply ramps, or a coil current still slews to a new
setpoint (tens of ms on a current-regulated supply), the lab sub-steps on a fixed grid of the
clock (``SUBSTEP_S``) so that the wall sees the field changing. Neither the sub-steps nor the
random draws depend on when instruments are queried: each source of randomness has its own
generator (``RANDOM_STREAMS``), so a procedure that reads more often sees the same device.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from typing import Callable

import numpy as np

from dwlab.clock import Clock, VirtualClock
from dwlab.instruments.sim import magnet, presets
from dwlab.instruments.sim.device import SafHallBar

SUBSTEP_S = 0.01  # while a field moves: a few per coil slew, 1/100 s of a supply's ramp
LINE_FREQUENCY_HZ = 60.0
AXES = ("z", "x")
# one generator each, all from the lab's seed: the device's own randomness (hops, switching
# thresholds) never shares a stream with noise drawn per query
RANDOM_STREAMS = ("lab", "device", "readout", "gaussmeter_z", "gaussmeter_x", "camera")


class SupplyOnAxis:
    """Mixin for a simulated magnet supply's responder: the axis it drives and that axis's
    output stage (the Kepco BOP on z, the Lake Shore 643 on x)."""

    def __init__(self, lab, axis: str):
        self.axis = axis
        super().__init__(lab)

    @property
    def supply(self) -> "Supply":
        return self.lab.supplies[self.axis]


class Supply:
    """A bipolar magnet supply's output stage: the current it drives into its coil.

    ``rate_A_s`` None means a step is applied at once (the Kepco BOP: the driver must ramp);
    otherwise the output ramps to the target at that rate (the Lake Shore 643).
    ``compliance_V`` is the most voltage it puts across the coil (the coil's slew limit).
    ``events`` latches what happened since its owner last read it: "ramp done" when a ramp
    arrives at its target, "compliance" when the output was voltage-limited.
    """

    def __init__(self, compliance_V: float) -> None:
        self.output_on = False
        self.target_A = 0.0
        self.level_A = 0.0
        self.rate_A_s: float | None = None
        self.compliance_V = compliance_V
        self.events: set[str] = set()

    @property
    def output_A(self) -> float:
        return self.level_A if self.output_on else 0.0

    @property
    def ramping(self) -> bool:
        return self.output_on and self.level_A != self.target_A

    def program(self, target_A: float) -> None:
        self.target_A = target_A
        if self.rate_A_s is None:
            self.level_A = target_A

    def stop(self) -> None:
        """Hold the present output (the 643's STOP)."""
        self.target_A = self.level_A

    def advance(self, dt: float) -> None:
        if not self.ramping:
            return
        diff = self.target_A - self.level_A
        level = self.level_A + np.sign(diff) * self.rate_A_s * dt
        if (self.target_A - level) * diff <= 0:  # reached (or passed): rounding cannot hide it
            self.level_A = self.target_A
            self.events.add("ramp done")
        else:
            self.level_A = level


class SimLab:
    """One SAF Hall-bar device, the z and x magnets, their supplies and the instruments' state.

    ``lock`` (re-entrant) serialises every client: responders hold it while handling a
    message. ``stream(name)`` gives the seeded generator of one source of randomness
    (``RANDOM_STREAMS``); ``rng`` is the "lab" one (each instrument's fixed imperfections,
    drawn once), so a seeded lab replays.
    """

    def __init__(self, preset: str = "sot-neuron", seed: int = 0, clock: Clock | None = None,
                 device_overrides: dict | None = None):
        from dwlab.instruments.sim.keithley2182 import Keithley2182Sim
        from dwlab.instruments.sim.keithley6221 import Keithley6221Sim
        from dwlab.instruments.sim.kepco_bop import KepcoBopSim
        from dwlab.instruments.sim.lakeshore425 import LakeShore425Sim
        from dwlab.instruments.sim.lakeshore643 import LakeShore643Sim

        self.clock = clock if clock is not None else VirtualClock()
        seeds = np.random.SeedSequence(seed).spawn(len(RANDOM_STREAMS))
        self._streams = {name: np.random.default_rng(s) for name, s in zip(RANDOM_STREAMS, seeds)}
        self.rng = self.stream("lab")
        self.lock = threading.RLock()
        self.device = SafHallBar(presets.preset(preset, **(device_overrides or {})),
                                 self.stream("device"), noise_rng=self.stream("readout"))
        self.magnets = {axis: magnet.Electromagnet(magnet.MAGNET_PRESETS[axis], self.rng)
                        for axis in AXES}
        self.supplies = {axis: Supply(compliance_V=0.0) for axis in AXES}  # set by their sims
        self.t = self.clock.now()
        self.source_current_A = 0.0
        self._events: list[tuple[float, int, Callable[[float], None], object]] = []
        self._seq = itertools.count()
        self.voltmeter = Keithley2182Sim(self)
        self.source = Keithley6221Sim(self)
        self._responders = {
            "source": self.source,
            "voltmeter": self.voltmeter,
            "magnet_z": KepcoBopSim(self, "z"),
            "magnet_x": LakeShore643Sim(self, "x"),
            "gaussmeter_z": LakeShore425Sim(self, "z"),
            "gaussmeter_x": LakeShore425Sim(self, "x"),
        }

    def stream(self, name: str) -> np.random.Generator:
        """The generator of one source of randomness (one of ``RANDOM_STREAMS``)."""
        return self._streams[name]

    # ------------------------------------------------------------ time
    def schedule(self, t: float, callback: Callable[[float], None], owner: object = None) -> None:
        """Run ``callback(t)`` once the lab has evolved to ``t``; ``owner`` may ``cancel`` it."""
        with self.lock:
            heapq.heappush(self._events, (max(t, self.t), next(self._seq), callback, owner))

    def cancel(self, owner: object) -> None:
        """Drop every pending event scheduled by ``owner`` (an aborted test, a reset)."""
        with self.lock:
            self._events = [e for e in self._events if e[3] is not owner]
            heapq.heapify(self._events)

    def advance(self) -> None:
        """Evolve everything up to ``clock.now()``, firing due events in time order."""
        with self.lock:
            target = self.clock.now()
            while self._events and self._events[0][0] <= target:
                t, _, callback, _ = heapq.heappop(self._events)
                self._evolve_to(t)
                callback(t)
            self._evolve_to(target)

    def next_event_time(self) -> float:
        """When the next scheduled event is due (inf when none is)."""
        with self.lock:
            return self._events[0][0] if self._events else float("inf")

    def run_until(self, t: float) -> None:
        """Let the clock run to ``t`` (a virtual clock jumps; a real one is waited for)."""
        wait = t - self.clock.now()
        if wait > 0:
            self.clock.sleep(wait)
        self.advance()

    def _evolve_to(self, t: float) -> None:
        while self.t < t:
            busy = any(s.ramping for s in self.supplies.values()) or \
                any(m.settling for m in self.magnets.values())
            grid = (math.floor(self.t / SUBSTEP_S + 1e-6) + 1) * SUBSTEP_S  # next grid point
            dt = min(t, grid) - self.t if busy else t - self.t
            start = {a: self.magnets[a].field_Oe for a in AXES}
            for axis in AXES:
                supply, coil = self.supplies[axis], self.magnets[axis]
                supply.advance(dt)
                coil.compliance_V = supply.compliance_V
                coil.step(dt, supply.output_A)  # a ramping output moves linearly within dt
                if not coil.locked:
                    supply.events.add("compliance")
            hz, hx = ((start[a] + self.magnets[a].field_Oe) / 2 for a in AXES)
            self.device.step(dt, hz, hx, self.source_current_A)
            self.t += dt

    def touch_supply(self, axis: str) -> None:
        """A supply's settings changed: its output steps to the new level now (a ramping
        output starts from where it is), with its compliance."""
        coil, supply = self.magnets[axis], self.supplies[axis]
        coil.compliance_V = supply.compliance_V
        if coil.setpoint_A != supply.output_A:
            coil.set_supply_current(supply.output_A)

    # ------------------------------------------------------------ state
    def set_source_current(self, current_A: float) -> None:
        """What the 6221 drives through the bar from now on (after its compliance limit)."""
        self.source_current_A = float(current_A)

    @property
    def bar_resistance_ohm(self) -> float:
        return float(self.device.params.R_bar_ohm)

    def field_Oe(self, axis: str) -> float:
        """The true field along ``axis`` ("z" or "x") at the sample."""
        if axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
        return self.magnets[axis].field_Oe

    def responders(self) -> dict:
        """The simulated instruments, by role: source, voltmeter, magnet_z/x, gaussmeter_z/x."""
        return dict(self._responders)

    def safe_state(self) -> dict:
        """What a safety test checks: is anything still driving current or field?"""
        with self.lock:
            self.advance()
            state = {"source_output_on": self.source.output_on,
                     "source_level_A": self.source.level_A,
                     "source_current_A": self.source_current_A}
            for axis in AXES:
                supply = self.supplies[axis]
                state[f"supply_{axis}_output_on"] = supply.output_on
                state[f"supply_{axis}_current_A"] = self.magnets[axis].coil_current_A
                state[f"field_{axis}_Oe"] = self.field_Oe(axis)
            return state
