"""A corrupt or locked SQLite file gives a clear error, and no point already appended is lost."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

import dwlab.db.store as store_module
import dwlab.db.writer as writer_module
from dwlab.db.store import RunStore, StoreError


def test_a_corrupt_file_is_refused_clearly(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is a lab notebook, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the run database .*runs.sqlite.*not a database"):
        RunStore(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"this is a lab notebook")  # left untouched


def test_a_bad_url_is_refused_clearly():
    with pytest.raises(StoreError, match="is not valid"):
        RunStore("not a url")
    with pytest.raises(StoreError, match="needs a SQLite file"):
        RunStore("sqlite://")


@pytest.fixture
def short_waits(monkeypatch):
    monkeypatch.setattr(store_module, "SQLITE_LOCK_WAIT", 0.05)
    monkeypatch.setattr(writer_module, "GIVE_UP_AFTER", 0.2)


def test_a_locked_database_keeps_points_until_it_is_free(tmp_path, short_waits):
    path = tmp_path / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.extend([{"V": float(k)} for k in range(100)])
    w.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    w.extend([{"V": float(k)} for k in range(100, 200)])
    with pytest.raises(StoreError, match="cannot write to the database: database is locked"):
        w.flush()
    # the background writer keeps failing; after GIVE_UP_AFTER, append says so, naming the
    # spill file that holds the points meanwhile
    accepted, deadline = 200, time.monotonic() + 20
    with pytest.raises(StoreError, match=r"refused its points for .*\(database is locked\); "
                       r"they are kept in .*\.dwspill: load them with `dwlab runs recover"):
        while time.monotonic() < deadline:
            w.append({"V": float(accepted)})
            accepted += 1
            time.sleep(0.001)
    other.execute("ROLLBACK")
    other.close()
    spill = w.spill_path
    assert spill.exists()
    w.flush()  # the backlog goes in; appends may go on
    w.append({"V": float(accepted)})
    w.finish()
    np.testing.assert_array_equal(store.dataframe(w.run_id)["V"], np.arange(accepted + 1.0))
    assert not spill.exists()  # the database took everything: the spill file is gone



def test_stores_opening_a_new_database_together_wait_their_turn(tmp_path):
    """Three connections create the schema of one new file and start a run at the same moment
    (a GUI and two scripts): each waits for the write lock instead of failing with "database
    is locked" (a plain BEGIN that reads first cannot wait for it, and neither does switching
    a new file to WAL). Threads, each with its own store, lock one another as processes do;
    twenty new files, since one collision in three tries is what the WAL switch lost."""
    import threading

    def open_and_begin(url, barrier, outcomes):
        barrier.wait()
        try:
            store = RunStore(url)
            store.begin_run("iv", {"V": "uV"}, {}, sample="S1").finish()
            store.close()
            outcomes.append("ok")
        except StoreError as exc:
            outcomes.append(str(exc))

    for attempt in range(20):
        url = f"sqlite:///{tmp_path / f'runs{attempt}.sqlite'}"
        barrier, outcomes = threading.Barrier(3), []
        threads = [threading.Thread(target=open_and_begin, args=(url, barrier, outcomes))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert outcomes == ["ok"] * 3
        assert len(RunStore(url).list_runs(sample="S1")) == 3
