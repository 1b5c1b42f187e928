"""When the database cannot take a run's points (a full disk, a lock held by another program),
they go to the spill file named in the one-line error, the run is still made safe, and
``dwlab runs recover FILE`` loads them back: nothing is lost."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, update

import dwlab.db.store as store_module
import dwlab.db.writer as writer_module
from dwlab.cli import main
from dwlab.db.models import Run
from dwlab.db.spill import read_spill, recover
from dwlab.db.store import RunStore, StoreError
from dwlab.db.writer import utcnow
from dwlab.listener import ListenerBase


@pytest.fixture
def quick_give_up(monkeypatch):
    monkeypatch.setattr(store_module, "SQLITE_LOCK_WAIT", 0.05)
    monkeypatch.setattr(writer_module, "GIVE_UP_AFTER", 0.3)


# --- a full disk, two ways ------------------------------------------------------------------
class PageLimit:
    """SQLite's own full-disk error (SQLITE_FULL): no page may be added to the file."""

    def __init__(self, tmp_path: Path):
        self.url = f"sqlite:///{tmp_path / 'runs.sqlite'}"

    def fill(self, store: RunStore) -> None:
        with store.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

        def limit(dbapi_conn, _record):
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

        event.listen(store.engine, "connect", limit)
        store.engine.dispose()

    def free(self) -> None:
        pass  # a new engine has no limit


class SmallFilesystem:
    """A 2 MB tmpfs holding the database, filled up by another file (needs root)."""

    def __init__(self, tmp_path: Path):
        self.mount = tmp_path / "small"
        self.mount.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(self.mount)],
                              capture_output=True, check=False)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
        self.url = f"sqlite:///{self.mount / 'runs.sqlite'}"
        self.filler = self.mount / "filler"

    def fill(self, store: RunStore) -> None:
        free = shutil.disk_usage(self.mount).free
        with open(self.filler, "wb") as f, contextlib.suppress(OSError):
            f.write(b"\0" * (free - 8192))  # leaves two pages: the next flushes fail

    def free(self) -> None:
        self.filler.unlink()

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.mount)], check=False)


@pytest.fixture(params=["page-limit", "small-filesystem"])
def full_disk(request, tmp_path):
    disk = (PageLimit if request.param == "page-limit" else SmallFilesystem)(tmp_path)
    yield disk
    if hasattr(disk, "close"):
        disk.close()


def test_a_run_on_a_full_disk_is_recovered_without_losing_a_point(full_disk, quick_give_up,
                                                                    capsys):
    store = RunStore(full_disk.url)
    w = store.begin_run("iv", {"k": "", "x": "V"}, {})
    for k in range(1000):
        w.append({"k": float(k), "x": k * 0.5})
    w.flush()
    full_disk.fill(store)
    appended, deadline = 1000, time.monotonic() + 60
    with pytest.raises(StoreError) as refused:
        while time.monotonic() < deadline:
            w.append({"k": float(appended), "x": appended * 0.5})
            appended += 1
            if appended % 50 == 0:
                w.event("log", f"{appended} points")
                time.sleep(0.001)
    message = str(refused.value)
    assert "\n" not in message and "disk is full" in message
    spill = w.spill_path
    assert f"they are kept in {spill}: load them with `dwlab runs recover {spill}`" in message
    w.finish("failed", "the disk is full")  # already reported: no second error
    run_id = w.run_id
    assert store.get_run(run_id).n_points < appended  # the database did miss points
    store.close()

    full_disk.free()
    assert main(["--db", full_disk.url, "runs", "recover", str(spill)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"run {run_id}: ") and "the run is failed" in out[0]
    store = RunStore(full_disk.url)
    df = store.dataframe(run_id)
    np.testing.assert_array_equal(df["k"], np.arange(appended))
    np.testing.assert_array_equal(df["x"], np.arange(appended) * 0.5)
    run = store.get_run(run_id)
    assert (run.status, run.error, run.n_points) == ("failed", "the disk is full", appended)
    logs = [(seq, m) for seq, _, kind, m in store.events_with_seq(run_id) if kind == "log"]
    assert logs == [(n, f"{n} points") for n in range(1050, appended + 1, 50)]
    assert store.events(run_id)[-1][1:] == ("status", "failed: the disk is full")
    # loading twice changes nothing
    assert recover(store, spill).points == 0
    assert len(store.dataframe(run_id)) == appended


class FillsTheDisk(ListenerBase):
    """Fills the disk once the run has emitted ``after`` points (those reach the database,
    the rest only the spill file) and keeps every point the procedure emitted, to compare
    with what the store ends up holding. Counted in points, not time: how many points a run
    emits before its writer first fails to flush depends on the machine's load (96 under
    two busy processes, where filling at the start expected over 100)."""

    def __init__(self, disk, store, after: int):
        self.disk, self.store, self.after, self.points = disk, store, after, []

    def on_points(self, points):
        self.points.extend(points)
        if len(self.points) >= self.after and self.after:
            self.after = 0
            self.disk.fill(self.store)


def test_a_procedure_on_a_full_disk_is_made_safe_and_recovered_in_full(tmp_path, quick_give_up,
                                                                        monkeypatch):
    # refuse at the first failed flush: on a fast machine the run ended inside a 0.3 s grace
    monkeypatch.setattr(writer_module, "GIVE_UP_AFTER", 0.0)
    from dwlab.procedures.hysteresis import Hysteresis
    from dwlab.procedures.runner import Runner
    from tests.procedures.faults import sim_state_problems
    from tests.procedures.simlab import make_lab

    disk = PageLimit(tmp_path)
    store = RunStore(disk.url)
    lab = make_lab(seed=3)
    kept = FillsTheDisk(disk, store, after=150)
    outcome = Runner(lab, store, listeners=[kept]).run(Hysteresis(loop="minor", n_loops=1))
    assert sim_state_problems(lab) == []
    assert outcome.status == "failed"
    assert "\n" not in outcome.error and "disk is full" in outcome.error
    spill = Path(outcome.error.rsplit("`dwlab runs recover ", 1)[1].rstrip("`"))
    assert spill.exists()
    store.close()

    store = RunStore(disk.url)
    recover(store, spill)
    df = store.dataframe(outcome.run_id)
    assert len(df) == len(kept.points) > 150
    for column in ("Hz_Oe", "V_uV"):
        np.testing.assert_array_equal(df[column], [p[column] for p in kept.points])


@pytest.mark.parametrize("image_dir", [False, True])  # images in the database, or files
def test_kerr_images_that_cannot_be_stored_are_spilled_and_recovered(tmp_path, quick_give_up, capsys,
                                                          image_dir):
    disk = PageLimit(tmp_path)
    dirs = {"image_dir": tmp_path / "images"} if image_dir else {}
    store = RunStore(disk.url, **dirs)
    w = store.begin_run("kerr", {"t_s": "s"}, {})
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 4096, (40, 60), dtype=np.uint16) for _ in range(3)]
    assert w.add_image(frames[0], 0.5, {"exposure_s": 0.1}) is not None
    disk.fill(store)
    if image_dir:  # the image files' directory cannot take them either (a file in its way)
        (tmp_path / "images").rename(tmp_path / "images-away")
        (tmp_path / "images").write_text("")
    for k, frame in enumerate(frames[1:], start=1):
        assert w.add_image(frame, 0.5 + k, {"exposure_s": 0.1, "k": k}) is None  # spilled
    spill = w.spill_path
    with pytest.raises(StoreError, match=f"kept in {spill}: load them with `dwlab runs recover"):
        w.finish("failed", "the disk is full")
    run_id = w.run_id
    if image_dir:
        (tmp_path / "images").unlink()
        (tmp_path / "images-away").rename(tmp_path / "images")
    assert len(store.images(run_id)) == 1
    store.close()

    store = RunStore(disk.url, **dirs)
    if image_dir:  # a store keeping image files (the API's; the command line has none)
        assert recover(store, spill).images == 2
        assert len(list((tmp_path / "images").rglob("*"))) >= 3
    else:
        assert main(["--db", disk.url, "runs", "recover", str(spill)]) == 0
        assert "0 points, 2 images and" in capsys.readouterr().out
    images = store.images(run_id)
    assert [t for t, _, _ in images] == [0.5, 1.5, 2.5]
    for (_, image, meta), frame, k in zip(images, frames, range(3), strict=True):
        np.testing.assert_array_equal(image, frame)
        assert meta == ({"exposure_s": 0.1, "k": k} if k else {"exposure_s": 0.1})
    assert recover(store, spill).images == 0  # loading twice changes nothing
    assert len(store.images(run_id)) == 3


def test_an_image_spilled_while_the_database_was_locked_reaches_it_at_the_end(
        tmp_path, quick_give_up):
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("kerr", {"t_s": "s"}, {})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    frame = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert w.add_image(frame, 1.0) is None
    assert read_spill(w.spill_path).images[0][0]["t"] == 1.0
    other.execute("ROLLBACK")
    other.close()
    w.finish()
    [(t, image, _)] = store.images(w.run_id)
    assert t == 1.0 and np.array_equal(image, frame)
    assert not w.spill_path.exists()  # the database took everything


# --- a lock held by another program ---------------------------------------------------------
def test_points_appended_while_another_program_holds_the_lock_reach_the_spill_file(
        tmp_path, quick_give_up):
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.append({"V": 0.0})
    w.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    w.append({"V": 1.0})
    time.sleep(2 * writer_module.JOURNAL_AFTER)
    w.append({"V": 2.0})  # point 1 is older than the bound: this append spills it first
    spilled = read_spill(w.spill_path)
    assert [(first, rows[:, 1].tolist()) for first, rows in spilled.blocks] == [(1, [1.0])]
    with pytest.raises(StoreError, match=r"still being written by process .* \(run 1 is live\)"):
        recover(RunStore(f"sqlite:///{tmp_path / 'other.sqlite'}"), w.spill_path)
    other.execute("ROLLBACK")
    other.close()
    w.finish()
    assert store.dataframe(w.run_id)["V"].tolist() == [0.0, 1.0, 2.0]
    assert not w.spill_path.exists()  # the database took everything


def test_a_spill_file_is_not_loaded_into_another_database(tmp_path, quick_give_up):
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("iv", {"V": "uV"}, {})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    w.append({"V": 1.0})
    with pytest.raises(StoreError):
        w.flush()
    other.execute("ROLLBACK")
    with pytest.raises(StoreError):  # finish cannot write either: it names the spill file
        other.execute("BEGIN EXCLUSIVE")
        w.finish()
    other.execute("ROLLBACK")
    fresh = RunStore(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with pytest.raises(StoreError, match="no run with id 1"):
        recover(fresh, w.spill_path)
    fresh.begin_run("other", {"V": "uV"}, {}).finish()
    with pytest.raises(StoreError, match="belongs to run 1 of .*runs.sqlite started .* is "
                                         "another run"):
        recover(fresh, w.spill_path)
    assert recover(store, w.spill_path).status == "finished"
    assert store.dataframe(w.run_id)["V"].tolist() == [1.0]


@pytest.mark.parametrize("content, message", [
    (b"", "is not a dwlab spill file"),
    (b"SQLite format 3\0", "is not a dwlab spill file"),
    (b"DWLABSPILL 1\n{}\n", "its header is missing or damaged"),
    (b"DWLABSPILL 1\n", "its header is missing or damaged"),
])
def test_a_bad_spill_file_gives_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.dwspill"
    bad.write_bytes(content)
    assert main(["--db", f"sqlite:///{tmp_path / 'r.sqlite'}", "runs", "recover", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_spill_file_cut_short_by_a_kill_gives_what_it_holds(tmp_path, quick_give_up):
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("iv", {"V": "uV"}, {})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    w.extend([{"V": float(k)} for k in range(10)])
    with pytest.raises(StoreError):
        w.flush()
    w.extend([{"V": float(k)} for k in range(10, 20)])
    with pytest.raises(StoreError):
        w.flush()
    other.execute("ROLLBACK")
    spill = w.spill_path
    copy = tmp_path / "torn.dwspill"
    copy.write_bytes(spill.read_bytes()[:-40])  # the kill came in the middle of a write
    w.flush()
    w.finish()
    with store.engine.begin() as conn:  # as if the database had missed them all
        conn.exec_driver_sql("DELETE FROM point_batch")
        conn.execute(update(Run).values(n_points=0, status="running"))
    r = recover(store, copy)
    assert r.torn and r.points == 10 and r.status == "interrupted"
    assert store.dataframe(w.run_id)["V"].tolist() == [float(k) for k in range(10)]


# --- who decides that a run is interrupted --------------------------------------------------
def test_a_live_writer_whose_heartbeat_is_old_is_not_marked_interrupted(tmp_path):
    """The database was locked for a minute: no heartbeat got in, but the writer lives."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    store = RunStore(url)
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.flush()
    with store.engine.begin() as conn:
        conn.execute(update(Run).values(heartbeat=utcnow() - timedelta(minutes=10)))
    assert RunStore(url).get_run(w.run_id).status == "running"
    w.finish()
    assert [e[2] for e in store.events(w.run_id) if e[1] == "status"] == ["running", "finished"]


def test_a_writer_pid_taken_by_a_younger_process_is_not_alive(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    store = RunStore(url)
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.flush()
    younger = subprocess.Popen(["sleep", "30"])
    try:
        with store.engine.begin() as conn:
            conn.execute(update(Run).values(writer_pid=younger.pid,
                                            started_at=utcnow() - timedelta(minutes=10)))
        assert RunStore(url).get_run(w.run_id).status == "interrupted"
    finally:
        younger.kill()
        younger.wait()


def test_opening_a_locked_database_reads_it_and_marks_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "SQLITE_LOCK_WAIT", 0.05)
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.flush()
    with store.engine.begin() as conn:
        conn.execute(update(Run).values(writer_pid=2 ** 22 + 1))  # no such process
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer lock: reads go on, writes wait
    reader = RunStore(f"sqlite:///{path}")
    assert reader.interrupted_on_open == [] and reader.get_run(w.run_id).status == "running"
    other.execute("ROLLBACK")
    assert RunStore(f"sqlite:///{path}").interrupted_on_open == [w.run_id]
