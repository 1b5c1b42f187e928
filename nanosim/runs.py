"""The nanoscale runs as the run store keeps them: the parameters a run records, and the
analysis and figure of a stored run (``dwlab.computed`` routes ``dwlab analyze``/``report``
here). No database code: the caller stores the DataFrames these functions describe."""

from __future__ import annotations

from dataclasses import asdict, fields

import pandas as pd

from dwlab.nanosim import analysis, figures
from dwlab.nanosim.experiments import LifSettings, ScanSettings
from dwlab.nanosim.parameters import Strip


def record(strip: Strip, settings) -> dict:
    """The parameters a run records: the strip and the experiment's settings (SI)."""
    return {"strip": asdict(strip), "settings": asdict(settings),
            "kind": type(settings).__name__}


def strip_of(parameters: dict) -> Strip:
    names = {f.name for f in fields(Strip)}
    return Strip(**{k: v for k, v in parameters.get("strip", {}).items() if k in names})


def lif_settings_of(parameters: dict) -> LifSettings:
    names = {f.name for f in fields(LifSettings)}
    return LifSettings(**{k: v for k, v in parameters.get("settings", {}).items() if k in names})


def scan_settings_of(parameters: dict) -> ScanSettings:
    names = {f.name for f in fields(ScanSettings)}
    return ScanSettings(**{k: v for k, v in parameters.get("settings", {}).items() if k in names})


def analyze_scan(df: pd.DataFrame, parameters: dict):
    return analysis.scan_result(df)


def figure_scan(df: pd.DataFrame, result, parameters: dict):
    return figures.scan_figure(df, result)


def analyze_lif(df: pd.DataFrame, parameters: dict):
    return analysis.lif_result(df, lif_settings_of(parameters).roi_length * 1e9)


def figure_lif(df: pd.DataFrame, result, parameters: dict):
    return figures.lif_figure(df, result, lif_settings_of(parameters).roi_length * 1e9)
