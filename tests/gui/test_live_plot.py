"""The plot's axes per procedure, its growing table, and the bridge's batching across threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dwlab.gui.bridge import RunBridge
from dwlab.gui.live_plot import POINT_NUMBER, LivePlot, PointTable, natural_axes
from dwlab.listener import RunInfo


@pytest.mark.parametrize("procedure, columns, expected", [
    ("hysteresis", ["t_s", "Hz_Oe", "V_uV", "branch"], ("Hz_Oe", "V_uV")),
    ("loop-shift", ["t_s", "Hz_Oe", "V_uV", "I_mA"], ("Hz_Oe", "V_uV")),
    # Hz is a setting here, not the sweep: time is the natural x
    ("integrate-reset", ["t_s", "cycle", "pulse", "phase", "V_uV", "Hz_Oe"], ("t_s", "V_uV")),
    ("return-velocity", ["t_s", "V_uV", "Hz_Oe", "run"], ("t_s", "V_uV")),
    ("other", ["pulse", "V_uV"], ("pulse", "V_uV")),
    ("other", ["a", "b"], ("a", "b")),
])
def test_natural_axes(procedure, columns, expected):
    assert natural_axes(procedure, columns) == expected


def test_point_table_grows_and_keeps_order():
    table = PointTable(["t_s", "V_uV"])
    for start in range(0, 5000, 700):
        table.extend([{"t_s": i, "V_uV": -i} for i in range(start, min(start + 700, 5000))])
    assert table.n == 5000
    np.testing.assert_array_equal(table.column("t_s"), np.arange(5000))
    np.testing.assert_array_equal(table.column("V_uV"), -np.arange(5000))


def test_plot_takes_100k_points_and_drops_markers(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.begin(RunInfo("integrate-reset", {}, {"t_s": "s", "V_uV": "µV"}, run_id=3))
    t = np.arange(100_000) * 1e-3
    for chunk in np.array_split(t, 100):
        plot.add_points([{"t_s": v, "V_uV": np.sin(v)} for v in chunk])
    plot.redraw()
    assert len(plot.curve.xData) == len(plot.curve.yData) == 100_000 and plot.curve.opts["symbol"] is None
    assert plot.plot.getAxis("left").labelText == "V_AHE (µV)"
    assert plot.plot.getAxis("bottom").labelText == "time (s)"
    plot.x_choice.setCurrentText(POINT_NUMBER)
    x = plot.curve.xData
    np.testing.assert_array_equal(x, np.arange(100_000))


def test_bridge_batches_points_from_a_worker_thread(qtbot):
    bridge = RunBridge()
    signals, finished = [], []
    bridge.points_ready.connect(lambda: signals.append(True))
    bridge.finished.connect(lambda s, e: finished.append(s))

    def worker():
        bridge.on_start(RunInfo("x", {}, {"i": ""}))
        for i in range(1000):
            bridge.on_points([{"i": i}])
        bridge.on_finish("finished", None)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()  # the GUI thread has not run: everything is still queued
    qtbot.waitUntil(lambda: finished == ["finished"])
    assert len(signals) == 1  # one pending signal for 1000 calls
    assert [p["i"] for p in bridge.take_points()] == list(range(1000))


def test_a_loop_against_hz_is_drawn_point_for_point(qtbot):
    """Hz goes up and comes back: clip-to-view and downsampling (which assume x only grows)
    must be off, or the loop is drawn as slanted lines between far-apart points."""
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    plot.begin(RunInfo("hysteresis", {}, {"Hz_Oe": "Oe", "V_uV": "µV", "branch": ""}, run_id=1))
    up = np.linspace(-2500, 0, 3000)
    hz = np.r_[up, up[::-1]]
    v = np.where(np.r_[up > -550, up[::-1] > -1750], -75.0, -120.0)
    plot.add_points([{"Hz_Oe": h, "V_uV": x, "branch": 1 if i < 3000 else -1}
                     for i, (h, x) in enumerate(zip(hz, v))])
    plot.redraw()
    plot.plot.setXRange(-1900, -1600)  # zoom on the up-switch: nothing may be clipped away
    shown_x, shown_y = plot.curve.getData()
    assert len(shown_x) == len(hz)
    np.testing.assert_array_equal(shown_y, v)

    plot.begin(RunInfo("integrate-reset", {}, {"t_s": "s", "V_uV": "µV"}, run_id=2))
    plot.add_points([{"t_s": t, "V_uV": 0.0} for t in np.linspace(0, 10, 50_000)])
    plot.redraw()
    assert plot.curve.opts["clipToView"] and plot.curve.opts["autoDownsample"]  # time: fast path
