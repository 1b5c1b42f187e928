"""Manual control of the lab between runs: live readings, a field or a DC current set by hand
within the setup's limits, and the one big All-outputs-off.

Nothing here talks to an instrument in the GUI thread: every reading and command is a task in
the window's lab pool (one at a time, never during a run), and its answer comes back as a
signal. All outputs off is the Runner's own cleanup, ``lab.make_safe()``: source off, both
fields ramped to zero; during a run it aborts the run, whose cleanup does the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

READ_MS = 1000  # how often the readings are refreshed while idle
ALL_OFF_STYLE = ("QPushButton { background: #b00020; color: white; font-size: 16pt; "
                 "font-weight: bold; padding: 10px; } QPushButton:disabled { background: #d98c99; }")


@dataclass(frozen=True)
class Readings:
    """What the instruments answered, in lab units."""

    output_on: bool | None
    source_mA: float
    Hz_Oe: float
    Hx_Oe: float
    V_uV: float
    errors: tuple[str, ...] = ()  # readings that failed (shown as "?")


def read_lab(lab) -> Readings:
    """Ask every instrument once (a lab-pool task); one that fails does not hide the others."""
    errors = []

    def ask(what, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - shown, and the other readings still count
            errors.append(f"{what}: {type(exc).__name__}: {exc}")
            return math.nan

    output = ask("source output", lambda: str(lab.source.ask("OUTP?")).strip() in ("1", "ON"))
    return Readings(output_on=None if output is math.nan else output,
                    source_mA=ask("source current", lambda: lab.source.source_current * 1e3),
                    Hz_Oe=ask("Hz", lambda: float(lab.fields["z"].field)),
                    Hx_Oe=ask("Hx", lambda: float(lab.fields["x"].field)),
                    V_uV=ask("V_AHE", lambda: float(lab.voltmeter.fresh) * 1e6),
                    errors=tuple(errors))


def set_field(lab, axis: str, field_Oe: float) -> float:
    """Ramp one axis to ``field_Oe`` after the setup's limit check; the measured field."""
    lab.check_field(axis, field_Oe)
    return lab.fields[axis].set_field(field_Oe)


def set_dc_current(lab, current_mA: float) -> float:
    """The 6221's DC output at ``current_mA`` after the setup's limit check (0 turns it off)."""
    current_A = current_mA * 1e-3
    lab.check_current("DC current", current_A)
    if current_A == 0:
        lab.source.shutdown()
        return 0.0
    lab.source.source_current = current_A
    lab.source.enable_source()
    return float(lab.source.source_current) * 1e3


def all_outputs_off(lab) -> list[str]:
    """The Runner's cleanup: source off, fields to zero; what could not be confirmed."""
    return lab.make_safe()


class ManualPanel(QGroupBox):
    """Readings, manual field/current, and All outputs off; ``workers``: the window's pools.

    ``request`` is emitted with (description, function, *args) for the window to run in the
    lab pool, so the window decides whether the lab is free (no run) and reports the outcome.
    """

    request = pyqtSignal(str, object, tuple)
    all_off_clicked = pyqtSignal()

    def __init__(self, lab, parent: QWidget | None = None):
        super().__init__("Manual control", parent)
        self.lab = lab
        self.readings: Readings | None = None
        self.labels = {key: QLabel("–") for key in ("output", "source", "Hz", "Hx", "V")}
        shown = QFormLayout()
        for key, name in (("output", "source output"), ("source", "source current"),
                          ("Hz", "Hz (gaussmeter)"), ("Hx", "Hx (gaussmeter)"),
                          ("V", "V_AHE")):
            shown.addRow(name, self.labels[key])

        limits = lab.setup
        self.field_axis = {}
        self.field_value = {}
        controls = QFormLayout()
        for axis in ("z", "x"):
            box = QDoubleSpinBox()
            limit = limits.fields[axis].max_field_Oe
            box.setRange(-limit, limit)
            box.setDecimals(1)
            box.setSuffix(" Oe")
            button = QPushButton(f"Set H{axis}")
            button.clicked.connect(lambda _=False, a=axis: self.set_field(a, self.field_value[a]
                                                                           .value()))
            self.field_value[axis], self.field_axis[axis] = box, button
            controls.addRow(self._row(box, button))
        self.current_value = QDoubleSpinBox()
        self.current_value.setRange(-limits.limits.max_current_mA, limits.limits.max_current_mA)
        self.current_value.setDecimals(3)
        self.current_value.setSuffix(" mA")
        self.current_button = QPushButton("Set DC current")
        self.current_button.clicked.connect(lambda: self.set_current(self.current_value.value()))
        controls.addRow(self._row(self.current_value, self.current_button))

        self.all_off = QPushButton("ALL OUTPUTS OFF")
        self.all_off.setStyleSheet(ALL_OFF_STYLE)
        self.all_off.setToolTip("Source off and both fields ramped to zero (Ctrl+Shift+O, F12)")
        self.all_off.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.all_off.clicked.connect(self.all_off_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(shown)
        layout.addLayout(controls)
        layout.addWidget(self.all_off)

        self.timer = QTimer(self)
        self.timer.setInterval(READ_MS)
        self.timer.timeout.connect(self.refresh)

    @staticmethod
    def _row(editor: QWidget, button: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(editor, 1)
        row.addWidget(button)
        return row

    # ---- requests (the window runs them in the lab pool) ------------------------------------
    def refresh(self) -> None:
        self.request.emit("read", read_lab, ())

    def set_field(self, axis: str, field_Oe: float) -> None:
        self.request.emit(f"set H{axis} to {field_Oe:g} Oe", set_field, (axis, field_Oe))

    def set_current(self, current_mA: float) -> None:
        self.request.emit(f"set the DC current to {current_mA:g} mA", set_dc_current,
                          (current_mA,))

    def set_controls_enabled(self, enabled: bool) -> None:
        """Manual commands only while no run owns the lab (All outputs off always)."""
        for widget in (*self.field_axis.values(), *self.field_value.values(),
                       self.current_value, self.current_button):
            widget.setEnabled(enabled)

    def show_failure(self, message: str) -> None:
        for label in self.labels.values():
            label.setText("?")
        self.labels["V"].setToolTip(message)

    def show_readings(self, readings: Readings) -> None:
        self.readings = readings
        self.labels["output"].setText("?" if readings.output_on is None else
                                      "<b style='color:#b00020'>ON</b>" if readings.output_on
                                      else "off")
        for key, value, text in (("source", readings.source_mA, "{:.4g} mA"),
                                 ("Hz", readings.Hz_Oe, "{:.1f} Oe"),
                                 ("Hx", readings.Hx_Oe, "{:.1f} Oe"),
                                 ("V", readings.V_uV, "{:.2f} µV")):
            self.labels[key].setText(text.format(value) if math.isfinite(value) else "?")
