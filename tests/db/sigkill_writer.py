"""Helper process for test_sigkill: appends known points at a steady rate to a run and records,
after each burst, how many points it has appended and when (monotonic, system-wide clock).

The record goes through os.write to a file, so it reaches the kernel at once and survives the
SIGKILL that the test sends; usage: python sigkill_writer.py URL RECORD_FILE
"""

import os
import sys
import time

from dwlab.db.store import RunStore

BURST = 20  # points per burst; a burst every ~1 ms: ~10-20 k points/s


def value(k: int) -> float:
    return k * 0.5 - 3.0


def main(url: str, record: str) -> None:
    store = RunStore(url)
    writer = store.begin_run("sigkill_test", {"k": "", "x": "V"}, {})
    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, f"run {writer.run_id}\n".encode())
    k = 0
    while True:
        for _ in range(BURST):
            writer.append({"k": float(k), "x": value(k)})
            k += 1
        os.write(fd, f"{k} {time.monotonic()!r}\n".encode())
        time.sleep(0.001)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
