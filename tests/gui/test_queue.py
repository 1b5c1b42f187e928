"""The queue as an operator drives it: the form's run several times, a grid, a batch file in
and out, reorder and remove, pause and resume, stop after the current run, abort the current
one; and runs written by another process appearing live in the Runs tab."""

from __future__ import annotations

import pytest

from dwlab import api
from dwlab.cli_procedures import load_sequence
from dwlab.gui.run_queue import load_batch, parse_grid, save_batch

from .conftest import RUN_TIMEOUT_MS, choose

SMALL = dict(cycles=1, baseline_pulses=5, write_pulses=10, reset_reads=20)


def statuses(window):
    return [e.status for e in window.queue.entries]


def test_grid_runs_in_order_with_status_and_time_left(qtbot, window, store, tmp_path):
    choose(window, "integrate-reset", **SMALL)
    window.queue_grid(parse_grid("write_current_mA = 15, 20\nreset_reads = 20, 30"))
    window.queue.copies.setValue(1)
    window.queue.add_button.click()  # the form's own run at the end
    assert [(e.parameters["write_current_mA"], e.parameters["reset_reads"])
            for e in window.queue.entries] == [(15, 20), (15, 30), (20, 20), (20, 30),
                                               (20.0, 20)]
    window.tabs.setCurrentWidget(window.queue)
    window.queue.start_button.click()
    qtbot.waitUntil(lambda: statuses(window)[:2] == ["finished", "running"],
                    timeout=RUN_TIMEOUT_MS)
    # the first finished run is the estimate for the waiting ones of that procedure
    assert window.queue.table.item(4, 4).text() != ""
    window.grab().save(str(tmp_path / "queue_running.png"))
    qtbot.waitUntil(lambda: statuses(window) == ["finished"] * 5, timeout=5 * RUN_TIMEOUT_MS)
    runs = store.list_runs()
    assert [r.n_points for r in runs] == [5 + 10 + n for n in (20, 30, 20, 30, 20)]
    assert [e.run_id for e in window.queue.entries] == [r.id for r in runs]
    assert store.get_run(runs[2].id).parameters["write_current_mA"] == 20


def test_pause_holds_the_next_run_and_resume_starts_it(qtbot, window, store):
    choose(window, "integrate-reset", **SMALL)
    window.queue.copies.setValue(3)
    window.queue.add_button.click()
    window.queue.start_button.click()
    window.queue.pause_button.click()  # during the first run: it goes on, the next waits
    qtbot.waitUntil(lambda: statuses(window)[0] == "finished", timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.runner is None)
    assert statuses(window)[1:] == ["queued", "queued"] and window.runner is None
    window.queue.pause_button.click()  # resume
    qtbot.waitUntil(lambda: statuses(window) == ["finished"] * 3, timeout=3 * RUN_TIMEOUT_MS)


def test_stop_after_current_and_abort_current(qtbot, window, store):
    choose(window, "integrate-reset", cycles=100)
    window.queue.copies.setValue(2)
    window.queue.add_button.click()
    choose(window, "integrate-reset", **SMALL)
    window.queue.copies.setValue(1)
    window.queue.add_button.click()
    window.queue.start_button.click()
    qtbot.waitUntil(lambda: window.plot.point_count > 0, timeout=RUN_TIMEOUT_MS)
    window.queue.stop_after_button.click()
    window.queue.abort_button.click()
    qtbot.waitUntil(lambda: statuses(window)[0] == "aborted", timeout=RUN_TIMEOUT_MS)
    assert statuses(window)[1:] == ["queued", "queued"]  # stopped after the current one
    assert window.queue.paused and window.runner is None


def test_reorder_remove_and_a_batch_file_round_trip(qtbot, window, tmp_path):
    choose(window, "integrate-reset", **SMALL)
    window.queue_grid({"write_current_mA": [10, 15, 20]})
    q = window.queue
    q.table.selectRow(2)
    q.up_button.click()
    assert [e.parameters["write_current_mA"] for e in q.entries] == [10, 20, 15]
    q.table.selectRow(0)
    q.remove_button.click()
    assert [e.parameters["write_current_mA"] for e in q.entries] == [20, 15]
    path = save_batch(tmp_path / "queue.toml", q.entries, q.setup)
    assert q.setup == "sim"
    # dwlab batch reads what the queue wrote, and the queue reads it back
    runs = load_sequence(path).runs
    assert [p["write_current_mA"] for _, p in runs] == [20, 15]
    assert [(e.procedure, e.parameters) for e in load_batch(path, "sim")] == runs
    with pytest.raises(ValueError, match="this console runs"):
        load_batch(path, str(tmp_path / "stage.toml"))  # another lab's queue is refused


def test_a_grid_with_a_value_beyond_the_limits_is_refused_whole(qtbot, window, lab):
    choose(window, "integrate-reset", **SMALL)
    limit = lab.setup.limits.max_current_mA
    assert not window.queue_grid({"write_current_mA": [10, limit * 2]})
    assert window.queue.entries == [] and window.status == "refused"


def test_runs_written_by_another_process_appear_live(qtbot, window, store, lab):
    window.tabs.setCurrentWidget(window.browser)
    # another writer of the same database (a dwlab batch would be another process)
    other = api.open_store(store.url)
    done = api.run(lab, "integrate-reset", store=other, **SMALL)
    qtbot.waitUntil(lambda: window.browser.run_ids() == [done.run_id], timeout=RUN_TIMEOUT_MS)
    writer = other.begin_run(procedure="integrate-reset", columns={"t_s": "s", "V_uV": "µV"},
                             parameters={})
    qtbot.waitUntil(lambda: window.browser.run_ids() == [writer.run_id, done.run_id],
                    timeout=RUN_TIMEOUT_MS)
    assert window.browser.table.item(0, 3).text() == "running"
    writer.append({"t_s": 0.0, "V_uV": 1.0})
    writer.finish("finished")
    qtbot.waitUntil(lambda: window.browser.table.item(0, 3).text() == "finished",
                    timeout=RUN_TIMEOUT_MS)
    assert window.browser.table.item(0, 5).text() == "1"
    other.close()
