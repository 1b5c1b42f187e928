"""RunStore and RunWriter on SQLite and PostgreSQL: what goes in comes out, in order, with its
metadata; bad input is refused with a clear error and loses nothing already written."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import update

import dwlab.db.writer as writer_module
from dwlab.clock import VirtualClock
from dwlab.db.models import Run
from dwlab.db.store import RunStore, StoreError, StoreListener
from dwlab.listener import RunInfo

COLUMNS = {"I_pulse": "mA", "V_AHE": "uV", "H": "Oe"}


def vahe(i):
    """A recognisable, non-trivial value per point index."""
    return 2.5 * np.tanh((i - 500) / 80.0)


def points(n, start=0):
    return [{"I_pulse": 1e-3 * k, "V_AHE": vahe(k), "H": -50.0 + 0.1 * k} for k in range(start, start + n)]


def begin(store, **kw):
    args = dict(procedure="integrate_reset", columns=COLUMNS, parameters={"n_pulses": 10, "J": 1.2e11})
    args.update(kw)
    return store.begin_run(**args)


def test_points_come_back_in_order_with_units_and_metadata(store):
    w = begin(store, procedure_version="1.2", sample="SAF-07", operator="ana", device="bar3",
              setup={"magnet": "kepco"}, snapshot={"k6221": {"idn": "KEITHLEY,6221,123"}})
    w.extend(points(1500))
    w.finish()
    df = store.dataframe(w.run_id)
    assert list(df.columns) == ["t", "I_pulse", "V_AHE", "H"]
    assert df.attrs["units"] == {"t": "s", **COLUMNS}
    k = np.arange(1500)
    np.testing.assert_array_equal(df["V_AHE"].to_numpy(), vahe(k))
    np.testing.assert_array_equal(df["H"].to_numpy(), -50.0 + 0.1 * k)
    assert (np.diff(df["t"]) >= 0).all() and df["t"].iloc[0] >= 0
    run = store.get_run(w.run_id)
    assert (run.procedure, run.procedure_version, run.sample, run.device, run.operator) == (
        "integrate_reset", "1.2", "SAF-07", "bar3", "ana")
    assert run.parameters == {"n_pulses": 10, "J": 1.2e11}
    assert run.snapshot["k6221"]["idn"] == "KEITHLEY,6221,123"
    assert run.software_version.startswith("dwlab ")
    assert run.status == "finished" and run.error is None and run.n_points == 1500
    assert run.ended_at >= run.started_at
    assert df.attrs["run"]["id"] == w.run_id


def test_timestamps_follow_the_run_clock(store):
    clock = VirtualClock(100.0)
    w = begin(store, clock=clock)
    for k in range(5):
        clock.sleep(0.5)
        w.append(points(1, k)[0])
    w.finish()
    np.testing.assert_allclose(store.dataframe(w.run_id)["t"], [0.5, 1.0, 1.5, 2.0, 2.5])


def test_events_images_and_block_appends(store):
    w = begin(store)
    w.event("log", "field ramped to 0 Oe")
    rows = np.column_stack([np.arange(4.0), np.ones(4), np.arange(4.0) * 2, np.zeros(4)])
    w.append_rows(rows)
    img = np.random.default_rng(1).integers(0, 4095, size=(48, 64), dtype=np.uint16)
    image_id = w.add_image(img, t=1.5, meta={"exposure_s": 0.05})
    assert isinstance(image_id, int)
    w.finish("aborted", "operator pressed stop")
    np.testing.assert_array_equal(store.points(w.run_id), rows)
    [(t, back, meta)] = store.images(w.run_id)
    assert t == 1.5 and meta == {"exposure_s": 0.05}
    np.testing.assert_array_equal(back, img)
    assert back.dtype == np.uint16
    kinds = [(k, m) for _, k, m in store.events(w.run_id)]
    assert kinds == [("status", "running"), ("log", "field ramped to 0 Oe"),
                     ("status", "aborted: operator pressed stop")]
    run = store.get_run(w.run_id)
    assert (run.status, run.error) == ("aborted", "operator pressed stop")


def test_images_as_content_addressed_files(store_url, tmp_path):
    store = RunStore(store_url, image_dir=tmp_path / "images")
    w = begin(store)
    img = np.arange(30, dtype=np.float32).reshape(5, 6)
    w.add_image(img, 0.0)
    w.add_image(img, 1.0)  # same content: one file
    w.finish()
    files = list((tmp_path / "images").rglob("*.zlib"))
    assert len(files) == 1
    assert [t for t, _, _ in store.images(w.run_id)] == [0.0, 1.0]
    np.testing.assert_array_equal(store.images(w.run_id)[1][1], img)
    files[0].write_bytes(b"garbage")
    with pytest.raises(StoreError, match="corrupt"):
        store.images(w.run_id)
    store.delete_run(w.run_id)
    assert not files[0].exists()


def test_list_runs_filters(store):
    a = begin(store, procedure="iv", sample="S1")
    a.finish()
    b = begin(store, procedure="integrate_reset", sample="S2")
    b.extend(points(3))
    b.finish("failed", "boom")
    c = begin(store, procedure="iv", sample="S2")
    assert [r.id for r in store.list_runs()] == [a.run_id, b.run_id, c.run_id]
    assert [r.id for r in store.list_runs(procedure="iv")] == [a.run_id, c.run_id]
    assert [r.id for r in store.list_runs(sample="S2", status="failed")] == [b.run_id]
    assert [r.id for r in store.list_runs(status="running")] == [c.run_id]
    assert store.list_runs(status="failed")[0].n_points == 3
    today = datetime.now().date()
    assert len(store.list_runs(since=today, until=today)) == 3
    assert store.list_runs(until=today - timedelta(days=1)) == []
    assert store.list_runs(since=datetime.now(timezone.utc) + timedelta(hours=1)) == []
    with pytest.raises(StoreError, match="status must be one of"):
        store.list_runs(status="done")
    c.finish()


def test_delete_run_removes_only_that_run(store):
    a, b = begin(store), begin(store)
    a.extend(points(10)); b.extend(points(20))
    a.finish(); b.finish()
    store.delete_run(a.run_id)
    assert [r.id for r in store.list_runs()] == [b.run_id]
    assert len(store.dataframe(b.run_id)) == 20
    with pytest.raises(StoreError, match=f"no run with id {a.run_id}"):
        store.get_run(a.run_id)


def test_bad_points_are_refused_and_nothing_is_lost(store):
    w = begin(store)
    w.extend(points(100))
    w.flush()
    with pytest.raises(StoreError, match=r"unknown column\(s\) \['V_hall'\]"):
        w.append({"I_pulse": 1.0, "V_AHE": 2.0, "H": 3.0, "V_hall": 4.0})
    with pytest.raises(StoreError, match=r"missing column\(s\) \['H'\]"):
        w.append({"I_pulse": 1.0, "V_AHE": 2.0})
    with pytest.raises(StoreError, match=r"column 'V_AHE' got '2.0' \(str\)"):
        w.append({"I_pulse": 1.0, "V_AHE": "2.0", "H": 3.0})
    with pytest.raises(StoreError, match=r"column 'H' got None"):
        w.append({"I_pulse": 1.0, "V_AHE": 2.0, "H": None})
    with pytest.raises(StoreError, match=r"shape \(n, 4\)"):
        w.append_rows(np.zeros((3, 2)))
    w.extend(points(50, start=100))
    w.finish()
    np.testing.assert_array_equal(store.dataframe(w.run_id)["V_AHE"], vahe(np.arange(150)))
    with pytest.raises(StoreError, match="finished; cannot append to a finished run"):
        w.append(points(1)[0])
    with pytest.raises(StoreError, match="already finished"):
        w.finish()
    assert store.get_run(w.run_id).n_points == 150


def test_bad_run_arguments(store):
    with pytest.raises(StoreError, match="columns must be a non-empty dict"):
        store.begin_run("iv", {}, {})
    with pytest.raises(StoreError, match="parameters cannot be stored as JSON"):
        store.begin_run("iv", {"V": "V"}, {"f": object()})
    w = begin(store)
    with pytest.raises(StoreError, match="status must be one of"):
        w.finish("done")
    w.finish()


def test_context_manager_records_why_a_run_failed(store):
    with pytest.raises(ZeroDivisionError):
        with begin(store) as w:
            w.extend(points(7))
            _ = 1 / 0
    run = store.get_run(w.run_id)
    assert run.status == "failed" and "ZeroDivisionError" in run.error and run.n_points == 7


def test_a_second_store_reads_a_run_while_it_is_written(store_url):
    writer_store, reader = RunStore(store_url), RunStore(store_url)
    w = begin(writer_store)
    w.extend(points(10))
    w.flush()
    assert reader.get_run(w.run_id).status == "running"  # the live writer is not "stale"
    assert len(reader.dataframe(w.run_id)) == 10
    w.extend(points(5, start=10))
    w.flush()
    np.testing.assert_array_equal(reader.dataframe(w.run_id)["V_AHE"], vahe(np.arange(15)))
    w.finish()


def test_a_run_left_running_by_a_dead_process_reads_interrupted(store_url):
    store = RunStore(store_url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    w = begin(store)
    w.extend(points(5))
    w.flush()
    live = begin(store)
    with store.engine.begin() as conn:  # as if a crashed process had written run w
        conn.execute(update(Run).where(Run.id == w.run_id).values(writer_pid=dead.pid))
    reopened = RunStore(store_url)
    assert reopened.interrupted_on_open == [w.run_id]
    run = reopened.get_run(w.run_id)
    assert run.status == "interrupted" and "crash or kill" in run.error and run.n_points == 5
    assert reopened.get_run(live.run_id).status == "running"
    live.finish()


def test_a_run_of_another_host_without_heartbeat_reads_interrupted(store_url, monkeypatch):
    # the writer stands for one on another host that died: it must not beat again (its idle
    # heartbeat, 5 s on, would prove it alive when CPU load makes this test take that long)
    monkeypatch.setattr(writer_module, "HEARTBEAT_PERIOD", 1e9)
    store = RunStore(store_url)
    w = begin(store)
    w.flush()  # its first heartbeat is in (a later one would prove it alive)
    old = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == w.run_id).values(writer_host="other-pc", heartbeat=old))
    assert RunStore(store_url).get_run(w.run_id).status == "interrupted"


def test_store_listener_feeds_the_store_like_a_live_run(store):
    listener = StoreListener(store)
    info = RunInfo("iv", {"sweep": "up"}, {"I": "mA", "V": "uV"}, sample="S3",
                   metadata={"procedure_version": "0.3", "snapshot": {"a": 1}})
    listener.on_start(info)
    assert info.run_id == listener.writer.run_id
    listener.on_points([{"I": 1.0, "V": 10.0}, {"I": 2.0, "V": 20.0}])
    listener.on_event("log", "half way")
    listener.on_finish("finished", None)
    run = store.get_run(info.run_id)
    assert (run.sample, run.procedure_version, run.snapshot, run.n_points) == ("S3", "0.3", {"a": 1}, 2)
    assert list(store.dataframe(info.run_id)["V"]) == [10.0, 20.0]
