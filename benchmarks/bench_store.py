"""Run-store write and read speed, beside QCoDeS's DataSaver, PyMeasure's Worker + CSV
Recorder and raw sqlite3, all in the same run on the same 6-float points.

    .venv/bin/python benchmarks/bench_store.py [--points 100000] [--read-points 1000000]

- QCoDeS: one ``DataSaver.add_result`` per point, default write period.
- PyMeasure: a Procedure emitting each point, run by ``Worker`` whose Recorder writes the CSV.
- raw sqlite3: ``executemany`` of tuples in batches of 1000, WAL, synchronous=NORMAL.
- dwlab: ``RunWriter.append(dict)`` per point (0.25 s SIGKILL loss bound), timed from
  ``begin_run`` to ``finish`` (the final flush included).
Then 1 M points are read back into a DataFrame (best of 3). Targets: dwlab >= 0.5x raw sqlite3
and 1 M points -> DataFrame < 1 s.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = ["a", "b", "c", "d", "e", "f"]


def make_points(n: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, len(COLUMNS)))


def bench_dwlab(data: np.ndarray, tmp: Path) -> float:
    from dwlab.db.store import RunStore

    store = RunStore(f"sqlite:///{tmp / 'dwlab.sqlite'}")
    points = [dict(zip(COLUMNS, row)) for row in data.tolist()]
    t0 = time.perf_counter()
    w = store.begin_run("bench", {c: "V" for c in COLUMNS}, {})
    append = w.append
    for p in points:
        append(p)
    w.finish()
    elapsed = time.perf_counter() - t0
    assert store.get_run(w.run_id).n_points == len(data)
    store.close()
    return len(data) / elapsed


def bench_sqlite_raw(data: np.ndarray, tmp: Path) -> float:
    conn = sqlite3.connect(tmp / "raw.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE p (seq INTEGER PRIMARY KEY, {', '.join(c + ' REAL' for c in COLUMNS)})")
    rows = data.tolist()
    sql = f"INSERT INTO p ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    t0 = time.perf_counter()
    for start in range(0, len(rows), 1000):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[start:start + 1000])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(data) / elapsed


def bench_qcodes(data: np.ndarray, tmp: Path) -> float:
    import qcodes as qc
    from qcodes.dataset import (
        Measurement,
        initialise_or_create_database_at,
        load_or_create_experiment,
    )

    logging.getLogger("qcodes").setLevel(logging.WARNING)
    initialise_or_create_database_at(str(tmp / "qcodes.db"))
    exp = load_or_create_experiment("bench", sample_name="bench")
    meas = Measurement(exp=exp)
    for c in COLUMNS:
        meas.register_custom_parameter(c, unit="V")
    rows = data.tolist()
    t0 = time.perf_counter()
    with meas.run() as saver:
        for row in rows:
            saver.add_result(*zip(COLUMNS, row))
    elapsed = time.perf_counter() - t0
    del qc
    return len(data) / elapsed


def bench_pymeasure(data: np.ndarray, tmp: Path) -> float:
    from pymeasure.experiment import Procedure, Results, Worker

    points = [dict(zip(COLUMNS, row)) for row in data.tolist()]

    class Emit(Procedure):
        DATA_COLUMNS = COLUMNS

        def execute(self):
            for p in points:
                self.emit("results", p)

    logging.getLogger("pymeasure").setLevel(logging.WARNING)
    results = Results(Emit(), str(tmp / "pymeasure.csv"))
    worker = Worker(results)
    t0 = time.perf_counter()
    worker.start()
    worker.join(timeout=3600)  # PyMeasure's default timeout=0 would not wait at all
    elapsed = time.perf_counter() - t0
    with open(tmp / "pymeasure.csv") as f:
        assert sum(1 for line in f if not line.startswith("#")) == len(data) + 1  # + header
    return len(data) / elapsed


def bench_read(n: int, tmp: Path) -> float:
    from dwlab.db.store import RunStore

    store = RunStore(f"sqlite:///{tmp / 'read.sqlite'}")
    w = store.begin_run("bench", {c: "V" for c in COLUMNS}, {})
    rows = make_points(n)
    w.append_rows(np.column_stack([np.arange(n) * 1e-5, rows]))
    w.finish()
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        df = store.dataframe(w.run_id)
        best = min(best, time.perf_counter() - t0)
    assert len(df) == n and np.array_equal(df["f"].to_numpy(), rows[:, 5])
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--read-points", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    data = make_points(args.points)
    rates = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, bench in [
            ("raw sqlite3 executemany x1000", bench_sqlite_raw),
            ("dwlab RunWriter.append", bench_dwlab),
            ("PyMeasure Worker + Recorder", bench_pymeasure),
            ("QCoDeS DataSaver.add_result", bench_qcodes),
        ]:
            rates[name] = bench(data, tmp)
            print(f"  {name}: {rates[name]:,.0f} points/s", file=sys.stderr)
        read_s = bench_read(args.read_points, tmp)
    dw = rates["dwlab RunWriter.append"]
    print(f"\n{args.points:,} points of {len(COLUMNS)} floats, one process, this machine:\n")
    print(f"{'writer':34s} {'points/s':>12s} {'dwlab / it':>11s}")
    for name, rate in rates.items():
        print(f"{name:34s} {rate:12,.0f} {dw / rate:10.2f}x")
    raw = rates["raw sqlite3 executemany x1000"]
    print(f"\ndwlab / raw sqlite3 = {dw / raw:.2f} (target >= 0.5): "
          f"{'PASS' if dw >= 0.5 * raw else 'FAIL'}")
    print(f"read {args.read_points:,} points -> DataFrame: {read_s * 1e3:.0f} ms "
          f"(target < 1000 ms): {'PASS' if read_s < 1 else 'FAIL'}")
    return 0 if dw >= 0.5 * raw and read_s < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
