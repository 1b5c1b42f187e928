"""Browse the stored runs: filter, read a run's record and analysis, replay it, export it.

A replay goes through the same ``RunBridge`` as a live run, so it lands in the same plot, log
and status line; the main window says when a live run makes replaying unavailable.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from dwlab import api
from dwlab.db import export
from dwlab.db.models import RUN_STATUSES
from dwlab.db.replay import Replayer
from dwlab.procedures import registry

ALL = "all"
SPEEDS = {"1x": 1.0, "10x": 10.0, "max": None}
COLUMNS = ["id", "procedure", "sample", "status", "started", "points"]


class RunBrowser(QWidget):
    """The run table with filters, the selected run's details, Replay and Export CSV."""

    replaying_changed = pyqtSignal(bool)  # a replay began (True) or ended (False)

    def __init__(self, store, bridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.bridge = bridge
        self.replayer: Replayer | None = None
        self._busy = False

        self.procedure_filter = QComboBox()
        self.status_filter = QComboBox()
        self.status_filter.addItems([ALL, *RUN_STATUSES])
        refresh = QPushButton("Refresh")
        filters = QHBoxLayout()
        filters.addWidget(QLabel("procedure"))
        filters.addWidget(self.procedure_filter, 1)
        filters.addWidget(QLabel("status"))
        filters.addWidget(self.status_filter, 1)
        filters.addWidget(refresh)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.details = QTextEdit()
        self.details.setReadOnly(True)

        self.speed = QComboBox()
        self.speed.addItems(list(SPEEDS))
        self.replay_button = QPushButton("Replay")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.export_button = QPushButton("Export CSV…")
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("speed"))
        buttons.addWidget(self.speed)
        for button in (self.replay_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([300, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

        refresh.clicked.connect(self.refresh)
        self.procedure_filter.currentTextChanged.connect(self._fill_table)
        self.status_filter.currentTextChanged.connect(self._fill_table)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.replay_button.clicked.connect(lambda: self.replay(SPEEDS[self.speed.currentText()]))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_replay)
        self.export_button.clicked.connect(self._ask_export)
        bridge.finished.connect(self._replay_done, Qt.ConnectionType.QueuedConnection)
        self.refresh()

    # ---- the table ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reread the store (a run just ended, or another process added runs)."""
        current = self.procedure_filter.currentText() or ALL
        procedures = sorted({r.procedure for r in self.store.list_runs()})
        self.procedure_filter.blockSignals(True)
        self.procedure_filter.clear()
        self.procedure_filter.addItems([ALL, *procedures])
        self.procedure_filter.setCurrentText(current if current in procedures else ALL)
        self.procedure_filter.blockSignals(False)
        self._fill_table()

    def _fill_table(self, *_) -> None:
        selected = self.selected_run_id()
        procedure, status = self.procedure_filter.currentText(), self.status_filter.currentText()
        runs = self.store.list_runs(procedure=None if procedure in (ALL, "") else procedure,
                                    status=None if status == ALL else status)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(runs))
        for row, run in enumerate(reversed(runs)):  # newest first
            started = run.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            cells = [run.id, run.procedure, run.sample, run.status, started, run.n_points]
            for col, value in enumerate(cells):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        if selected is not None:
            self.select_run(selected)
        self._update_buttons()

    def run_ids(self) -> list[int]:
        """The ids shown, top to bottom."""
        return [self.table.item(r, 0).data(Qt.ItemDataRole.DisplayRole)
                for r in range(self.table.rowCount())]

    def select_run(self, run_id: int) -> None:
        ids = self.run_ids()
        if run_id in ids:
            self.table.selectRow(ids.index(run_id))

    def selected_run_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.DisplayRole) if rows else None

    # ---- details -----------------------------------------------------------------------------
    def _show_selected(self) -> None:
        run_id = self.selected_run_id()
        self._update_buttons()
        if run_id is None:
            self.details.clear()
            return
        record = self.store.get_run(run_id)
        self.details.setHtml(_record_html(record) + _analysis_html(self.store, record))

    # ---- replay ------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """A live run owns the plot: no replay while it runs."""
        self._busy = busy
        self._update_buttons()

    def replay(self, speed: float | None) -> Replayer:
        """Play the selected run into the bridge (the main plot) in a background thread."""
        run_id = self.selected_run_id()
        if run_id is None:
            raise ValueError("select a run to replay")
        if self._busy or self.replayer is not None:
            raise RuntimeError("the plot is in use (a run or a replay is going on)")
        self.replayer = Replayer(self.store, run_id, [self.bridge], speed=speed)
        self.replayer.start()
        self._update_buttons()
        self.replaying_changed.emit(True)
        return self.replayer

    def toggle_pause(self) -> None:
        if self.replayer is None:
            return
        if self.pause_button.text() == "Pause":
            self.replayer.pause()
            self.pause_button.setText("Resume")
        else:
            self.replayer.resume()
            self.pause_button.setText("Pause")

    def stop_replay(self) -> None:
        if self.replayer is not None:
            self.replayer.resume()  # a paused replay must wake up to see the stop
            self.replayer.stop()

    def _replay_done(self, *_):
        if self.replayer is None:  # a live run ended
            return
        self.replayer = None
        self.pause_button.setText("Pause")
        self._update_buttons()
        self.replaying_changed.emit(False)

    def _update_buttons(self) -> None:
        selected = self.selected_run_id() is not None
        replaying = self.replayer is not None
        self.replay_button.setEnabled(selected and not replaying and not self._busy)
        self.pause_button.setEnabled(replaying)
        self.stop_button.setEnabled(replaying)
        self.export_button.setEnabled(selected)

    # ---- export ------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> Path:
        """Write the selected run as CSV with its metadata JSON beside it."""
        run_id = self.selected_run_id()
        if run_id is None:
            raise ValueError("select a run to export")
        return export.to_csv(self.store, run_id, path)

    def _ask_export(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run as CSV", f"run{run_id}.csv",
                                              "CSV (*.csv)")
        if path:
            written = self.export_csv(path)
            self.details.append(f"<p>exported to {written} (+ {export.metadata_path(written).name})"
                                "</p>")


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


def _analysis_html(store, record) -> str:
    if record.status != "finished":
        return f"<h4>Analysis</h4><p>none: the run {record.status}.</p>"
    try:
        result = api.analyze(store, record.id)
    except Exception as exc:  # noqa: BLE001 - show why, never crash the browser
        return ("<h4>Analysis</h4><p style='color:#b00020'>"
                f"{html.escape(f'{type(exc).__name__}: {exc}')}</p>")
    if result is None:
        return "<h4>Analysis</h4><p>this procedure has no analysis.</p>"
    return "<h4>Analysis</h4>" + _table(summary_rows(result))


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
