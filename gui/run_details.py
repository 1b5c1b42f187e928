"""A stored run's record, analysis and Kerr images as the Runs tab shows them.

No Qt here: ``details`` runs in a separate process (the analysis of a million points takes
seconds to minutes of Python that would otherwise hold the GIL the GUI thread needs).
"""

from __future__ import annotations

import html
import json

from dwlab import api
from dwlab.db.store import RunStore
from dwlab.procedures import registry
from dwlab.procedures.plot_view import PlotView


def details(url: str, run_id: int, image_dir: str | None = None):
    """(record HTML, analysis HTML, Kerr images, fit overlay or None) of run ``run_id`` in the
    store at ``url``."""
    with RunStore(url, image_dir=image_dir) as store:
        return _details(store, run_id)


def _details(store, run_id: int):
    """(record HTML, analysis HTML, Kerr images, the result's ``fit_overlay()`` or None) of a
    run: a background task."""
    record = store.get_run(run_id)
    images = store.images(run_id) if view_of(record.procedure).images else []
    analysis_html, result = _analysis(store, record)
    overlay = result.fit_overlay() if hasattr(result, "fit_overlay") else None
    return _record_html(record), analysis_html, images, overlay


def view_of(procedure: str) -> PlotView:
    try:
        return registry.procedure_class(procedure).PLOT_VIEW
    except Exception:  # noqa: BLE001 - unknown or broken procedure: the plain view
        return PlotView()


def _record_html(record) -> str:
    rows = [("run", record.id), ("procedure", f"{record.procedure} v{record.procedure_version}"),
            ("status", record.status), ("error", record.error or ""),
            ("sample", record.sample), ("operator", record.operator),
            ("started", record.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
            ("ended", record.ended_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
             if record.ended_at else ""),
            ("points", record.n_points), ("software", record.software_version)]
    units = _parameter_units(record.procedure)
    rows += [(f"· {k}", f"{v} {units.get(k, '')}".strip()) for k, v in record.parameters.items()]
    return "<h4>Run</h4>" + _table(rows)


def _parameter_units(procedure: str) -> dict[str, str]:
    """Parameter name -> unit, from the procedure class when it is installed."""
    try:
        cls = registry.procedure_class(procedure)
    except Exception:  # noqa: BLE001 - unknown or broken procedure: show values without units
        return {}
    return {a: getattr(getattr(cls, a), "units", None) or "" for a in cls.parameter_names()}


def _analysis(store, record) -> tuple[str, object]:
    """(the analysis as HTML, the result or None)."""
    if record.status != "finished":
        return f"<h4>Analysis</h4><p>none: the run {record.status}.</p>", None
    try:
        result = api.analyze(store, record.id)
    except Exception as exc:  # noqa: BLE001 - show why, never crash the browser
        return ("<h4>Analysis</h4><p style='color:#b00020'>"
                f"{html.escape(f'{type(exc).__name__}: {exc}')}</p>"), None
    if result is None:
        return "<h4>Analysis</h4><p>this procedure has no analysis.</p>", None
    return "<h4>Analysis</h4>" + _table(summary_rows(result)), result


def summary_rows(result) -> list[tuple[str, str]]:
    """An analysis result's ``summary()`` as (name, formatted value) rows."""
    summary = result.summary() if hasattr(result, "summary") else result
    if not isinstance(summary, dict):
        return [("result", str(summary))]
    return [(k, f"{v:.6g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict))
             else str(v)) for k, v in summary.items()]


def _table(rows) -> str:
    body = "".join(f"<tr><td><b>{html.escape(str(k))}</b></td><td>&nbsp;{html.escape(str(v))}"
                   "</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"
