"""The operator console: pick a procedure, fill its parameters, Start, watch V_AHE, Abort.

Left: the lab and its instruments, the procedure and its parameter form, operator and sample,
Start / Abort (tab "Measure"), and the run browser (tab "Runs"). Right: status and progress,
the live plot, the event log and the analysis summary. A live run and a replay both arrive
through one ``RunBridge``, so they draw the same way.

The run itself is the Runner's, in its worker thread: the window never touches the
instruments during a run. Parameters and limits are checked here before Start (so a refusal is
shown, not lost in a thread); closing during a run asks, aborts, and waits for the Runner's
cleanup (source off, fields at zero) before the window goes.
"""

from __future__ import annotations

import html
import json

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from dwlab.gui.bridge import RunBridge
from dwlab.gui.event_log import EventLog
from dwlab.gui.instrument_panel import InstrumentPanel
from dwlab.gui.live_plot import LivePlot
from dwlab.gui.parameter_form import ParameterForm
from dwlab.gui.run_browser import RunBrowser, summary_rows
from dwlab.procedures.runner import Runner

STATUS_COLOURS = {"running": "#1f4e9c", "finished": "#1b5e20", "aborted": "#e65100",
                  "failed": "#b00020", "interrupted": "#b00020", "refused": "#b00020"}
WATCH_MS = 500  # how often to look for a worker that died before it could report


def installed_procedures() -> tuple[dict[str, type], dict[str, str]]:
    """(name -> class of every procedure that imports, name -> why each other one failed).

    One procedure module that does not import (a broken edit, a missing optional package) must
    not keep the operator from running the others, so each is tried on its own.
    """
    from dwlab.procedures import registry

    found, broken = {}, {}
    for name in registry.names():
        try:
            found[name] = registry.procedure_class(name)
        except Exception as exc:  # noqa: BLE001 - report it, run the others
            broken[name] = f"{type(exc).__name__}: {exc}"
    return found, broken


class MainWindow(QMainWindow):
    """The console over one ``lab`` and one ``store``; ``procedures``: name -> class."""

    def __init__(self, lab, store, procedures: dict[str, type] | None = None,
                 operator: str = ""):
        super().__init__()
        self.lab, self.store = lab, store
        broken = {}
        if procedures is None:
            procedures, broken = installed_procedures()
        self.procedures = dict(procedures)
        self.runner: Runner | None = None
        self.form: ParameterForm | None = None
        self.status = ""
        self._close_pending = False
        self.setWindowTitle(f"dwlab: {lab.setup.name}")

        self.bridge = RunBridge(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.started.connect(self._started, queued)
        self.bridge.points_ready.connect(self._points, queued)
        self.bridge.event.connect(self._event, queued)
        self.bridge.finished.connect(self._finished, queued)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._measure_tab(operator), "Measure")
        self.browser = RunBrowser(store, self.bridge)
        self.browser.replaying_changed.connect(lambda _: self._set_running(self.running))
        self.tabs.addTab(self.browser, "Runs")

        self.status_label = QLabel("idle")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.plot = LivePlot()
        self.log = EventLog()
        self.result = QTextEdit()
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("the analysis summary appears here when a run finishes")
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.progress, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.addLayout(status_row)
        top_layout.addWidget(self.plot, 1)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(_titled("Events", self.log))
        bottom.addWidget(_titled("Analysis", self.result))
        bottom.setSizes([500, 400])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(bottom)
        right.setSizes([560, 240])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.tabs)
        main.addWidget(right)
        main.setSizes([480, 900])
        self.setCentralWidget(main)
        self.resize(1400, 860)

        self.watch = QTimer(self)
        self.watch.setInterval(WATCH_MS)
        self.watch.timeout.connect(self._watch_worker)
        self._choose(self.chooser.currentText())
        self._set_running(False)
        for name, why in broken.items():
            self.log.add("error", f"procedure {name} is unavailable: {why}")

    # ---- the Measure tab ---------------------------------------------------------------------
    def _measure_tab(self, operator: str) -> QWidget:
        self.chooser = QComboBox()
        self.chooser.addItems(sorted(self.procedures))
        self.chooser.currentTextChanged.connect(self._choose)
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.operator = QLineEdit(operator)
        self.sample = QLineEdit(self.lab.setup.device.name)
        self.start_button = QPushButton("Start")
        self.abort_button = QPushButton("Abort")
        self.abort_button.setStyleSheet("QPushButton:enabled { color: #b00020; font-weight: bold; }")
        self.start_button.clicked.connect(self.start_run)
        self.abort_button.clicked.connect(self.abort_run)

        who = QFormLayout()
        who.addRow("operator", self.operator)
        who.addRow("sample", self.sample)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.abort_button)
        procedure_box = QGroupBox("Procedure")
        box = QVBoxLayout(procedure_box)
        box.addWidget(self.chooser)
        box.addWidget(self.form_area, 1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.instruments = InstrumentPanel(self.lab)
        layout.addWidget(self.instruments)
        layout.addWidget(procedure_box, 1)
        layout.addLayout(who)
        layout.addLayout(buttons)
        return tab

    def _choose(self, name: str) -> None:
        if not name:
            self.form = None
            self.form_area.setWidget(QLabel("no procedure is installed"))
            return
        self.form = ParameterForm(self.procedures[name])
        self.form.valid_changed.connect(lambda _: self._set_running(self.running))
        self.form_area.setWidget(self.form)
        self._set_running(self.running)

    # ---- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A live run is in progress (until its cleanup has ended and been reported)."""
        return self.runner is not None

    def start_run(self) -> bool:
        """Check the parameters and limits, then hand the run to the Runner's worker thread."""
        if self.running or self.browser.replayer is not None or self.form is None:
            return False
        try:
            procedure = self.form.procedure()
            procedure.lab = self.lab
            procedure.check_limits(self.lab)
        except (ValueError, TypeError) as exc:  # ParameterError, LimitError
            self._show_status("refused", str(exc))
            self.log.add("error", f"refused before any output: {exc}")
            return False
        self.runner = Runner(self.lab, self.store, listeners=[self.bridge],
                             operator=self.operator.text().strip(),
                             sample=self.sample.text().strip())
        self._set_running(True)
        self.runner.start(procedure)
        self.watch.start()
        return True

    def abort_run(self) -> None:
        """Ask the run to stop; the Runner's cleanup leaves the source off, fields at zero."""
        if self.runner is None:
            return
        self.runner.abort()
        self.abort_button.setEnabled(False)
        self._show_status("running", "aborting: waiting for source off and fields at zero")
        self.log.add("abort", "abort requested by the operator")

    def _set_running(self, running: bool) -> None:
        valid = self.form is not None and self.form.is_valid
        self.start_button.setEnabled(not running and valid and self.browser.replayer is None)
        self.abort_button.setEnabled(running)
        self.chooser.setEnabled(not running)
        self.form_area.setEnabled(not running)
        self.browser.set_busy(running)

    def _watch_worker(self) -> None:
        """A worker that died before ``on_finish`` (e.g. the store refused the run)."""
        if self.runner is None or self.runner.outcome is not None:
            self.watch.stop()
            return
        thread = self.runner._thread
        if thread is not None and not thread.is_alive():
            self.watch.stop()
            self.log.add("error", "the run's worker ended without reporting (see the console log)")
            self._end_live("failed", "the run could not start or report; check the log")

    # ---- what the bridge delivers ------------------------------------------------------------
    def _started(self, info) -> None:
        self.plot.begin(info)
        self.progress.setValue(0)
        self.result.clear()
        replay = info.metadata.get("replay")
        what = f"replay of run {info.run_id}" if replay else f"run {info.run_id}"
        self.log.add("start", f"{what}: {info.procedure} on {info.sample or 'no sample'}")
        self._show_status("running", f"{what} ({info.procedure})")

    def _points(self) -> None:
        self.plot.add_points(self.bridge.take_points())

    def _event(self, kind: str, message: str) -> None:
        if kind == "progress":
            self.progress.setValue(round(float(message) * 10))
            return
        if kind == "analysis":  # a replay carries the analysis recorded with the run
            try:
                self._show_summary(summary_rows(json.loads(message)))
                message = "recorded analysis shown in the Analysis pane"
            except ValueError:
                pass
        self.log.add(kind, message)

    def _finished(self, status: str, error) -> None:
        self.plot.redraw()
        if self.running:
            outcome = self.runner.wait(timeout=5)  # on_finish is the worker's last call
            if outcome is not None and outcome.analysis is not None:
                self._show_summary(summary_rows(outcome.analysis))
            self.browser.refresh()
        self.log.add("safety" if error and "SAFETY" in error else "end",
                     f"{status}" + (f": {error}" if error else ""))
        if status == "finished":
            self.progress.setValue(self.progress.maximum())
        self._end_live(status, error)

    def _end_live(self, status: str, error) -> None:
        was_live = self.running
        self.runner = None
        self.watch.stop()
        self._show_status(status, error or "")
        self._set_running(False)
        if was_live and self._close_pending:
            self.close()

    def _show_status(self, status: str, detail: str = "") -> None:
        self.status = status
        colour = STATUS_COLOURS.get(status, "#333333")
        text = f"<b style='color:{colour}'>{status}</b>"
        self.status_label.setText(text + (f" &mdash; {_escape(detail)}" if detail else ""))
        self.status_label.setToolTip(detail)

    def _show_summary(self, rows) -> None:
        self.result.setHtml("<table>" + "".join(
            f"<tr><td><b>{_escape(k)}</b></td><td>&nbsp;{_escape(v)}</td></tr>"
            for k, v in rows) + "</table>")

    # ---- closing -----------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Ask before aborting a run to close (tests replace this)."""
        answer = QMessageBox.question(
            self, "A run is in progress",
            "Abort the run and close? The source is turned off and the fields ramped to zero "
            "first; the window closes when that is done.")
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.running:
            event.ignore()
            if self._close_pending or self.confirm_close():
                self._close_pending = True
                self.abort_run()
            return
        if self.browser.replayer is not None:
            self.browser.stop_replay()
        event.accept()


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(widget)
    return box


def _escape(text) -> str:
    return html.escape(str(text))
