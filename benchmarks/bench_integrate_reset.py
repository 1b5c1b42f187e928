"""Wall time of the default 8-cycle integrate-reset run in process, on the virtual clock.

Run on purpose (not a test): ``.venv/bin/python benchmarks/bench_integrate_reset.py [repeats]``.
It runs the procedure through the Runner into a fresh SQLite store, as
``dwlab run integrate-reset --setup sim`` does, and prints the best and median wall time of
``repeats`` runs (default 3): the figure to compare before and after a change to the simulated
instruments (the stricter 6221/2182A must stay within 2x). It also runs each train in one piece
(no 0.1 s segments), interleaved with the segmented runs, and prints the ratio of the
medians: what reading each train while it runs costs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from dwlab.db.store import RunStore
from dwlab.lab import Lab
from dwlab.procedures import pulse_train
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
    segment_s = pulse_train.SEGMENT_S
    walls: dict[str, list[float]] = {"segmented": [], "whole trains": []}
    with tempfile.TemporaryDirectory() as folder:
        for k in range(repeats):
            for j, (name, seconds) in enumerate((("segmented", segment_s), ("whole trains", 1e9))):
                pulse_train.SEGMENT_S = seconds
                walls[name].append(one_run(Path(folder), 2 * k + j))
    pulse_train.SEGMENT_S = segment_s
    for name, w in walls.items():
        print(f"integrate-reset, 8 cycles, in process, {name}: best {min(w):.2f} s, "
              f"median {statistics.median(w):.2f} s over {repeats} runs")
    ratio = statistics.median(walls["segmented"]) / statistics.median(walls["whole trains"])
    print(f"segmented / whole trains: {ratio:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
