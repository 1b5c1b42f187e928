"""Runs that are computed, not measured: one table from a stored run's procedure name to the
module that re-analyses it and draws its figure, so ``dwlab analyze``, ``dwlab report`` and the
Runs tab treat them like measurements.

Each module offers ``analyze(store, run_id)`` (a result with ``summary()``) and
``figure(store, run_id)`` (a matplotlib Figure).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

_COMPUTED = {
    "snn-train": "dwlab.snn.record",          # the spiking network trained on a neuron
    "nanosim-scan": "dwlab.nanosim_runs",     # the nanoscale model's H_ex scan
    "nanosim-lif": "dwlab.nanosim_runs",      # and its LIF pulse sequence
}


def module_for(procedure: str) -> ModuleType | None:
    """The module of a computed run's procedure, or None for a measurement."""
    name = _COMPUTED.get(procedure)
    return import_module(name) if name else None
