"""The ``dwlab runs`` and ``dwlab replay`` commands over a real store file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dwlab.cli import main
from dwlab.clock import VirtualClock
from dwlab.db.store import RunStore


def dwlab(argv, db):
    return main(["--db", db, *argv])


@pytest.fixture
def db(sqlite_url):
    store = RunStore(sqlite_url)
    clock = VirtualClock()
    for proc, sample, n in [("iv", "S1", 3), ("integrate_reset", "S2", 5)]:
        w = store.begin_run(proc, {"I": "mA", "V": "uV"}, {"n": n}, sample=sample, clock=clock)
        for k in range(n):
            w.append({"I": float(k), "V": 10.0 * k})
            clock.sleep(0.001)
        w.event("log", "done")
        w.finish()
    return sqlite_url


def test_list_and_filters(db, capsys):
    assert dwlab(["runs", "list"], db) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "PROCEDURE", "SAMPLE", "LAB", "STATUS", "START", "POINTS"]
    assert [ln.split()[:5] + ln.split()[-1:] for ln in lines[1:]] == [
        ["1", "iv", "S1", "real", "finished", "3"],
        ["2", "integrate_reset", "S2", "real", "finished", "5"]]
    dwlab(["runs", "list", "--sample", "S2", "--status", "finished"], db)
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()[1:]] == ["2"]
    dwlab(["runs", "list", "--until", "2000-01-01"], db)
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_lab_is_real_simulated_or_computed_wherever_it_is_shown(sqlite_url, tmp_path, capsys):
    store = RunStore(sqlite_url)
    for proc, sample, simulated in [("iv", "S1", False), ("iv", "S1 (simulated)", True),
                                    ("nanosim-lif", "", False),
                                    ("snn-train", "S1 (simulated)", True)]:
        store.begin_run(proc, {"V": "uV"}, {}, sample=sample, simulated=simulated).finish()
    assert dwlab(["runs", "list"], sqlite_url) == 0
    assert [ln.split()[-5] for ln in capsys.readouterr().out.splitlines()[1:]] == [
        "real", "simulated", "computed", "computed"]
    for run, lab in [(1, "real"), (2, "simulated"), (4, "computed")]:
        dwlab(["runs", "show", str(run)], sqlite_url)
        assert json.loads(capsys.readouterr().out)["lab"] == lab
        out = tmp_path / f"r{run}.csv"
        assert dwlab(["runs", "export", str(run), "--format", "csv", "-o", str(out)],
                     sqlite_url) == 0
        capsys.readouterr()
        meta = json.loads((tmp_path / f"r{run}.csv.json").read_text())["run"]
        assert (meta["lab"], meta["simulated"]) == (lab, run != 1 and run != 3)


def test_show(db, capsys):
    dwlab(["runs", "show", "2"], db)
    meta = json.loads(capsys.readouterr().out)
    assert meta["procedure"] == "integrate_reset" and meta["n_points"] == 5
    assert [e["kind"] for e in meta["events"]] == ["status", "log", "status"]


def test_export_and_delete(db, tmp_path, capsys):
    out = tmp_path / "r1.parquet"
    assert dwlab(["runs", "export", "1", "-o", str(out)], db) == 0
    assert list(pd.read_parquet(out)["V"]) == [0.0, 10.0, 20.0]
    assert (tmp_path / "r1.parquet.json").exists()
    assert dwlab(["runs", "export", "1", "--format", "csv", "-o", str(tmp_path / "r1.csv")], db) == 0
    assert dwlab(["runs", "delete", "1", "--yes"], db) == 0
    capsys.readouterr()
    assert dwlab(["runs", "show", "1"], db) == 1
    assert "no run with id 1" in capsys.readouterr().err
    assert dwlab(["runs", "import", str(out)], db) == 0
    assert "-> run 3" in capsys.readouterr().out


def test_replay_prints_the_points(db, capsys):
    assert dwlab(["replay", "1", "--speed", "max"], db) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "I [mA]\tV [uV]"
    assert [ln for ln in lines if not ln.startswith("#")][1:] == ["0.0\t0.0", "1.0\t10.0", "2.0\t20.0"]
    assert "# log: done" in lines and lines[-1] == "# finished"


def test_bad_speed_is_refused(db, capsys):
    assert dwlab(["replay", "1", "--speed", "0"], db) == 2
    assert capsys.readouterr().err.strip() == (
        "dwlab replay: argument --speed: speed must be a number > 0 or 'max', got '0' "
        "(see dwlab replay --help)")
