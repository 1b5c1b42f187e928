"""Every measurement by its command-line name, so the CLI, batch files, the GUI and
``dwlab analyze`` find a procedure class from the name stored with a run."""

from __future__ import annotations

from importlib import import_module

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


def procedure_class(name: str) -> type[LabProcedure]:
    if name not in _PROCEDURES:
        raise KeyError(f"unknown procedure {name!r}; procedures are {', '.join(_PROCEDURES)}")
    module, cls = _PROCEDURES[name].split(":")
    return getattr(import_module(f"dwlab.procedures.{module}"), cls)
