"""The scripting API: everything the GUI and the command line do, from Python.

    from dwlab import api
    with api.open_lab("sim") as lab:                       # or a setup file path
        result = api.run(lab, "integrate-reset", cycles=8)  # stored in the default database
    print(result.status, result.analysis.summary())
    df = result.dataframe()                                 # every point, with units in attrs
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from dwlab.lab import Lab
from dwlab.listener import Listener


@dataclass
class RunResult:
    run_id: int | None
    status: str
    error: str | None
    analysis: Any
    store: Any

    def dataframe(self):
        if self.store is None or self.run_id is None:
            raise ValueError("this run was not stored (run it with a store to keep its points)")
        return self.store.dataframe(self.run_id)

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def open_lab(setup="sim", clock=None, preset: str | None = None) -> Lab:
    """A connected lab from a setup file path, ``"sim"``, or a ``LabSetup``; ``preset``
    chooses the simulated device (``dwlab.instruments.sim.presets``), e.g. ``"rv-1504"``."""
    return Lab.open(setup, clock=clock, preset=preset)


def presets() -> list[str]:
    """The simulated devices a simulated lab can be opened with (``open_lab(preset=...)``)."""
    from dwlab.instruments.sim.presets import PRESETS

    return list(PRESETS)


def open_store(url: str | None = None):
    """The run database (None: $DWLAB_DB, else the SQLite file in the user data directory)."""
    from dwlab.db.store import RunStore

    return RunStore(url)


def make_procedure(name: str, **parameters):
    """A procedure by its command-line name, its parameters checked now (before any output)."""
    from dwlab.procedures.registry import procedure_class

    return procedure_class(name)(**parameters)


def run(lab: Lab, procedure, store="default", listeners: Iterable[Listener] = (),
        operator: str = "", sample: str = "", force: bool = False, **parameters) -> RunResult:
    """Run a procedure (a name with parameters, or a procedure object) and store it.

    ``store="default"`` opens the default database; pass a RunStore, or None to keep nothing.
    A run on the simulated lab is stored marked simulated, and refused under a sample name
    that real runs use unless ``force``.
    """
    from dwlab.procedures.runner import Runner

    if isinstance(procedure, str):
        procedure = make_procedure(procedure, **parameters)
    elif parameters:
        raise TypeError("give parameters either to the procedure object or here, not both")
    if store == "default":
        store = open_store()
    outcome = Runner(lab, store=store, listeners=listeners, operator=operator,
                     sample=sample, force=force).run(procedure)
    return RunResult(outcome.run_id, outcome.status, outcome.error, outcome.analysis, store)


def stored_run(store, run_id: int):
    """(procedure object with the recorded parameters, points, recorded device) of a run."""
    from dwlab.setup import parse_setup

    record = store.get_run(run_id)
    procedure = make_procedure(record.procedure, **record.parameters)
    device = parse_setup(record.setup, f"run {run_id}'s recorded setup").device
    return procedure, store.dataframe(run_id), device


def _computed(store, run_id: int):
    """The module that analyses a computed run (``dwlab.computed``), None for a measurement."""
    from dwlab import computed

    return computed.module_for(store.get_run(run_id).procedure)


def analyze(store, run_id: int):
    """Re-run the analysis of a stored run from its points and recorded parameters."""
    if (computed := _computed(store, run_id)) is not None:
        return computed.analyze(store, run_id)
    procedure, df, device = stored_run(store, run_id)
    return procedure.analyze(df, device)


def figure(store, run_id: int):
    """The paper-style figure of a stored run (a matplotlib Figure).

    A run whose analysis fails (it was aborted, or never switched) still gets its figure of
    the raw data, without the analysis marks: that is when one most wants to look at it.
    A figure that is not of a real measurement is stamped with what it is (``stamp``).
    """
    from dwlab.procedures.analysis import AnalysisError

    record = store.get_run(run_id)
    if (computed := _computed(store, run_id)) is not None:
        fig = computed.figure(store, run_id)
    else:
        procedure, df, device = stored_run(store, run_id)
        try:
            result = procedure.analyze(df, device)
        except AnalysisError:
            result = None
        if procedure.FIGURE_SHOWS_IMAGES:
            fig = procedure.figure(df, result, device, images=store.images(run_id))
        else:
            fig = procedure.figure(df, result, device)
    return stamp_figure(fig, stamp(record.procedure, record.simulated))


def stamp_figure(fig, text: str):
    """Write ``text`` (a ``stamp``; nothing when empty) in the figure's bottom right corner,
    clear of its axes; returns the figure."""
    if text:
        fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=9,
                 color="crimson", fontweight="bold", alpha=0.8)
        _keep_clear_of_the_stamp(fig, 9)
    return fig


def _keep_clear_of_the_stamp(fig, fontsize_pt: float) -> None:
    """Lay the axes out above a band at the bottom as tall as the stamp's line, so that the
    stamp never covers an axis label (every dwlab figure uses the constrained layout)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        band = 1.5 * fontsize_pt / 72 / fig.get_figheight()  # a line, in figure heights
        engine.set(rect=(0, band, 1, 1 - band))


def stamp(procedure: str, simulated: bool) -> str:
    """What a run's figure is stamped with so that no copy of it passes as a measurement:
    "SIMULATED DATA", "COMPUTED" (from a real run) or "COMPUTED FROM SIMULATED DATA";
    nothing for a real measurement."""
    from dwlab import computed

    kind = computed.lab(procedure, simulated)
    if kind == "computed":
        return "COMPUTED FROM SIMULATED DATA" if simulated else "COMPUTED"
    return "SIMULATED DATA" if kind == "simulated" else ""
