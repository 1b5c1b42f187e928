"""Reports over stored runs: each run's figure, Fig 4e/4f across return-velocity samples, and
one PDF with the paper's numbers beside the measured ones (``dwlab report RUN... --pdf``).

``PAPER`` is the one table of what the paper reports for its experimental figures and where
this software measures it (procedure and analysis summary key); ``compare`` fills in the
measured value from the runs given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure


@dataclass(frozen=True)
class PaperNumber:
    """One number of the paper: its figure, what it is, its value as the paper gives it, and
    how to read it from a run's analysis (procedure, value from the summary or None), on
    which sample (a prefix of the run's sample name; empty: any)."""

    figure: str
    quantity: str
    paper: str
    procedure: str
    measure: Callable[[dict[str, Any], Any], float | str | None]
    unit: str = ""
    sample: str = ""


def _key(name: str):
    return lambda summary, result: summary.get(name)


def _time_at(hz: float):
    def measure(summary, result):
        runs = [r for r in getattr(result, "runs", ()) if abs(r.Hz_Oe - hz) < 10.0]
        return runs[0].t_cross_s if runs and runs[0].t_cross_s is not None else None
    return measure


def _controls_worst(summary, result):
    drifts = [abs(c.drift_pct) for c in getattr(result, "controls", ()) if c.name != "reference"]
    return max(drifts) if drifts else None


PAPER: tuple[PaperNumber, ...] = (
    PaperNumber("2d", "H_ex (Ru 2 nm)", "1150 Oe", "hysteresis", _key("H_ex_Oe"), "Oe",
                "sot-neuron"),
    PaperNumber("2d", "V_AHE, AP (rest)", "-75 µV", "hysteresis", _key("V_AP_uV"), "µV",
                "sot-neuron"),
    PaperNumber("2d", "V_AHE, P (fired)", "-120 µV", "hysteresis", _key("V_P_uV"), "µV",
                "sot-neuron"),
    PaperNumber("4", "H_ex of the return-velocity samples", "1504, 1220, 885, 645 Oe",
                "hysteresis", _key("H_ex_Oe"), "Oe", "rv-"),
    PaperNumber("3c", "no or slow motion below Hx", "500 Oe", "integration-sweep",
                lambda s, r: next((v for k, v in s.items() if k.startswith("Hx_onset_Oe")), None),
                "Oe (onset)"),
    PaperNumber("3c", "controls (I, Hx reversed, Hx = 0, read only)", "no motion",
                "controls", _controls_worst, "% of swing, worst"),
    PaperNumber("3e/f", "rest level", "-75 µV", "integrate-reset", _key("V_rest_uV"), "µV"),
    PaperNumber("3e/f", "firing level", "-120 µV", "integrate-reset", _key("V_fire_uV"), "µV"),
    PaperNumber("3f", "pulses to fire (20 applied)", "< 20", "integrate-reset",
                _key("pulses_to_fire_mean"), ""),
    PaperNumber("3f", "σ/µ of the firing threshold", "< 1.2 %", "integrate-reset",
                _key("threshold_fluctuation_pct"), "%"),
    PaperNumber("3f", "energy per cycle", "~2 mJ", "integrate-reset", _key("energy_mJ"), "mJ"),
    PaperNumber("3e", "wall home after the field reads off", "self-reset", "integrate-reset",
                _key("reset_time_ms_mean"), "ms (< 0: home before)"),
    PaperNumber("3e", "field ramp-down (last write to field off)", "", "integrate-reset",
                _key("ramp_down_ms_mean"), "ms"),
    PaperNumber("4a", "return to Hall bar 1 at Hz = -1160 Oe (H_ex 1504 Oe)", "~600 s",
                "return-velocity", _time_at(-1160.0), "s", "rv-1504"),
    PaperNumber("4f", "v_max at Hz = 0 (per sample)", "rises with H_ex", "return-velocity",
                _key("v_max_um_s"), "µm/s"),
)


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    procedure: str
    sample: str
    status: str
    result: Any  # the analysis, None when there is none
    figure: Figure | None
    problem: str | None
    stamp: str = ""  # what its figure is stamped with (``api.stamp``): "" for a measurement


def load(store, run_id: int) -> StoredRun:
    """A run's record, analysis and figure (a figure of the raw data if the analysis fails)."""
    from dwlab import api
    from dwlab.procedures.analysis import AnalysisError

    record = store.get_run(run_id)
    result, problem = None, None
    try:
        result = api.analyze(store, run_id)
    except (AnalysisError, ValueError, KeyError) as exc:
        problem = f"no analysis: {exc}"
    try:
        figure = api.figure(store, run_id)
    except (NotImplementedError, ValueError, KeyError) as exc:
        figure, problem = None, problem or f"no figure: {exc}"
    return StoredRun(run_id, record.procedure, record.sample, record.status, result, figure,
                     problem, api.stamp(record.procedure, record.simulated))


def combined_stamp(runs: list[StoredRun]) -> str:
    """The stamp of a figure drawn from several runs: theirs when they share one, all of them
    when they differ, "INCLUDES ..." when some are real measurements, nothing when all are."""
    stamps = sorted({r.stamp for r in runs} - {""})
    if not stamps:
        return ""
    joined = " / ".join(stamps)
    return f"INCLUDES {joined}" if any(not r.stamp for r in runs) else joined


def compare(runs: list[StoredRun]) -> list[tuple[str, str, str, str, str]]:
    """(figure, quantity, paper, measured, run ids) for every paper number the runs measure."""
    rows = []
    for number in PAPER:
        values, ids = [], []
        for run in runs:
            if (run.procedure != number.procedure or run.result is None
                    or not run.sample.startswith(number.sample)):
                continue
            value = number.measure(run.result.summary(), run.result)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            values.append(f"{value:.4g}" if isinstance(value, (int, float)) else str(value))
            ids.append(str(run.run_id))
        if values:
            rows.append((number.figure, number.quantity, number.paper,
                         f"{'; '.join(values)} {number.unit}".strip(), ", ".join(ids)))
    return rows


def return_velocity_figure(runs: list[StoredRun]) -> Figure | None:
    """Fig 4e/4f over the return-velocity runs with an analysis, None with fewer than two."""
    from dwlab.api import stamp_figure
    from dwlab.procedures.return_velocity import v_max_figure

    analysed = [r for r in runs if r.procedure == "return-velocity" and r.result]
    if len(analysed) < 2:
        return None
    return stamp_figure(v_max_figure([r.result for r in analysed], [r.sample for r in analysed]),
                        combined_stamp(analysed))


def network_comparison_figure(runs: list[StoredRun]) -> Figure | None:
    """The final accuracies over the snn-train runs given (Table 1 beside measured neurons,
    accuracy against σ/µ), None with fewer than two."""
    from dwlab.api import stamp_figure

    trained = [r for r in runs if r.procedure == "snn-train" and r.result]
    if len(trained) < 2:
        return None
    from dwlab.snn.figures import comparison_figure

    return stamp_figure(comparison_figure([(r.run_id, r.result) for r in trained]),
                        combined_stamp(trained))


def comparison_page(rows, stamp: str = "") -> Figure:
    """The paper's numbers beside the measured ones, as one page (``stamp``: the runs')."""
    fig = Figure(figsize=(11.7, 8.3))
    ax = fig.add_axes((0.03, 0.05, 0.94, 0.85))
    ax.axis("off")
    fig.suptitle("The paper's experimental figures on this lab: paper vs measured", fontsize=13)
    if rows:
        table = ax.table(cellText=[list(r) for r in rows],
                         colLabels=["Fig", "quantity", "paper", "measured", "runs"],
                         loc="upper center", cellLoc="left", colLoc="left",
                         colWidths=[0.05, 0.36, 0.16, 0.33, 0.10])
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1.0, 1.4)
    else:
        ax.text(0.5, 0.5, "none of the runs given measures a number the paper reports",
                ha="center")
    from dwlab.api import stamp_figure

    return stamp_figure(fig, stamp)


def write_pdf(path, runs: list[StoredRun]) -> int:
    """The comparison page, each run's figure, and Fig 4e/4f; returns the number of pages."""
    pages = [comparison_page(compare(runs), combined_stamp(runs))]
    for run in runs:
        if run.figure is not None:
            run.figure.suptitle(f"run {run.run_id}: {run.procedure}, {run.sample} "
                                f"({run.status})", fontsize=9)
            pages.append(run.figure)
    for extra in (return_velocity_figure(runs), network_comparison_figure(runs)):
        if extra is not None:
            pages.append(extra)
    with PdfPages(path) as pdf:
        for page in pages:
            pdf.savefig(page)
    return len(pages)
