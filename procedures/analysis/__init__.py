"""Physics analysis of the measurement procedures: pure functions from points to numbers.

Each procedure hands its points (a pandas DataFrame, lab units in the column names) to one
function here and stores the frozen result; ``result.summary()`` is the flat dict that goes
to the database and to ``dwlab analyze``. When the data cannot support a result the function
raises AnalysisError with a message saying what was missing and by how much.
"""


class AnalysisError(ValueError):
    """The data cannot support the requested result (no step, too few points, ...)."""


# name -> the submodule that defines it, imported on first use (PEP 562): a procedure's
# module loads only its own analysis, and ``dwlab run PROC --help`` none of scipy's.
_SUBMODULE = {
    "HysteresisResult": "hysteresis", "MinorLoopSwitching": "hysteresis",
    "analyze_hysteresis": "hysteresis", "minor_loop_switching": "hysteresis",
    "CycleResult": "integrate_reset", "IntegrateResetResult": "integrate_reset",
    "analyze_integrate_reset": "integrate_reset",
    "IntegrationSweepResult": "integration_sweep", "SweepPoint": "integration_sweep",
    "analyze_integration_sweep": "integration_sweep",
    "PositionComparison": "kerr_tracking", "compare_positions": "kerr_tracking",
    "vahe_to_position_um": "kerr_tracking",
    "LoopAtSetting": "loop_shift", "LoopShiftResult": "loop_shift", "ShiftAtHx": "loop_shift",
    "analyze_loop_shift": "loop_shift",
    "NeuronParameters": "neuron", "fit_neuron": "neuron",
    "ReturnRun": "return_velocity", "ReturnVelocityResult": "return_velocity",
    "analyze_return_velocity": "return_velocity", "v_max_vs_hex": "return_velocity",
}


def __getattr__(name: str):
    if name not in _SUBMODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_SUBMODULE[name]}"), name)


__all__ = [
    "AnalysisError",
    "CycleResult",
    "HysteresisResult",
    "IntegrateResetResult",
    "IntegrationSweepResult",
    "LoopAtSetting",
    "LoopShiftResult",
    "MinorLoopSwitching",
    "NeuronParameters",
    "PositionComparison",
    "ReturnRun",
    "ReturnVelocityResult",
    "ShiftAtHx",
    "SweepPoint",
    "analyze_hysteresis",
    "analyze_integrate_reset",
    "analyze_integration_sweep",
    "analyze_loop_shift",
    "analyze_return_velocity",
    "compare_positions",
    "fit_neuron",
    "minor_loop_switching",
    "v_max_vs_hex",
    "vahe_to_position_um",
]
