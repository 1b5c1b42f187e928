"""Which lab is open and who each instrument says it is (``*IDN?``), asked once at open.

An instrument that does not answer is shown in red with its error, so the operator sees a
loose cable before pressing Start.
"""

from __future__ import annotations

from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QGroupBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout


class InstrumentPanel(QGroupBox):
    """The lab's name, setup file, and one row per instrument role."""

    def __init__(self, lab, parent=None):
        super().__init__("Lab", parent)
        setup = lab.setup
        kind = "simulated" if lab.sim is not None else "hardware"
        self.title_label = QLabel(f"<b>{setup.name}</b> ({kind})<br>"
                                  f"<small>{setup.path}</small>")
        self.title_label.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["instrument", "identity"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.problems = []
        for role, (resource, identity, ok) in lab.probe().items():
            row = self.table.rowCount()
            self.table.insertRow(row)
            role_item = QTableWidgetItem(role)
            id_item = QTableWidgetItem(short_identity(identity) if ok else identity)
            id_item.setToolTip(f"{identity}\n{resource}")
            if not ok:
                self.problems.append(role)
                id_item.setForeground(QColor("#b00020"))
            self.table.setItem(row, 0, role_item)
            self.table.setItem(row, 1, id_item)
        self.table.resizeColumnToContents(0)
        self.table.resizeRowsToContents()
        height = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height + self.table.horizontalHeader().height() + 4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.table)


def short_identity(idn: str) -> str:
    """``*IDN?`` as maker, model and serial number (``KEITHLEY MODEL 6221 #4123456``)."""
    parts = [p.strip() for p in idn.split(",")]
    if len(parts) < 3:
        return idn
    return f"{parts[0].split()[0]} {parts[1]} #{parts[2]}"
