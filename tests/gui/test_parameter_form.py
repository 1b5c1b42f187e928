"""The parameter form: built from every installed procedure, refusing bad values by name."""

from __future__ import annotations

import pytest
from pymeasure.experiment.parameters import FloatParameter, IntegerParameter

from dwlab.gui.main_window import installed_procedures
from dwlab.gui.parameter_form import ParameterForm
from dwlab.procedures import registry

INSTALLED = sorted(installed_procedures()[0])


def numeric(cls):
    return [a for a in cls.parameter_names()
            if isinstance(getattr(cls, a), (FloatParameter, IntegerParameter))]


@pytest.mark.parametrize("name", INSTALLED)
def test_form_builds_with_valid_defaults(qtbot, name):
    cls = registry.procedure_class(name)
    form = ParameterForm(cls)
    qtbot.addWidget(form)
    assert set(form.editors) == set(cls.parameter_names())
    assert form.is_valid, [e.text() for e in form.errors.values() if e.text()]
    procedure = form.procedure()
    for attr in cls.parameter_names():  # the form's defaults are the procedure's
        assert getattr(procedure, attr) == getattr(cls(), attr)


@pytest.mark.parametrize("name", INSTALLED)
def test_out_of_range_value_is_named_next_to_its_field(qtbot, name):
    cls = registry.procedure_class(name)
    form = ParameterForm(cls)
    qtbot.addWidget(form)
    states = []
    form.valid_changed.connect(states.append)
    attr = numeric(cls)[0]
    param = getattr(cls, attr)
    too_big = param.maximum + 1
    form.set_value(attr, too_big)

    message = form.errors[attr].text()
    assert not form.is_valid and states == [False]
    assert attr in message and str(too_big) in message
    assert f"{param.maximum:g}" in message  # the limit
    others = [a for a in form.errors if a != attr and form.errors[a].text()]
    assert others == []  # only the bad field complains

    form.set_value(attr, param.default)
    assert form.is_valid and states == [False, True]
    assert form.errors[attr].text() == ""


def test_text_in_a_number_field_is_refused_not_crashed(qtbot):
    cls = registry.procedure_class(INSTALLED[0])
    form = ParameterForm(cls)
    qtbot.addWidget(form)
    attr = numeric(cls)[0]
    form.set_value(attr, "twelve")
    assert not form.is_valid
    assert attr in form.errors[attr].text() and "twelve" in form.errors[attr].text()


def test_window_start_button_follows_the_form(window):
    name = window.chooser.currentText()
    attr = numeric(window.procedures[name])[0]
    assert window.start_button.isEnabled()
    window.form.set_value(attr, "nonsense")
    assert not window.start_button.isEnabled()
    assert window.start_run() is False
    assert window.status == "refused" and window.runner is None
    assert window.log.kinds[-1] == "refused"
