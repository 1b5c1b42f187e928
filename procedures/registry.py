"""Every measurement by its command-line name, so the CLI, batch files, the GUI and
``dwlab analyze`` find a procedure class from the name stored with a run."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from dwlab.errors import closest
from dwlab.procedures.parameter_table import (
    NotDeclarative,
    ParameterRow,
    rows_from_source,
    rows_of_class,
)

if TYPE_CHECKING:
    from dwlab.procedures.base import LabProcedure

# command-line name -> "module:Class" under dwlab.procedures
_PROCEDURES = {
    "hysteresis": "hysteresis:Hysteresis",
    "integrate-reset": "integrate_reset:IntegrateReset",
    "integration-sweep": "integration_sweep:IntegrationSweep",
    "controls": "controls:Controls",
    "field-integrate": "field_integrate:FieldIntegrate",
    "loop-shift": "loop_shift:LoopShift",
    "return-velocity": "return_velocity:ReturnVelocity",
    "kerr-integrate": "kerr_integrate:KerrIntegrate",
}


def names() -> list[str]:
    return list(_PROCEDURES)


def _where(name: str) -> tuple[str, str]:
    if name not in _PROCEDURES:
        close = closest(name, list(_PROCEDURES))
        hint = f"did you mean {close}? " if close else ""
        raise KeyError(f"unknown procedure {name!r}; {hint}procedures are "
                       f"{', '.join(_PROCEDURES)}")
    module, cls = _PROCEDURES[name].split(":")
    return f"dwlab.procedures.{module}", cls


def procedure_class(name: str) -> type[LabProcedure]:
    module, cls = _where(name)
    return getattr(import_module(module), cls)


def parameter_rows(name: str) -> tuple[str, list[ParameterRow]]:
    """(one-line description, parameter rows) of a procedure, read from its source when it
    declares them as constants (fast: no PyMeasure, no pandas), else from the class."""
    module, cls = _where(name)
    try:
        return rows_from_source(module, cls)
    except NotDeclarative:
        klass = procedure_class(name)
        return (klass.__doc__ or "").strip().split("\n")[0], rows_of_class(klass)
