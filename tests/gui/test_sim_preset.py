"""The simulated device chooser: shown for an in-process simulated lab, changing it mounts
another simulated sample (the lab made safe and opened again), the choice is remembered in the
session, and queued runs (from the form or a batch file's ``preset =``) run on their device."""

from __future__ import annotations

from dwlab.gui.run_queue import load_batch, save_batch
from dwlab.instruments.sim.presets import PRESETS

from .conftest import RUN_TIMEOUT_MS, choose
from .test_queue import SMALL, statuses


def mounted(window) -> str:
    return window.lab.sim.device.params.name


def test_choosing_a_device_mounts_it_and_the_session_remembers(qtbot, window, session, tmp_path):
    assert window.preset_choice.isVisibleTo(window)
    assert [window.preset_choice.itemText(i) for i in range(window.preset_choice.count())] == list(
        PRESETS)
    assert window.preset_choice.currentText() == mounted(window) == "sot-neuron"
    old = window.lab
    window.preset_choice.textActivated.emit("rv-1504")  # as the operator picks it
    assert not window.start_button.isEnabled()  # nothing starts while the sample changes
    qtbot.waitUntil(lambda: not window.switching, timeout=RUN_TIMEOUT_MS)
    assert window.lab is not old and mounted(window) == "rv-1504"
    assert window.manual.lab is window.lab and window.instruments.lab is window.lab
    assert window.sample.text() == window.lab.setup.device.name
    assert session.value("preset") == "rv-1504"
    assert "preset rv-1504" in window.instruments.title_label.text()
    assert window.safe_confirmed and window.start_button.isEnabled()
    window.tabs.setCurrentIndex(0)
    window.grab().save(str(tmp_path / "preset_rv-1504.png"))
    window.lab.close()


def test_queued_runs_carry_their_device_from_the_form_and_a_batch_file(qtbot, window, store,
                                                                      tmp_path):
    choose(window, "integrate-reset", **SMALL)
    window.queue.add_button.click()  # on the mounted device, sot-neuron
    batch = tmp_path / "two_devices.toml"
    batch.write_text('setup = "sim"\npreset = "field-neuron"\n'
                     '[[run]]\nprocedure = "integrate-reset"\ncycles = 1\nbaseline_pulses = 5\n'
                     'write_pulses = 10\nreset_reads = 20\npreset = "spike-neuron"\n'
                     '[[run]]\nprocedure = "integrate-reset"\ncycles = 1\nbaseline_pulses = 5\n'
                     'write_pulses = 10\nreset_reads = 20\n', encoding="utf-8")
    window.queue.add(load_batch(batch, "sim"))
    assert [e.preset for e in window.queue.entries] == ["sot-neuron", "spike-neuron",
                                                       "field-neuron"]
    saved = save_batch(tmp_path / "saved.toml", window.queue.entries, "sim")
    assert [e.preset for e in load_batch(saved, "sim")] == ["sot-neuron", "spike-neuron",
                                                             "field-neuron"]
    window.tabs.setCurrentWidget(window.queue)
    window.queue.start_button.click()
    qtbot.waitUntil(lambda: statuses(window)[:2] == ["finished", "running"],
                    timeout=2 * RUN_TIMEOUT_MS)
    assert mounted(window) == "spike-neuron"
    assert window.queue.table.item(1, 0).text() == "integrate-reset on spike-neuron"
    window.grab().save(str(tmp_path / "queue_two_devices.png"))
    qtbot.waitUntil(lambda: statuses(window) == ["finished"] * 3, timeout=3 * RUN_TIMEOUT_MS)
    runs = store.list_runs()
    assert [store.get_run(r.id).setup["sim"]["preset"] for r in runs] == [
        "sot-neuron", "spike-neuron", "field-neuron"]
    assert mounted(window) == window.preset_choice.currentText() == "field-neuron"
    window.lab.close()
