"""Live plot speed with a million points: frames per second and event-loop latency while
points stream in, for a time series (integrate-reset's phases) and a field sweep (hysteresis
loops, branches coloured), as the console draws them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--points 1000000]
        [--seconds 10] [--rate 20000]

Each case preloads ``--points`` points, then a producer thread feeds ``--rate`` points/s
through the same RunBridge a Runner feeds (dicts, in batches of 100) for ``--seconds``.
Measured: frames painted per second (the plot's own paint events), and the gaps between
ticks of a 10 ms QTimer (the event loop's latency as an Abort click would see it): median,
p95, max. Targets: >= 30 fps and p95 gap < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from dwlab.gui.bridge import RunBridge  # noqa: E402
from dwlab.gui.live_plot import LivePlot  # noqa: E402
from dwlab.gui.workers import favour_gui_thread  # noqa: E402
from dwlab.listener import RunInfo  # noqa: E402
from dwlab.procedures.plot_view import CYCLES, LOOPS  # noqa: E402

BATCH = 100


def time_series(n: int, start: int = 0) -> tuple[dict, np.ndarray]:
    """integrate-reset-like cycles: 10 read-only, 20 write, 200 reset points each."""
    i = np.arange(start, start + n)
    k = i % 230
    phase = np.where(k < 10, 0, np.where(k < 30, 1, 2))
    v = np.where(phase == 0, -75.0, np.where(phase == 1, -75 - 2.2 * (k - 10),
                                               -120 + 45 * (1 - np.exp(-(k - 30) / 35.0))))
    v = v + np.random.default_rng(start).normal(0, 0.3, n)
    columns = {"t_s": "s", "cycle": "", "phase": "", "V_uV": "µV"}
    return columns, np.column_stack([1000 + i * 1e-3, i // 230, phase, v])


def field_sweep(n: int, start: int = 0, per_branch: int = 100_000) -> tuple[dict, np.ndarray]:
    """Major loops: Hz swept down and up over ±2500 Oe, V_AHE switching at ±600 Oe."""
    i = np.arange(start, start + n)
    position = i % per_branch
    branch = np.where((i // per_branch) % 2 == 0, -1, 1)
    hz = np.where(branch < 0, 2500 - 5000 * position / per_branch,
                  -2500 + 5000 * position / per_branch)
    v = np.where(branch > 0, np.where(hz > 600, -75.0, -120.0),
                 np.where(hz > -600, -75.0, -120.0))
    v = v + np.random.default_rng(start).normal(0, 0.3, n)
    columns = {"t_s": "s", "Hz_Oe": "Oe", "V_uV": "µV", "branch": "", "loop": ""}
    return columns, np.column_stack([1000 + i * 1e-3, hz, v, branch, i // (2 * per_branch)])


def measure(app, name, make, view, procedure, points, seconds, rate) -> dict:
    plot = LivePlot()
    plot.resize(1200, 700)
    plot.show()
    bridge = RunBridge()
    bridge.points_ready.connect(lambda: plot.add_points(bridge.take_points()))
    columns, preload = make(points)
    bridge.on_start(RunInfo(procedure, {}, columns, run_id=1))
    plot.begin(RunInfo(procedure, {}, columns, run_id=1), view)
    plot.add_points(preload)
    plot.redraw()
    app.processEvents()

    stop = threading.Event()

    def produce():
        n, started = points, time.perf_counter()
        while not stop.is_set():
            due = int((time.perf_counter() - started) * rate)
            while n - points < due:
                _, rows = make(BATCH, n)
                bridge.on_points([dict(zip(columns, row)) for row in rows.tolist()])
                n += BATCH
            time.sleep(0.002)

    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    paint_s, draw_s = [], []
    paint, draw = plot.plot.paintEvent, plot._draw

    def counted(event):
        t = time.perf_counter()
        paint(event)
        paint_s.append(time.perf_counter() - t)

    def timed_draw():
        t = time.perf_counter()
        draw()
        draw_s.append(time.perf_counter() - t)

    plot.plot.paintEvent = counted
    plot._draw = timed_draw
    producer = threading.Thread(target=produce, daemon=True)
    count0 = plot.point_count
    producer.start()
    timer.start()
    started = time.perf_counter()
    last[0] = started
    while time.perf_counter() - started < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    stop.set()
    producer.join()
    timer.stop()
    gaps_ms = np.array(gaps[1:]) * 1e3
    result = {"case": name, "points": plot.point_count, "streamed": plot.point_count - count0,
              "fps": len(paint_s) / elapsed,
              "draw_ms": 1e3 * float(np.median(draw_s)) if draw_s else np.nan,
              "paint_ms": 1e3 * float(np.median(paint_s)) if paint_s else np.nan, "gap_median_ms": float(np.median(gaps_ms)),
              "gap_p95_ms": float(np.percentile(gaps_ms, 95)), "gap_max_ms": float(gaps_ms.max())}
    bridge.points_ready.disconnect()
    del plot.plot.paintEvent, plot._draw  # no cycles left for a later garbage collection
    plot.close()
    plot.deleteLater()
    app.processEvents()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20_000, help="points/s streamed")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    favour_gui_thread()  # as the console does
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name, make, view, procedure in (("time series", time_series, CYCLES, "integrate-reset"),
                                        ("field sweep", field_sweep, LOOPS, "hysteresis")):
        r = measure(app, name, make, view, procedure, args.points, args.seconds, args.rate)
        verdict = "OK" if r["fps"] >= 30 and r["gap_p95_ms"] < 50 else "MISSED"
        print(f"{r['case']:12s} {r['points']:>9,} points (+{r['streamed']:,} streamed): "
              f"{r['fps']:5.1f} fps; 10 ms timer gap median {r['gap_median_ms']:.1f} ms, "
              f"p95 {r['gap_p95_ms']:.1f} ms, max {r['gap_max_ms']:.1f} ms; per frame: "
              f"decimate {r['draw_ms']:.1f} ms, paint {r['paint_ms']:.1f} ms (medians)  "
              f"[{verdict}: >= 30 fps, p95 < 50 ms]", flush=True)


if __name__ == "__main__":
    main()
