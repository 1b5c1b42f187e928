"""Runs that are computed, not measured: one table from a stored run's procedure name to the
code that re-analyses it and draws its figure, so ``dwlab analyze``, ``dwlab report`` and the
Runs tab treat them like measurements (the nanoscale model's scans and LIF sequences).

Each entry is "module:analyze:figure": ``analyze(df, parameters)`` returns a result with
``summary()``, ``figure(df, result, parameters)`` a matplotlib Figure.
"""

from __future__ import annotations

from importlib import import_module

_COMPUTED = {
    "nanosim-scan": "dwlab.nanosim.runs:analyze_scan:figure_scan",
    "nanosim-lif": "dwlab.nanosim.runs:analyze_lif:figure_lif",
}


def is_computed(procedure: str) -> bool:
    return procedure in _COMPUTED


def _function(procedure: str, which: int):
    module, *names = _COMPUTED[procedure].split(":")
    return getattr(import_module(module), names[which])


def analyze(procedure: str, df, parameters: dict):
    return _function(procedure, 0)(df, parameters)


def figure(procedure: str, df, result, parameters: dict):
    return _function(procedure, 1)(df, result, parameters)
