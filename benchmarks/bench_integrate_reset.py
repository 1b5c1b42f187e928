"""Wall time of the default 8-cycle integrate-reset run in process, on the virtual clock.

Run on purpose (not a test): ``.venv/bin/python benchmarks/bench_integrate_reset.py [repeats]``.
It runs the procedure through the Runner into a fresh SQLite store, as
``dwlab run integrate-reset --setup sim`` does, and prints the best and median wall time of
``repeats`` runs (default 3): the figure to compare before and after a change to the simulated
instruments (the stricter 6221/2182A must stay within 2x).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from dwlab.db.store import RunStore
from dwlab.lab import Lab
from dwlab.procedures.integrate_reset import IntegrateReset
from dwlab.procedures.runner import Runner


def one_run(folder: Path, k: int) -> float:
    lab = Lab.open("sim")
    store = RunStore(f"sqlite:///{folder}/runs{k}.sqlite")
    t0 = time.perf_counter()
    outcome = Runner(lab, store).run(IntegrateReset())
    wall = time.perf_counter() - t0
    if outcome.status != "finished":
        raise SystemExit(f"integrate-reset did not finish: {outcome.error}")
    return wall


def main(repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as folder:
        walls = [one_run(Path(folder), k) for k in range(repeats)]
    print(f"integrate-reset, 8 cycles, in process: best {min(walls):.2f} s, "
          f"median {statistics.median(walls):.2f} s over {repeats} runs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
