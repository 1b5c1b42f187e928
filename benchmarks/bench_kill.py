"""SIGKILL trials: a writer process appends numbered points at a set rate and is killed at a
random moment; what survives must be exactly a prefix of what it appended, missing at most the
last 0.25 s (the README's loss bound), on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/bench_kill.py [--trials 5] [--pg URL]
    eval "$(.ci/postgres.sh)"; .venv/bin/python benchmarks/bench_kill.py   # PostgreSQL too

Rates: 20 k and 500 k points/s, and the highest the writer sustains: ``append`` of one dict
per point as fast as the loop goes, and ``append_rows`` of 1000-row blocks as fast as it goes
(the writer's backpressure sets the pace). The writer records, after each burst, how many
points it has appended and when (``os.write``: it reaches the kernel at once and survives the
kill). Loss = kill time - the time the first missing point was handed to the store: for
``append_rows`` the record after its burst (one call, which adds its rows as it returns); for
``append``, one point per call, the record before its burst (an upper bound). A point is not
lost before it is handed over: while backpressure holds an append, the caller still has its
points (a procedure's instrument keeps its buffer) -- that wait is the "longest wait" column,
the longest gap between two records. Points the database had not taken but the
spill file holds are loaded with ``dwlab.db.spill.recover`` (``dwlab runs recover``), as a user
would after a crash; the table shows how many came from there.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

LOSS_BOUND = 0.25  # s
RATES = [("20 k/s", 20_000, "append"), ("500 k/s", 500_000, "append"),
         ("max, append", 0, "append"), ("max, append_rows", 0, "rows")]


# --- the writer process ---------------------------------------------------------------------
def writer(url: str, record: str, rate: float, via: str) -> None:
    from dwlab.db.store import RunStore

    w = RunStore(url).begin_run("bench_kill", {"k": "", "x": "V"}, {})
    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, f"run {w.run_id} {os.getpid()}\n".encode())
    burst = 1000 if rate == 0 else max(20, int(rate / 1000))
    append, k, start = w.append, 0, time.monotonic()
    block = np.empty((burst, 3))
    while True:
        if via == "rows":
            ks = np.arange(k, k + burst, dtype=float)
            block[:, 0], block[:, 1], block[:, 2] = 0.0, ks, ks * 0.5 - 3.0
            w.append_rows(block)
            k += burst
        else:
            for _ in range(burst):
                append({"k": float(k), "x": k * 0.5 - 3.0})
                k += 1
        os.write(fd, f"{k} {time.monotonic()!r}\n".encode())
        if rate:
            ahead = start + k / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


# --- the trials ------------------------------------------------------------------------------
def read_record(path: Path) -> tuple[int | None, int | None, list[tuple[int, float]]]:
    run_id = pid = None
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts[0] == "run":
            run_id, pid = int(parts[1]), int(parts[2])
        elif len(parts) == 2:
            rows.append((int(parts[0]), float(parts[1])))
    return run_id, pid, rows


def trial(url: str, tmp: Path, rate: float, via: str, rng: random.Random) -> dict:
    from dwlab.db.spill import recover, spill_name
    from dwlab.db.store import RunStore

    record = tmp / f"record-{uuid.uuid4().hex[:8]}.txt"
    proc = subprocess.Popen([sys.executable, __file__, "--child", url, str(record), str(rate),
                             via])
    try:
        deadline = time.monotonic() + 60
        while not (record.exists() and len(read_record(record)[2]) > 0):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the writer did not start")
            time.sleep(0.01)
        started = time.monotonic()
        time.sleep(rng.uniform(0.5, 2.0))
        t_kill = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    run_id, pid, rows = read_record(record)
    store = RunStore(url)
    in_db = store.get_run(run_id).n_points
    spill = store.spill_dir / spill_name(run_id, socket.gethostname(), pid)
    recovered = recover(store, spill) if spill.exists() else None
    from_spill = recovered.points if recovered else 0
    df = store.dataframe(run_id)
    saved = len(df)
    prefix = bool(np.array_equal(df["k"].to_numpy(), np.arange(saved))
                  and np.array_equal(df["x"].to_numpy(), np.arange(saved) * 0.5 - 3.0))
    loss = 0.0
    if rows[-1][0] > saved:
        if via == "rows":  # the first burst with a missing point: it went in as it returned
            handed = next(t for n, t in rows if n > saved)
        else:  # its points went in one by one after the record before it
            handed = max([started] + [t for n, t in rows if n <= saved])
        loss = max(0.0, t_kill - handed)
    waited = float(np.max(np.diff([t for _, t in rows]))) if len(rows) > 1 else 0.0
    appended = rows[-1][0]
    elapsed = rows[-1][1] - rows[0][1]
    store.close()
    return {"rate": (appended - rows[0][0]) / elapsed if elapsed > 0 else 0.0, "loss": loss,
            "prefix": prefix, "appended": appended, "waited": waited, "saved": saved,
            "in_db": in_db, "from_spill": from_spill, "torn": bool(recovered and recovered.torn)}


def postgres_schema(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_kill_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))

    def drop():
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()

    url = engine.url.update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5, help="kills per rate and database")
    ap.add_argument("--pg", default=os.environ.get("DWLAB_TEST_PG_URL"),
                    help="PostgreSQL URL (default $DWLAB_TEST_PG_URL; none: SQLite only)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["DWLAB_SPILL_DIR"] = str(tmp / "spill")
        databases = [("SQLite", f"sqlite:///{tmp / 'kill.sqlite'}", None)]
        if args.pg:
            databases.append(("PostgreSQL", *postgres_schema(args.pg)))
        else:
            print("(no PostgreSQL: pass --pg URL or set DWLAB_TEST_PG_URL)", file=sys.stderr)
        print(f"{args.trials} SIGKILLs per row; loss bound {LOSS_BOUND} s\n")
        print(f"{'database':11s} {'target':17s} {'achieved/s':>11s} {'max loss s':>10s} "
              f"{'prefix':>6s} {'points kept':>12s} {'from spill':>10s} {'longest wait s':>14s}")
        try:
            for db_name, url, _ in databases:
                for label, rate, via in RATES:
                    results = [trial(url, tmp, rate, via, rng) for _ in range(args.trials)]
                    loss = max(r["loss"] for r in results)
                    prefix = all(r["prefix"] for r in results)
                    good = prefix and loss <= LOSS_BOUND
                    ok &= good
                    print(f"{db_name:11s} {label:17s} "
                          f"{np.median([r['rate'] for r in results]):11,.0f} {loss:10.3f} "
                          f"{'yes' if prefix else 'NO':>6s} "
                          f"{sum(r['saved'] for r in results):12,d} "
                          f"{sum(r['from_spill'] for r in results):10,d} "
                          f"{max(r['waited'] for r in results):14.3f}"
                          f"{'' if good else '   FAIL'}", flush=True)
        finally:
            for _, _, drop in databases:
                if drop:
                    drop()
    print(f"\n{'PASS' if ok else 'FAIL'}: every kill kept an exact prefix, losing at most "
          f"{LOSS_BOUND} s" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        writer(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(main())
