"""Browse the stored runs: filter, read a run's record and analysis, replay it, export it,
look at its Kerr images, take its parameters back into the form.

Every read of the store is a background task: the table is polled every ``POLL_MS`` (runs that
another process, e.g. ``dwlab batch``, writes appear and update live), a selected run's
analysis is recomputed, a replay's points are loaded, and an export is written without
blocking the GUI. A replay goes through the same ``RunBridge`` as a live run, so it lands in
the same plot, log and status line.
"""

from __future__ import annotations

import html
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
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

from dwlab.db import export
from dwlab.db.models import RUN_STATUSES
from dwlab.db.replay import Replayer
from dwlab.gui.fit_plot import FitPlot
from dwlab.gui.run_details import details, view_of
from dwlab.procedures.plot_view import PlotView

ALL = "all"
SPEEDS = {"1x": 1.0, "10x": 10.0, "max": None}
COLUMNS = ["id", "procedure", "sample", "status", "started", "points"]
POLL_MS = 2000  # how often the store is asked for new and changed runs


FIT_HEIGHT = 260  # pixels given to a fitted curve when one appears


class RunBrowser(QWidget):
    """The run table with filters, the selected run's details, Replay and Export CSV."""

    replaying_changed = pyqtSignal(bool)  # a replay began (True) or ended (False)
    use_parameters = pyqtSignal(str, dict)  # procedure, parameters: into the form
    images_loaded = pyqtSignal(int, list)  # run id, its Kerr images
    exported = pyqtSignal(str)  # the CSV written
    failed = pyqtSignal(str)  # a store read or export failed: the window reports it

    def __init__(self, store, bridge, workers, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.bridge = bridge
        self.workers = workers
        self.replayer: Replayer | None = None
        self.replay_view = PlotView()
        self.runs: list = []
        self._busy = False
        self._loading_replay = False
        self._listing = False
        self._shown_run: int | None = None

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
        self.use_button = QPushButton("Use these parameters")
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("speed"))
        buttons.addWidget(self.speed)
        for button in (self.replay_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.export_button)

        split = self.split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        self.fit_plot = FitPlot()  # the analysis' fitted curve over its points, when it has one
        split.addWidget(self.fit_plot)
        split.setCollapsible(2, False)
        split.setSizes([260, 260, 260])
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
        self.use_button.clicked.connect(self._use_selected)
        bridge.finished.connect(self._replay_done, Qt.ConnectionType.QueuedConnection)
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        self.poll_timer.start()
        self.refresh()

    # ---- the table ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reread the store in the background (a run ended, or another process wrote)."""
        if self._listing:
            return
        self._listing = True
        self.workers.submit(self.store.list_runs, on_done=self._listed,
                            on_error=self._list_failed)

    def _list_failed(self, message: str) -> None:
        self._listing = False
        self.failed.emit(f"cannot read the run list: {message}")

    def _listed(self, runs) -> None:
        self._listing = False
        if runs == self.runs:
            return
        self.runs = runs
        current = self.procedure_filter.currentText() or ALL
        procedures = sorted({r.procedure for r in runs})
        self.procedure_filter.blockSignals(True)
        self.procedure_filter.clear()
        self.procedure_filter.addItems([ALL, *procedures])
        self.procedure_filter.setCurrentText(current if current in procedures else ALL)
        self.procedure_filter.blockSignals(False)
        self._fill_table()

    def _fill_table(self, *_) -> None:
        selected = self.selected_run_id()
        procedure, status = self.procedure_filter.currentText(), self.status_filter.currentText()
        runs = [r for r in self.runs if procedure in (ALL, "", r.procedure)
                and status in (ALL, r.status)]
        self.table.blockSignals(True)
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
        self.table.clearSelection()
        if selected is not None:
            self.select_run(selected)
        self.table.blockSignals(False)
        if self.selected_run_id() != self._shown_run:
            self._show_selected()
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
        """The record at once, the analysis and images when their background task ends."""
        run_id = self.selected_run_id()
        self._shown_run = run_id
        self._update_buttons()
        self.fit_plot.show_overlay(None)
        if run_id is None:
            self.details.clear()
            return
        self.details.setHtml("<p>reading run …</p>")
        image_dir = str(self.store.image_dir) if self.store.image_dir else None
        self.workers.submit_process(details, self.store.url, run_id, image_dir,
                            on_done=lambda d: self._details_read(run_id, d),
                            on_error=lambda m: self._details_failed(run_id, m))

    def _details_read(self, run_id: int, details) -> None:
        if run_id != self.selected_run_id():
            return  # the operator moved on
        record_html, analysis_html, images, overlay = details
        self.details.setHtml(record_html + analysis_html)
        self.fit_plot.show_overlay(overlay)
        table, text, fit = self.split.sizes()
        if overlay is not None and fit < FIT_HEIGHT:  # shown again: give it room
            self.split.setSizes([table, max(text - FIT_HEIGHT, 100), FIT_HEIGHT])
        self.images_loaded.emit(run_id, images)

    def _details_failed(self, run_id: int, message: str) -> None:
        if run_id == self.selected_run_id():
            self.details.setHtml(f"<p style='color:#b00020'>{html.escape(message)}</p>")
        self.failed.emit(f"run {run_id}: {message}")

    def _use_selected(self) -> None:
        run = next((r for r in self.runs if r.id == self.selected_run_id()), None)
        if run is not None:
            self.workers.submit(self.store.get_run, run.id,
                                on_done=lambda rec: self.use_parameters.emit(rec.procedure,
                                                                             rec.parameters),
                                on_error=self.failed.emit)

    # ---- replay ------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """A live run owns the plot: no replay while it runs."""
        self._busy = busy
        self._update_buttons()

    def replay(self, speed: float | None) -> None:
        """Load the selected run in the background, then play it into the bridge (the main
        plot) in the Replayer's thread."""
        run_id = self.selected_run_id()
        if run_id is None:
            raise ValueError("select a run to replay")
        if self._busy or self.replayer is not None or self._loading_replay:
            raise RuntimeError("the plot is in use (a run or a replay is going on)")
        self._loading_replay = True
        self._update_buttons()
        self.replaying_changed.emit(True)
        self.workers.submit(Replayer, self.store, run_id, [self.bridge], speed,
                            on_done=self._replay_loaded, on_error=self._replay_failed)

    def _replay_loaded(self, replayer: Replayer) -> None:
        self._loading_replay = False
        self.replay_view = view_of(replayer.record.procedure)
        self.replayer = replayer
        replayer.start()
        self._update_buttons()

    def _replay_failed(self, message: str) -> None:
        self._loading_replay = False
        self._update_buttons()
        self.replaying_changed.emit(False)
        self.failed.emit(f"replay: {message}")

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

    @property
    def replaying(self) -> bool:
        return self.replayer is not None or self._loading_replay

    def _update_buttons(self) -> None:
        selected = self.selected_run_id() is not None
        replaying = self.replaying
        self.replay_button.setEnabled(selected and not replaying and not self._busy)
        self.pause_button.setEnabled(self.replayer is not None)
        self.stop_button.setEnabled(self.replayer is not None)
        self.export_button.setEnabled(selected)
        self.use_button.setEnabled(selected)

    # ---- export ------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> None:
        """Write the selected run as CSV with its metadata JSON beside it, in the background;
        ``exported`` (or ``failed``) tells when it is done."""
        run_id = self.selected_run_id()
        if run_id is None:
            raise ValueError("select a run to export")
        self.export_button.setEnabled(False)
        self.workers.submit(export.to_csv, self.store, run_id, path,
                            on_done=self._exported, on_error=self._export_failed)

    def _exported(self, written: Path) -> None:
        self._update_buttons()
        self.details.append(f"<p>exported to {html.escape(str(written))} "
                            f"(+ {html.escape(export.metadata_path(written).name)})</p>")
        self.exported.emit(str(written))

    def _export_failed(self, message: str) -> None:
        self._update_buttons()
        self.failed.emit(f"export: {message}")

    def _ask_export(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run as CSV", f"run{run_id}.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path)
