"""The operator console: pick a procedure, fill its parameters, Start or queue it, watch
V_AHE, Abort; manual control with All outputs off; the stored runs.

Left tabs: "Measure" (procedure, parameter form, operator, sample, Start / Abort / Queue),
"Queue" (runs lined up, started one after the other), "Manual" (instruments, live readings,
field and current by hand, All outputs off) and "Runs" (the store). Right: status and
progress, the live plot (the procedure's own ``PLOT_VIEW``; Kerr images beside it when the
procedure stores them), the log and the analysis summary.

Nothing slow happens in the GUI thread: a run, a reading, a manual command and All outputs off
are tasks in the lab pool (one at a time, so they never talk to the instruments at once);
analysis, export, replay loading and store polling are background tasks. A run's points,
events and end come through one ``RunBridge``, like a replay's. A SAFETY failure raises an
alarm that must be acknowledged, and Start stays disabled until All outputs off has confirmed
the lab safe. Errors anywhere reach the status line and the log.
"""

from __future__ import annotations

import html
import json
import logging

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QKeySequence, QShortcut
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
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from dwlab.gui import errors
from dwlab.gui.bridge import RunBridge
from dwlab.gui.event_log import EventLog
from dwlab.gui.instrument_panel import InstrumentPanel
from dwlab.gui.kerr_view import KerrView
from dwlab.gui.live_plot import LivePlot
from dwlab.gui.manual_panel import ManualPanel, all_outputs_off
from dwlab.gui.parameter_form import ParameterForm
from dwlab.gui.run_browser import RunBrowser
from dwlab.gui.run_details import summary_rows
from dwlab.gui.run_queue import Entry, RunQueue, grid_runs
from dwlab.gui.session import Session
from dwlab.gui.sim_preset import current_preset, preset_names, reopen_with_preset
from dwlab.gui.workers import Workers, favour_gui_thread
from dwlab.procedures.plot_view import PlotView
from dwlab.procedures.runner import Runner

log = logging.getLogger(__name__)

STATUS_COLOURS = {"running": "#1f4e9c", "finished": "#1b5e20", "aborted": "#e65100",
                  "failed": "#b00020", "interrupted": "#b00020", "refused": "#b00020",
                  "error": "#b00020", "UNSAFE": "#b00020", "safe": "#1b5e20"}
IMAGES_MS = 1000  # how often a running kerr-integrate's new images are fetched
ALL_OFF_KEYS = ("Ctrl+Shift+O", "F12")


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
    """The console over one ``lab`` and one ``store``; ``procedures``: name -> class;
    ``session``: what to remember between sessions (default: the user's QSettings)."""

    def __init__(self, lab, store, procedures: dict[str, type] | None = None,
                 operator: str = "", session: Session | None = None):
        super().__init__()
        self.lab, self.store = lab, store
        self.session = session or Session()
        broken = {}
        if procedures is None:
            procedures, broken = installed_procedures()
        self.procedures = dict(procedures)
        self.runner: Runner | None = None
        self.current_entry: Entry | None = None
        self.form: ParameterForm | None = None
        self.status = ""
        self.safe_confirmed = True
        self.switching = False  # the simulated device is being changed
        self.alarm: QMessageBox | None = None
        self._close_pending = False
        self._run_view = PlotView()
        self._image_task = None
        self.setWindowTitle(f"dwlab: {lab.setup.name}")

        favour_gui_thread()
        self.workers = Workers(self)
        self.bridge = RunBridge(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.started.connect(self._started, queued)
        self.bridge.points_ready.connect(self._points, queued)
        self.bridge.event.connect(self._event, queued)
        self.bridge.finished.connect(self._finished, queued)

        self.status_label = QLabel("idle")
        self.status_label.setWordWrap(True)  # a long error wraps; it never widens the window
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # at most three lines: the whole message is in the log and the tooltip
        self.status_label.setMaximumHeight(3 * self.status_label.fontMetrics().lineSpacing() + 4)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.plot = LivePlot()
        self.kerr = KerrView()
        self.log = EventLog()
        self.result = QTextEdit()
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("the analysis summary appears here when a run finishes")

        self.tabs = QTabWidget()
        self.tabs.addTab(self._measure_tab(operator), "Measure")
        self.queue = RunQueue()
        self.queue.setup = batch_setup_name(lab)
        self.tabs.addTab(self.queue, "Queue")
        self.manual = ManualPanel(lab)
        self.instruments = InstrumentPanel(lab, self.workers)
        manual_tab = QWidget()
        manual_layout = QVBoxLayout(manual_tab)
        manual_layout.addWidget(self.manual)
        manual_layout.addWidget(self.instruments)
        manual_layout.addStretch(1)
        self.tabs.addTab(manual_tab, "Manual")
        self.browser = RunBrowser(store, self.bridge, self.workers)
        self.tabs.addTab(self.browser, "Runs")

        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 3)
        status_row.addWidget(self.progress, 1)
        self.plots = QSplitter(Qt.Orientation.Horizontal)
        self.plots.addWidget(self.plot)
        self.plots.addWidget(self.kerr)
        self.kerr.hide()
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.addLayout(status_row)
        top_layout.addWidget(self.plots, 1)
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.bottom.addWidget(_titled("Log", self.log))
        self.bottom.addWidget(_titled("Analysis", self.result))
        self.bottom.setSizes([500, 400])
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(top)
        self.right.addWidget(self.bottom)
        self.right.setSizes([560, 240])
        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.tabs)
        self.main_split.addWidget(self.right)
        self.main_split.setSizes([480, 900])
        self.setCentralWidget(self.main_split)
        self.resize(1400, 860)
        self.session.restore_layout(self, self._splitters())

        self._uninstall_hook = errors.install(self.report_error)
        self.log_forwarder = errors.LogForwarder()
        self.log_forwarder.record.connect(self.log.add, queued)
        logging.getLogger().addHandler(self.log_forwarder)

        self.queue.add_form_requested.connect(self.queue_form_run)
        self.queue.grid_requested.connect(self.queue_grid)
        self.queue.start_requested.connect(self.start_next_queued)
        self.queue.abort_requested.connect(self.abort_run)
        self.queue.changed.connect(lambda: self._set_running(self.running))
        self.manual.request.connect(self.lab_task)
        self.manual.all_off_clicked.connect(self.all_outputs_off)
        self.browser.replaying_changed.connect(lambda _: self._set_running(self.running))
        self.browser.use_parameters.connect(self.use_parameters)
        self.browser.images_loaded.connect(self._browse_images)
        self.browser.failed.connect(self.report_error)
        self.shortcuts = []
        for keys in ALL_OFF_KEYS:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(self.all_outputs_off)
            self.shortcuts.append(shortcut)
        for keys, slot in (("Ctrl+Return", self.start_run), ("Escape", self.abort_run)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

        self.images_timer = QTimer(self)
        self.images_timer.setInterval(IMAGES_MS)
        self.images_timer.timeout.connect(self._fetch_images)
        self.chooser.setCurrentText(self.session.procedure(list(self.procedures)))
        self._choose(self.chooser.currentText())
        self._set_running(False)
        self.manual.timer.start()
        for name, why in broken.items():
            self.log.add("error", f"procedure {name} is unavailable: {why}")

    # ---- the Measure tab ---------------------------------------------------------------------
    def _measure_tab(self, operator: str) -> QWidget:
        self.chooser = QComboBox()
        self.chooser.addItems(sorted(self.procedures))
        self.chooser.currentTextChanged.connect(self._choose)
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.operator = QLineEdit(operator or self.session.value("operator"))
        self.sample = QLineEdit(self.lab.setup.device.name)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start this run now (Ctrl+Return)")
        self.abort_button = QPushButton("Abort")
        self.abort_button.setToolTip("Abort the run: source off, fields to zero (Esc)")
        self.abort_button.setStyleSheet("QPushButton:enabled { color: #b00020; font-weight: bold; }")
        self.queue_button = QPushButton("Add to queue")
        self.start_button.clicked.connect(self.start_run)
        self.abort_button.clicked.connect(self.abort_run)
        self.queue_button.clicked.connect(lambda: self.queue_form_run(1))

        self.preset_choice = QComboBox()
        self.preset_choice.setToolTip("The simulated device (preset): changing it mounts "
                                      "another simulated sample; queued runs keep theirs")
        who = QFormLayout()
        who.addRow("operator", self.operator)
        who.addRow("sample", self.sample)
        who.addRow("simulated device", self.preset_choice)
        if current_preset(self.lab) is None:  # hardware, or a served simulator: no choice
            who.setRowVisible(self.preset_choice, False)
        else:
            self.preset_choice.addItems(preset_names())
            self.preset_choice.setCurrentText(current_preset(self.lab))
        self.preset_choice.textActivated.connect(self.switch_preset)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.abort_button)
        buttons.addWidget(self.queue_button)
        procedure_box = QGroupBox("Procedure")
        box = QVBoxLayout(procedure_box)
        box.addWidget(self.chooser)
        box.addWidget(self.form_area, 1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(procedure_box, 1)
        layout.addLayout(who)
        layout.addLayout(buttons)
        return tab

    def _choose(self, name: str) -> None:
        if self.form is not None:  # keep what was typed for the procedure we leave
            self.session.save_parameters(self.form.procedure_class.NAME, self.form.values())
        if not name:
            self.form = None
            self.form_area.setWidget(QLabel("no procedure is installed"))
            return
        self.form = ParameterForm(self.procedures[name])
        for attr, value in self.session.parameters(name).items():
            if attr in self.form.editors:
                self.form.set_value(attr, value)
        self.form.validate()
        self.form.valid_changed.connect(lambda _: self._set_running(self.running))
        self.form_area.setWidget(self.form)
        self.session.set_procedure(name)
        self._set_running(self.running)

    def use_parameters(self, procedure: str, parameters: dict) -> None:
        """A stored run's parameters into the form ("use these parameters")."""
        if procedure not in self.procedures:
            self.report_error(f"procedure {procedure} is not installed here")
            return
        self.chooser.setCurrentText(procedure)
        for attr, value in parameters.items():
            if attr in self.form.editors:
                self.form.set_value(attr, value)
        self.tabs.setCurrentIndex(0)

    # ---- the queue ---------------------------------------------------------------------------
    def queue_form_run(self, copies: int = 1) -> bool:
        """The form's run (checked first), ``copies`` times, at the end of the queue."""
        procedure = self._checked_procedure()
        if procedure is None:
            return False
        values = procedure.validate_parameters()
        preset = current_preset(self.lab)
        self.queue.add([Entry(procedure.NAME, dict(values), preset) for _ in range(copies)])
        self.log.add("queue", f"{copies} × {procedure.NAME} queued")
        return True

    def queue_grid(self, grid: dict) -> bool:
        """Every combination of ``grid`` around the form's other values, each checked."""
        if self.form is None:
            return False
        name = self.form.procedure_class.NAME
        fixed = {k: v for k, v in self.form.values().items() if k not in grid}
        try:
            entries = grid_runs(self.queue.setup, name, fixed, grid, current_preset(self.lab))
            for entry in entries:
                self._check(self.procedures[entry.procedure](**entry.parameters))
        except (ValueError, TypeError, KeyError) as exc:
            self.report_error(f"grid refused: {exc}", kind="refused")
            return False
        self.queue.add(entries)
        self.log.add("queue", f"grid of {len(entries)} {name} runs queued")
        return True

    def start_next_queued(self) -> bool:
        """Start the queue's next run, unless a run is going, or the queue paused or empty."""
        if self.running or not self.safe_confirmed or self.browser.replaying or self.switching:
            return False
        entry = self.queue.next_entry()
        if entry is None:
            return False
        if entry.preset and entry.preset != current_preset(self.lab):  # mount its device first
            if current_preset(self.lab) is None:
                self.queue.mark_ended(entry, "refused", f"preset {entry.preset}: this lab has "
                                                        "no simulated device to choose")
                return self.start_next_queued()
            return self.switch_preset(entry.preset, then=self.start_next_queued)
        try:
            procedure = self.procedures[entry.procedure](**entry.parameters)
            self._check(procedure)
        except (ValueError, TypeError, KeyError) as exc:
            self.queue.mark_ended(entry, "refused", str(exc))
            self.report_error(f"queued {entry.procedure} refused: {exc}", kind="refused")
            return self.start_next_queued()
        self.current_entry = entry
        self.queue.mark_started(entry)
        self._launch(procedure)
        return True

    # ---- the simulated device ----------------------------------------------------------------
    def switch_preset(self, preset: str, then=None) -> bool:
        """Mount simulated device ``preset`` (the lab made safe, closed and opened again, in the
        lab pool), remember it, then call ``then``; refused during a run or a replay."""
        if preset == current_preset(self.lab):
            return then() if then else True
        if self.running or self.browser.replaying or self.switching:
            self.report_error(f"cannot change the simulated device to {preset} during a run",
                              kind="refused")
            self.preset_choice.setCurrentText(current_preset(self.lab) or "")
            return False
        self.switching = True
        self._set_running(False)
        self._show_status("running", f"mounting simulated device {preset}…")
        self.workers.submit(reopen_with_preset, self.lab, preset, lab=True,
                            on_done=lambda result: self._preset_switched(preset, result, then),
                            on_error=lambda message: self._preset_failed(preset, message))
        return True

    def _preset_switched(self, preset: str, result, then) -> None:
        lab, problems = result
        self.lab = self.manual.lab = self.instruments.lab = lab
        self.switching = False
        self.session.set_value("preset", preset)
        self.preset_choice.setCurrentText(preset)
        self.sample.setText(lab.setup.device.name)
        self.instruments.retitle()
        self.instruments.probe()
        self.log.add("lab", f"simulated device {preset} mounted")
        self._show_status("idle", f"simulated device {preset}")
        if problems:
            self.raise_alarm("leaving the previous device: " + "; ".join(problems))
        self._set_running(False)
        self.manual.refresh()
        if then is not None:
            then()

    def _preset_failed(self, preset: str, message: str) -> None:
        self.switching = False
        self.preset_choice.setCurrentText(current_preset(self.lab) or "")
        self.report_error(f"simulated device {preset}: {message}")
        self._set_running(False)

    # ---- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A live run is in progress (until its cleanup has ended and been reported)."""
        return self.runner is not None

    def _check(self, procedure) -> None:
        procedure.validate_parameters()
        procedure.lab = self.lab
        procedure.check_limits(self.lab)

    def _checked_procedure(self):
        if self.form is None:
            return None
        try:
            procedure = self.form.procedure()
            self._check(procedure)
        except (ValueError, TypeError) as exc:  # ParameterError, LimitError
            self.report_error(f"refused before any output: {exc}", kind="refused")
            return None
        return procedure

    def start_run(self) -> bool:
        """Check the parameters and limits, then run in the lab pool."""
        if (self.running or self.browser.replaying or self.form is None
                or not self.safe_confirmed or self.switching):
            return False
        procedure = self._checked_procedure()
        if procedure is None:
            return False
        self.session.save_parameters(procedure.NAME, self.form.values())
        self.session.set_value("operator", self.operator.text().strip())
        self._launch(procedure)
        return True

    def _launch(self, procedure) -> None:
        self.runner = Runner(self.lab, self.store, listeners=[self.bridge],
                             operator=self.operator.text().strip(),
                             sample=self.sample.text().strip())
        self._run_view = type(procedure).PLOT_VIEW
        self._set_running(True)
        runner = self.runner
        self.workers.submit(runner.run, procedure, lab=True,
                            on_error=lambda message: self._worker_failed(runner, message))

    def abort_run(self) -> None:
        """Ask the run to stop; the Runner's cleanup leaves the source off, fields at zero."""
        if self.runner is None:
            return
        self.runner.abort()
        self.abort_button.setEnabled(False)
        self._show_status("running", "aborting: waiting for source off and fields at zero")
        self.log.add("abort", "abort requested by the operator")

    def _worker_failed(self, runner, message: str) -> None:
        """The run's task raised before ``on_finish`` (e.g. the store refused the run)."""
        if runner is self.runner:
            self.log.add("error", f"the run could not start or report: {message}")
            self._end_live("failed", message)

    def _set_running(self, running: bool) -> None:
        valid = self.form is not None and self.form.is_valid
        idle = not running and not self.browser.replaying and not self.switching
        self.start_button.setEnabled(idle and valid and self.safe_confirmed)
        self.abort_button.setEnabled(running)
        self.queue.start_button.setEnabled(idle and self.safe_confirmed
                                           and bool(self.queue.waiting()))
        self.queue.abort_button.setEnabled(running)
        self.chooser.setEnabled(not running)
        self.preset_choice.setEnabled(idle)
        self.form_area.setEnabled(not running)
        self.manual.set_controls_enabled(not running)
        self.browser.set_busy(running)

    # ---- the lab pool: readings, manual commands, All outputs off ---------------------------
    def lab_task(self, what: str, fn, args: tuple = ()) -> bool:
        """Run ``fn(lab, *args)`` in the lab pool when no run owns the lab; report the end."""
        if what == "read":
            if self.running or self.workers.lab_busy:
                return False  # a run owns the instruments; the next tick reads again
            self.workers.submit(fn, self.lab, *args, lab=True, on_done=self._readings,
                                on_error=self._reading_failed)
            return True
        if self.running:
            self.report_error(f"cannot {what} during a run (abort it first)")
            return False
        self.log.add("manual", f"{what}…")
        self.workers.submit(fn, self.lab, *args, lab=True,
                            on_done=lambda result: self._manual_done(what, result),
                            on_error=lambda message: self.report_error(f"{what}: {message}"))
        return True

    def _readings(self, readings) -> None:
        self.manual.show_readings(readings)
        if readings.errors:
            self._reading_failed("; ".join(readings.errors))

    def _reading_failed(self, message: str) -> None:
        """Readings that fail are shown, and logged once (not every second)."""
        self.manual.show_failure(message)
        if message != getattr(self, "_last_reading_error", None):
            self._last_reading_error = message
            self.log.add("error", f"reading the instruments: {message}")

    def _manual_done(self, what: str, result) -> None:
        detail = f" ({result:.4g})" if isinstance(result, float) else ""
        self.log.add("manual", f"{what}: done{detail}")
        self._show_status("idle", f"{what}: done{detail}")
        self.manual.refresh()

    def all_outputs_off(self) -> None:
        """Source off and fields to zero now: aborts a run (its cleanup does it), else the
        Runner's own cleanup in the lab pool; the lab counts as safe only when every step
        was confirmed."""
        if self.queue.waiting():
            self.queue.set_paused(True)
        if self.running:
            self.abort_run()
            return
        self.log.add("safety", "ALL OUTPUTS OFF requested")
        self._show_status("running", "all outputs off: source off, fields ramping to zero")
        self.workers.submit(all_outputs_off, self.lab, lab=True, on_done=self._all_off_done,
                            on_error=lambda m: self._all_off_done([f"all outputs off: {m}"]))

    def _all_off_done(self, problems: list[str]) -> None:
        if problems:
            self.raise_alarm("; ".join(problems))
            return
        self.safe_confirmed = True
        self.log.add("end", "all outputs off: source off and both fields at zero, confirmed")
        self._show_status("safe", "source off, fields at zero (confirmed by the instruments)")
        self._set_running(self.running)
        self.manual.refresh()

    def raise_alarm(self, problem: str) -> None:
        """A SAFETY failure: blocking alarm to acknowledge; Start disabled until confirmed."""
        self.safe_confirmed = False
        if self.queue.waiting():
            self.queue.set_paused(True)
        self._set_running(self.running)
        self.log.add("safety", problem if "SAFETY" in problem else f"SAFETY: {problem}")
        self._show_status("UNSAFE", f"state unknown: {problem}. Check the lab, then press "
                                    "ALL OUTPUTS OFF to confirm it safe before the next run.")
        if self.alarm is None:
            self.alarm = QMessageBox(QMessageBox.Icon.Critical, "SAFETY: lab state unknown",
                                     "", parent=self)
            self.alarm.addButton("Acknowledge", QMessageBox.ButtonRole.AcceptRole)
            self.alarm.finished.connect(self._alarm_acknowledged)
        self.alarm.setText("The lab could not be confirmed safe:\n\n" + problem +
                           "\n\nCheck the source and the magnet supplies. Start stays disabled "
                           "until ALL OUTPUTS OFF confirms the lab safe.")
        self.alarm.open()

    def _alarm_acknowledged(self, *_):
        self.log.add("safety", "alarm acknowledged by the operator")

    # ---- what the bridge delivers ------------------------------------------------------------
    def _started(self, info) -> None:
        replay = info.metadata.get("replay")
        view = self.browser.replay_view if replay else self._run_view
        self.plot.begin(info, view)
        self.kerr.setVisible(view.images)
        self.kerr.set_images([])
        if view.images:
            self.plots.setSizes([3, 2])  # the image needs room beside the plot
        self.progress.setValue(0)
        self.result.clear()
        what = f"replay of run {info.run_id}" if replay else f"run {info.run_id}"
        if not replay and self.current_entry is not None:
            self.current_entry.run_id = info.run_id
            self.queue.refresh()
        if not replay and view.images and info.run_id is not None:
            self._image_run = info.run_id
            self.images_timer.start()
        self.log.add("start", f"{what}: {info.procedure} on {info.sample or 'no sample'}")
        self._show_status("running", f"{what} ({info.procedure})")

    def _points(self) -> None:
        self.plot.add_points(self.bridge.take_points())

    def _event(self, kind: str, message: str) -> None:
        if kind == "progress":
            self.progress.setValue(round(float(message) * 10))
            if self.running and self.current_entry is not None:
                self.queue.mark_progress(self.current_entry, float(message) / 100)
            return
        if kind == "analysis":
            try:
                summary = json.loads(message)
                self._show_summary(summary_rows(summary))
                self.plot.show_levels(summary if isinstance(summary, dict) else {})
                message = "analysis shown in the Analysis pane"
            except ValueError:
                pass
        self.log.add(kind, message)

    def _finished(self, status: str, error) -> None:
        self.plot.redraw()
        unsafe = bool(error and "SAFETY" in error)
        if self.running:
            self.images_timer.stop()
            self._fetch_images()
            self.browser.refresh()
            if self.current_entry is not None:
                self.queue.mark_ended(self.current_entry, status, error or "")
        self.log.add("safety" if unsafe else "end", f"{status}" + (f": {error}" if error else ""))
        if status == "finished":
            self.progress.setValue(self.progress.maximum())
        was_live = self.running
        self._end_live(status, error)
        if was_live and unsafe:
            self.raise_alarm(error)
        elif was_live and not self._close_pending:
            self.start_next_queued()

    def _end_live(self, status: str, error) -> None:
        was_live = self.running
        self.runner = None
        self.current_entry = None
        self._show_status(status, error or "")
        self._set_running(False)
        if was_live and self._close_pending:
            self.close()

    # ---- Kerr images -------------------------------------------------------------------------
    def _fetch_images(self) -> None:
        run_id = getattr(self, "_image_run", None)
        if run_id is None or self._image_task is not None:
            return
        self._image_task = self.workers.submit(
            self.store.images, run_id, on_done=self._images_fetched,
            on_error=lambda m: self._images_fetched(None, m))

    def _images_fetched(self, images, error: str = "") -> None:
        self._image_task = None
        if error:
            self.report_error(f"Kerr images: {error}")
        elif images is not None and len(images) != len(self.kerr.images):
            self.kerr.set_images(images)

    def _browse_images(self, run_id: int, images: list) -> None:
        """A stored run selected in the Runs tab: its images beside the plot."""
        self.kerr.setVisible(bool(images))
        self.kerr.set_images(images, latest=False)
        if images:
            self.plots.setSizes([3, 2])

    # ---- reporting ---------------------------------------------------------------------------
    def report_error(self, message: str, kind: str = "error") -> None:
        """Any error: the status line and the log (the slot-exception hook calls this too)."""
        self.log.add(kind, message)
        self._show_status(kind, message)

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
    def _splitters(self) -> dict[str, QSplitter]:
        return {"main": self.main_split, "right": self.right, "bottom": self.bottom,
                "plots": self.plots}

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
        self.manual.timer.stop()
        self.browser.poll_timer.stop()
        if self.form is not None:
            self.session.save_parameters(self.form.procedure_class.NAME, self.form.values())
        self.session.save_layout(self, self._splitters())
        self.session.sync()
        self.workers.wait()
        logging.getLogger().removeHandler(self.log_forwarder)
        self._uninstall_hook()
        event.accept()


def batch_setup_name(lab) -> str:
    """The lab as a batch file names it: "sim" for the built-in simulated lab, else its file."""
    from pathlib import Path

    from dwlab.setup import SIM_SETUP

    if lab.sim is not None and (not lab.setup.path or Path(lab.setup.path) == SIM_SETUP):
        return "sim"
    return str(Path(lab.setup.path).resolve())


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(widget)
    return box


def _escape(text) -> str:
    return html.escape(str(text))
