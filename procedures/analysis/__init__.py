"""Physics analysis of the measurement procedures: pure functions from points to numbers.

Each procedure hands its points (a pandas DataFrame, lab units in the column names) to one
function here and stores the frozen result; ``result.summary()`` is the flat dict that goes
to the database and to ``dwlab analyze``. When the data cannot support a result the function
raises AnalysisError with a message saying what was missing and by how much.
"""


class AnalysisError(ValueError):
    """The data cannot support the requested result (no step, too few points, ...)."""


# Imported after AnalysisError: the modules below import it from here.
from dwlab.procedures.analysis.hysteresis import (  # noqa: E402
    HysteresisResult,
    MinorLoopSwitching,
    analyze_hysteresis,
    minor_loop_switching,
)
from dwlab.procedures.analysis.integrate_reset import (  # noqa: E402
    CycleResult,
    IntegrateResetResult,
    analyze_integrate_reset,
)
from dwlab.procedures.analysis.integration_sweep import (  # noqa: E402
    IntegrationSweepResult,
    SweepPoint,
    analyze_integration_sweep,
)
from dwlab.procedures.analysis.kerr_tracking import (  # noqa: E402
    PositionComparison,
    compare_positions,
    vahe_to_position_um,
)
from dwlab.procedures.analysis.loop_shift import (  # noqa: E402
    LoopAtSetting,
    LoopShiftResult,
    ShiftAtHx,
    analyze_loop_shift,
)
from dwlab.procedures.analysis.neuron import NeuronParameters, fit_neuron  # noqa: E402
from dwlab.procedures.analysis.return_velocity import (  # noqa: E402
    ReturnRun,
    ReturnVelocityResult,
    analyze_return_velocity,
    v_max_vs_hex,
)

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
