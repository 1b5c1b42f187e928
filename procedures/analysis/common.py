"""Small helpers every analysis here shares: column checks, sweep segments, spreads, summaries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dwlab.procedures.analysis import AnalysisError


def require_columns(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Raise AnalysisError naming the missing columns, before anything else goes wrong."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"{what}: missing column(s) {missing}; present: {list(df.columns)}"
        )


def spread(values: np.ndarray) -> float:
    """Sample standard deviation, 0 for a single value (one loop has no spread to show)."""
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def segments(df: pd.DataFrame, keys: list[str]) -> list[pd.DataFrame]:
    """Split ``df`` (in time order) into contiguous runs of equal ``keys``.

    A loop measurement visits branch +1, -1, +1, ...; each visit is one sweep and yields one
    switching field, so repeated loops are averaged sweep by sweep.
    """
    if df.empty:
        return []
    change = (df[keys].shift() != df[keys]).any(axis=1).to_numpy()
    labels = np.cumsum(change)
    return [part for _, part in df.groupby(labels, sort=True)]


def flat_summary(result: object, **extra: float | str) -> dict[str, float | str]:
    """The scalar fields of a result dataclass as a flat, JSON-able dict (None left out)."""
    out: dict[str, float | str] = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, (bool, np.bool_)):
            out[f.name] = float(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            out[f.name] = float(value)
        elif isinstance(value, str):
            out[f.name] = value
    out.update(extra)
    return out


def cluster_values(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Replace each value by the mean of its cluster: sorted values closer than ``tolerance``
    belong together. Turns noisy gaussmeter readings of one set field into one setting."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    order = np.argsort(values)
    labels = np.empty(len(values), dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(np.diff(values[order]) > tolerance)])
    means = np.bincount(labels, weights=values) / np.bincount(labels)
    return means[labels]
