"""Runs that are computed, not measured: one table from a stored run's procedure name to the
module that re-analyses it and draws its figure, so ``dwlab analyze``, ``dwlab report`` and the
Runs tab treat them like measurements.

Each module offers ``analyze(store, run_id)`` (a result with ``summary()``) and
``figure(store, run_id)`` (a matplotlib Figure).

``lab(procedure, simulated)`` is what a run's LAB says wherever it is shown (``runs list``,
``analyze``, export metadata, the figure's stamp): "real", "simulated" or "computed". A
computed run's stored ``simulated`` flag says whether its source was simulated.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

_COMPUTED = {
    "snn-train": "dwlab.snn.record",          # the spiking network trained on a neuron
    "nanosim-scan": "dwlab.nanosim_runs",     # the nanoscale model's H_ex scan
    "nanosim-lif": "dwlab.nanosim_runs",      # and its LIF pulse sequence
}
LABS = ("real", "simulated", "computed")


def module_for(procedure: str) -> ModuleType | None:
    """The module of a computed run's procedure, or None for a measurement."""
    name = _COMPUTED.get(procedure)
    return import_module(name) if name else None


def lab(procedure: str, simulated: bool) -> str:
    """"computed" for a computed run's procedure, else "simulated" or "real"."""
    if procedure in _COMPUTED:
        return "computed"
    return "simulated" if simulated else "real"
