"""Which lab is open and who each instrument says it is (``*IDN?``), asked in the lab pool.

An instrument that does not answer is shown in red with its error, so the operator sees a
loose cable before pressing Start.
"""

from __future__ import annotations

from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QGroupBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


class InstrumentPanel(QGroupBox):
    """The lab's name, setup file, and one row per instrument role; ``probe()`` asks again."""

    def __init__(self, lab, workers, parent=None):
        super().__init__("Lab", parent)
        self.lab, self.workers = lab, workers
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        self.retitle()
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["instrument", "identity"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.probe_button = QPushButton("Ask the instruments again")
        self.probe_button.clicked.connect(self.probe)
        self.problems: list[str] | None = None  # None until the first answer
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.table)
        layout.addWidget(self.probe_button)
        self.probe()

    def retitle(self) -> None:
        """The lab's name, kind and simulated device (after it changed)."""
        setup = self.lab.setup
        kind = "simulated" if self.lab.sim is not None else "hardware"
        preset = f", preset {setup.sim.preset}" if self.lab.sim is not None else ""
        self.title_label.setText(f"<b>{setup.name}</b> ({kind}{preset})<br>"
                                 f"<small>{setup.path}</small>")

    def probe(self) -> None:
        self.probe_button.setEnabled(False)
        self.workers.submit(self.lab.probe, lab=True, on_done=self.show,
                            on_error=lambda m: self.show({"lab": ("", m, False)}))

    def show(self, report: dict[str, tuple[str, str, bool]]) -> None:
        self.table.setRowCount(0)
        problems = []
        for role, (resource, identity, ok) in report.items():
            row = self.table.rowCount()
            self.table.insertRow(row)
            id_item = QTableWidgetItem(short_identity(identity) if ok else identity)
            id_item.setToolTip(f"{identity}\n{resource}")
            if not ok:
                problems.append(role)
                id_item.setForeground(QColor("#b00020"))
            self.table.setItem(row, 0, QTableWidgetItem(role))
            self.table.setItem(row, 1, id_item)
        self.table.resizeColumnToContents(0)
        self.table.resizeRowsToContents()
        height = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height + self.table.horizontalHeader().height() + 4)
        self.problems = problems
        self.probe_button.setEnabled(True)


def short_identity(idn: str) -> str:
    """``*IDN?`` as maker, model and serial number (``KEITHLEY MODEL 6221 #4123456``)."""
    parts = [p.strip() for p in idn.split(",")]
    if len(parts) < 3:
        return idn
    return f"{parts[0].split()[0]} {parts[1]} #{parts[2]}"
