"""A form generated from a procedure's PyMeasure Parameters, checked as the operator types.

Every field is checked on its own by building the procedure with just that value (so the
message is the procedure's own ``ParameterError``, naming the parameter, the value and the
allowed range) and shown under the field; then the whole set is checked together, for rules
that tie parameters to each other. ``valid_changed`` tells the Start button; nothing raises.
"""

from __future__ import annotations

from typing import Any

from pymeasure.experiment.parameters import (
    BooleanParameter,
    FloatParameter,
    IntegerParameter,
    ListParameter,
    Parameter,
)
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from dwlab.procedures.base import LabProcedure

ERROR_STYLE = "color: #b00020;"


class ParameterForm(QWidget):
    """Editors for ``procedure_class``'s parameters; ``procedure()`` builds the checked run."""

    valid_changed = pyqtSignal(bool)

    def __init__(self, procedure_class: type[LabProcedure], parent: QWidget | None = None):
        super().__init__(parent)
        self.procedure_class = procedure_class
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.form_error = _error_label()
        self._valid = None

        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        row = 0
        for attr in procedure_class.parameter_names():
            param = getattr(procedure_class, attr)
            label = QLabel(param.name)
            label.setWordWrap(True)
            editor = self._editor(param)
            editor.setToolTip(_hint(attr, param))
            units = QLabel(getattr(param, "units", None) or "")
            grid.addWidget(label, row, 0)
            grid.addWidget(editor, row, 1)
            grid.addWidget(units, row, 2)
            self.errors[attr] = error = _error_label()
            grid.addWidget(error, row + 1, 0, 1, 3)
            self.editors[attr] = editor
            row += 2
        grid.addWidget(self.form_error, row, 0, 1, 3)
        grid.setRowStretch(row + 1, 1)
        self.validate()

    # ---- values ------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The raw values as entered (the procedure converts and checks them)."""
        return {attr: _read(editor) for attr, editor in self.editors.items()}

    def set_value(self, attr: str, value: Any) -> None:
        """Set one field as the operator would (text for line edits)."""
        editor = self.editors[attr]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findText(str(value)))
        else:
            editor.setText(_format(value) if isinstance(value, (list, tuple)) else str(value))

    def procedure(self) -> LabProcedure:
        """The procedure with these parameters; raises ``ParameterError`` if they are refused."""
        return self.procedure_class(**self.values())

    @property
    def is_valid(self) -> bool:
        return bool(self._valid)

    # ---- checking ----------------------------------------------------------------------------
    def validate(self) -> bool:
        """Check each field, then all together; show the messages; emit ``valid_changed``."""
        values = self.values()
        field_ok = True
        for attr, value in values.items():
            message = _refusal(self.procedure_class, {attr: value})
            self.errors[attr].setText(message)
            self.errors[attr].setVisible(bool(message))
            field_ok &= not message
        overall = _refusal(self.procedure_class, values) if field_ok else ""
        self.form_error.setText(overall)
        self.form_error.setVisible(bool(overall))
        valid = field_ok and not overall
        if valid != self._valid:
            self._valid = valid
            self.valid_changed.emit(valid)
        return valid

    def _editor(self, param: Parameter) -> QWidget:
        default = param.default
        if isinstance(param, BooleanParameter):
            editor = QCheckBox()
            editor.setChecked(bool(default))
            editor.toggled.connect(self.validate)
        elif isinstance(param, ListParameter):
            editor = QComboBox()
            for choice in param.choices:
                editor.addItem(str(choice), choice)
            if default is not None:
                editor.setCurrentIndex(editor.findText(str(default)))
            editor.currentIndexChanged.connect(self.validate)
        else:
            editor = QLineEdit(_format(default))
            editor.textChanged.connect(self.validate)
        return editor


def _refusal(procedure_class, values: dict[str, Any]) -> str:
    try:
        procedure_class(**values)
    except (ValueError, TypeError) as exc:  # ParameterError is a ValueError
        return str(exc)
    return ""


def _read(editor: QWidget) -> Any:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentData()
    return editor.text().strip()


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, (list, tuple)):  # a FloatListParameter, as typed: "5, 10"
        return ", ".join(_format(v) for v in value)
    return str(value)


def _hint(attr: str, param: Parameter) -> str:
    units = getattr(param, "units", None) or ""
    if isinstance(param, (FloatParameter, IntegerParameter)):
        return (f"{attr}: {param.minimum:g} to {param.maximum:g} {units}, "
                f"default {_format(param.default)}").strip()
    return f"{attr}: default {_format(param.default)}"


def _error_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    return label
