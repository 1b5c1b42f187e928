"""How long the command line takes to answer ``--help``: targets 0.3 s for ``dwlab --help`` and
0.6 s for ``dwlab run PROCEDURE --help``.

Each command runs REPEATS times in a fresh interpreter (``python -m dwlab.cli``, as the
``dwlab`` script does); the script prints the median wall time and the median CPU time (user +
system) of the child, and the load average, since on a shared machine the wall time measures
the neighbours too. Also prints which heavy packages each command imported.

    .venv/bin/python benchmarks/bench_cli_startup.py [REPEATS]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "dwlab --help": (["--help"], 0.3),
    "dwlab run hysteresis --help": (["run", "hysteresis", "--help"], 0.6),
    "dwlab run integrate-reset --help": (["run", "integrate-reset", "--help"], 0.6),
}
HEAVY = ("pandas", "matplotlib", "scipy", "sqlalchemy", "pymeasure", "PyQt6", "numba")


def once(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run of the command line in a new interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dwlab.cli", *argv], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imported(argv: list[str]) -> list[str]:
    """The heavy packages a command imports (from ``-X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "dwlab.cli", *argv],
                          capture_output=True, text=True, check=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    return [name for name in HEAVY if name in names]


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"{repeats} runs each; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'command':36s} {'wall s':>8s} {'cpu s':>8s} {'target':>7s}  heavy imports")
    for name, (argv, target) in COMMANDS.items():
        once(argv)  # warm the file cache
        runs = [once(argv) for _ in range(repeats)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        mark = "ok" if wall <= target else "SLOW"
        print(f"{name:36s} {wall:8.3f} {cpu:8.3f} {target:7.1f}  "
              f"{', '.join(imported(argv)) or '-'}  {mark}")


if __name__ == "__main__":
    main()
