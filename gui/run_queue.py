"""The queue of runs: what the operator lined up, its order, each run's status and the time
left; the queue can be paused (after the current run), resumed, or stopped after the current
run. Loaded from and saved as a batch file (the same ``[[run]]`` tables and ``grid`` that
``dwlab batch`` reads, parsed by the same code).

The queue only holds and orders entries; the window starts them one at a time on the lab.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dwlab.cli_procedures import parse_sequence

COLUMNS = ["procedure", "parameters", "status", "run", "time left"]
WAITING = "queued"
DONE_STATES = ("finished", "aborted", "failed", "refused")


@dataclass
class Entry:
    """One queued run: the procedure name, its parameters, the simulated device it runs on
    (None: whichever the lab has), and how it is doing."""

    procedure: str
    parameters: dict[str, Any]
    preset: str | None = None
    status: str = WAITING
    run_id: int | None = None
    started: float | None = None  # time.monotonic() when it started
    fraction: float = 0.0  # progress 0..1
    error: str = ""
    estimate_s: float | None = field(default=None, compare=False)

    def time_left_s(self, now: float) -> float | None:
        """From the progress so far while running, else the estimate (a past run's time)."""
        if self.status == "running" and self.started is not None and self.fraction > 0.01:
            elapsed = now - self.started
            return elapsed * (1 - self.fraction) / self.fraction
        return self.estimate_s if self.status == WAITING else None


def grid_runs(setup: str, procedure: str, fixed: dict[str, Any],
              grid: dict[str, list], preset: str | None = None) -> list[Entry]:
    """Each combination of ``grid``'s lists (the last varying fastest), as a batch file has it."""
    sequence = parse_sequence({"setup": setup,
                               "run": [{"procedure": procedure, **fixed, "grid": grid}]})
    return [Entry(name, params, preset) for name, params in sequence.runs]


def load_batch(path: str | Path, setup: str) -> list[Entry]:
    """A batch file's runs, each with its ``preset =`` (the run's, else the file's); refused
    if it names another lab than ``setup`` (this console's)."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    sequence = parse_sequence(raw)
    if not _same_setup(sequence.setup, setup, Path(path).parent):
        raise ValueError(f"batch file {path} is for setup {sequence.setup!r}; this console "
                         f"runs {setup!r}")
    return [Entry(name, params, preset)
            for (name, params), preset in zip(sequence.runs, sequence.presets)]


def _same_setup(named: str, ours: str, base: Path) -> bool:
    if "sim" in (named, ours):
        return named == ours
    return (base / named).resolve() == Path(ours).resolve()


def save_batch(path: str | Path, entries: list[Entry], setup: str) -> Path:
    """The entries still to run, one ``[[run]]`` table each, readable by ``dwlab batch``."""
    doc: dict[str, Any] = {"setup": setup}
    doc["run"] = [{"procedure": e.procedure, **({"preset": e.preset} if e.preset else {}),
                   **e.parameters} for e in entries if e.status == WAITING]
    path = Path(path)
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


class RunQueue(QWidget):
    """The queue table and its buttons; the window connects ``add_form_run`` and friends."""

    changed = pyqtSignal()
    start_requested = pyqtSignal()  # Start queue: the window starts the next entry
    abort_requested = pyqtSignal()
    add_form_requested = pyqtSignal(int)  # how many copies of the form's run
    grid_requested = pyqtSignal(dict)  # parameter -> list of values, around the form's run

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entries: list[Entry] = []
        self.paused = False
        self.stop_after_current = False
        self.setup = "sim"  # the console's lab, as a batch file names it
        self.durations: dict[str, float] = {}  # procedure -> last run's duration (s)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.copies = QSpinBox()
        self.copies.setRange(1, 1000)
        self.copies.setPrefix("× ")
        self.add_button = QPushButton("Add form's run")
        self.grid_button = QPushButton("Add grid…")
        self.load_button = QPushButton("Load batch…")
        self.save_button = QPushButton("Save batch…")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.remove_button = QPushButton("Remove")
        self.start_button = QPushButton("Start queue")
        self.pause_button = QPushButton("Pause queue")
        self.pause_button.setCheckable(True)
        self.stop_after_button = QPushButton("Stop after current")
        self.stop_after_button.setCheckable(True)
        self.abort_button = QPushButton("Abort current")

        rows = []
        for widgets in ((self.add_button, self.copies, self.grid_button),
                        (self.up_button, self.down_button, self.remove_button,
                         self.load_button, self.save_button),
                        (self.start_button, self.pause_button, self.stop_after_button,
                         self.abort_button)):
            row = QHBoxLayout()
            for widget in widgets:
                row.addWidget(widget)
            rows.append(row)
        layout = QVBoxLayout(self)
        layout.addLayout(rows[0])
        layout.addWidget(self.table, 1)
        layout.addLayout(rows[1])
        layout.addLayout(rows[2])

        self.add_button.clicked.connect(lambda: self.add_form_requested.emit(self.copies.value()))
        self.grid_button.clicked.connect(self._ask_grid)
        self.load_button.clicked.connect(self._ask_load)
        self.save_button.clicked.connect(self._ask_save)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(+1))
        self.remove_button.clicked.connect(self.remove_selected)
        self.start_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_after_button.toggled.connect(self._set_stop_after)
        self.abort_button.clicked.connect(self.abort_requested)

    # ---- contents ----------------------------------------------------------------------------
    def add(self, entries: list[Entry]) -> None:
        for entry in entries:
            entry.estimate_s = self.durations.get(entry.procedure)
        self.entries.extend(entries)
        self.refresh()

    def waiting(self) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.status == WAITING]

    def next_entry(self) -> Entry | None:
        """The next run to start, or None when paused, stopping, or empty."""
        if self.paused or self.stop_after_current:
            return None
        waiting = self.waiting()
        return self.entries[waiting[0]] if waiting else None

    def selected_rows(self) -> list[int]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentRow() >= 0:
            rows = {self.table.currentRow()}
        return sorted(rows)

    def move_selected(self, step: int) -> None:
        """Move the selected waiting run up or down among the waiting ones."""
        rows = self.selected_rows()
        if len(rows) != 1 or self.entries[rows[0]].status != WAITING:
            return
        row, target = rows[0], rows[0] + step
        if not 0 <= target < len(self.entries) or self.entries[target].status != WAITING:
            return
        self.entries[row], self.entries[target] = self.entries[target], self.entries[row]
        self.refresh()
        self.table.selectRow(target)

    def remove_selected(self) -> None:
        rows = [r for r in self.selected_rows() if self.entries[r].status != "running"]
        for row in reversed(rows):
            del self.entries[row]
        self.refresh()

    # ---- control -----------------------------------------------------------------------------
    def start(self) -> None:
        self.pause_button.setChecked(False)
        self.stop_after_button.setChecked(False)
        self.start_requested.emit()

    def set_paused(self, paused: bool) -> None:
        """Pause: the current run goes on, the next one waits; resume starts it."""
        self.paused = paused
        self.pause_button.setText("Resume queue" if paused else "Pause queue")
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
        if not paused:
            self.start_requested.emit()
        self.changed.emit()

    def _set_stop_after(self, stop: bool) -> None:
        self.stop_after_current = stop
        self.changed.emit()

    # ---- what the window reports -------------------------------------------------------------
    def mark_started(self, entry: Entry, run_id: int | None = None) -> None:
        entry.status, entry.started, entry.fraction = "running", time.monotonic(), 0.0
        entry.run_id = run_id
        self.refresh()

    def mark_progress(self, entry: Entry, fraction: float) -> None:
        entry.fraction = fraction
        self.refresh()

    def mark_ended(self, entry: Entry, status: str, error: str = "") -> None:
        entry.status, entry.error = status, error
        if status == "finished" and entry.started is not None:
            self.durations[entry.procedure] = time.monotonic() - entry.started
            for other in self.entries:
                if other.status == WAITING and other.procedure == entry.procedure:
                    other.estimate_s = self.durations[entry.procedure]
        if self.stop_after_current:
            self.stop_after_button.setChecked(False)
            self.paused = True
            self.pause_button.setChecked(True)
        self.refresh()

    def refresh(self) -> None:
        now = time.monotonic()
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            left = entry.time_left_s(now)
            on = f" on {entry.preset}" if entry.preset else ""
            cells = [entry.procedure + on, _parameters(entry.parameters),
                     entry.status + (f": {entry.error}" if entry.error else ""),
                     "" if entry.run_id is None else str(entry.run_id),
                     "" if left is None else _duration(left)]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        self.changed.emit()

    # ---- dialogs -----------------------------------------------------------------------------
    def _ask_grid(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self, "Add a grid", "One parameter per line, its values separated by commas\n"
            "(the other parameters are the form's):", "write_current_mA = 10, 15, 20")
        if ok and text.strip():
            self.grid_requested.emit(parse_grid(text))

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a batch file", "", "TOML (*.toml)")
        if path:
            self.add(load_batch(path, self.setup))

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the queue as a batch file",
                                              "queue.toml", "TOML (*.toml)")
        if path:
            save_batch(path, self.entries, self.setup)


def parse_grid(text: str) -> dict[str, list]:
    """``name = v1, v2`` lines as a batch file's grid (numbers where they are numbers)."""
    grid = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, values = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"grid line {number} {line.strip()!r}: expected 'name = v1, v2'")
        grid[name.strip()] = [_value(v) for v in values.split(",") if v.strip()]
    return grid


def _value(text: str) -> Any:
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _parameters(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in parameters.items())


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

