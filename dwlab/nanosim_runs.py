"""The nanoscale model's runs in the run store: what a run records, and the analysis and
figure of a stored ``nanosim-scan`` or ``nanosim-lif`` run (``dwlab.computed`` routes
``dwlab analyze`` and ``dwlab report`` here). The store lives here, not in ``nanosim/``, which
knows nothing of databases."""

from __future__ import annotations

from dataclasses import asdict, fields

from dwlab.nanosim import analysis, figures
from dwlab.nanosim.experiments import LifSettings
from dwlab.nanosim.parameters import Strip


def record(strip: Strip, settings) -> dict:
    """The parameters a run records: the strip and the experiment's settings (SI)."""
    return {"strip": asdict(strip), "settings": asdict(settings),
            "kind": type(settings).__name__}


def _lif_settings(parameters: dict) -> LifSettings:
    names = {f.name for f in fields(LifSettings)}
    return LifSettings(**{k: v for k, v in parameters.get("settings", {}).items() if k in names})


def lif_analysis(df, settings: LifSettings):
    """The analysis of a LIF trace run with ``settings``."""
    return analysis.lif_result(df, settings.roi_length * 1e9,
                               period_ms=(settings.t_on + settings.t_leak) * 1e3)


def analyze(store, run_id: int):
    record_ = store.get_run(run_id)
    df = store.dataframe(run_id)
    if record_.procedure == "nanosim-scan":
        return analysis.scan_result(df)
    return lif_analysis(df, _lif_settings(record_.parameters))


def figure(store, run_id: int):
    from dwlab.procedures.analysis import AnalysisError

    record_ = store.get_run(run_id)
    df = store.dataframe(run_id)
    try:
        result = analyze(store, run_id)
    except AnalysisError:
        result = None
    if record_.procedure == "nanosim-scan":
        return figures.scan_figure(df, result)
    return figures.lif_figure(df, result, _lif_settings(record_.parameters).roi_length * 1e9)
