"""The console remembers, per session file: the parameters typed for each procedure (also when
switching procedure), the chosen procedure, the layout; integrate-reset by default."""

from __future__ import annotations

from dwlab.gui.main_window import MainWindow


def test_default_procedure_is_integrate_reset(window):
    assert window.chooser.currentText() == "integrate-reset"


def test_typed_values_survive_switching_procedure_and_restarting(qtbot, window, lab, store,
                                                                 session):
    window.form.set_value("cycles", "7")
    window.chooser.setCurrentText("hysteresis")
    window.form.set_value("n_loops", "3")
    window.chooser.setCurrentText("integrate-reset")
    assert window.form.values()["cycles"] == "7"  # not lost by switching away and back
    window.chooser.setCurrentText("hysteresis")
    window.main_split.setSizes([300, 1100])
    sizes = window.main_split.sizes()
    window.close()

    again = MainWindow(lab, store, session=session)
    qtbot.addWidget(again)
    again.show()
    assert again.chooser.currentText() == "hysteresis"
    assert again.form.values()["n_loops"] == "3"
    assert again.main_split.sizes()[0] == sizes[0]  # the left pane as the operator left it
    again.chooser.setCurrentText("integrate-reset")
    assert again.form.values()["cycles"] == "7"
    again.workers.wait()
    again.close()
