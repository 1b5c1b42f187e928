"""The plot's axes from the procedure's view, its growing table, the min/max decimation, and
the bridge's batching across threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dwlab.gui.bridge import RunBridge
from dwlab.gui.decimate import Envelope, bin_width
from dwlab.gui.live_plot import POINT_NUMBER, LivePlot, PointTable, natural_axes
from dwlab.listener import RunInfo
from dwlab.procedures import registry
from dwlab.procedures.plot_view import CYCLES, LOOPS, PlotView


@pytest.mark.parametrize("procedure, expected", [
    ("hysteresis", ("Hz_Oe", "V_uV")),
    ("loop-shift", ("Hz_Oe", "V_uV")),
    ("integrate-reset", ("t_s", "V_uV")),  # Hz is a setting here, not the sweep: time
    ("return-velocity", ("t_s", "V_uV")),
    ("kerr-integrate", ("t_s", "V_uV")),
])
def test_natural_axes_come_from_the_procedures_own_view(procedure, expected):
    cls = registry.procedure_class(procedure)
    assert natural_axes(cls.PLOT_VIEW, list(cls.COLUMNS)) == expected
    assert cls.PLOT_VIEW.columns_needed() <= set(cls.COLUMNS)


@pytest.mark.parametrize("columns, expected", [
    (["pulse", "V_uV"], ("pulse", "V_uV")), (["a", "b"], ("a", "b"))])
def test_natural_axes_without_a_view(columns, expected):
    assert natural_axes(PlotView(), columns) == expected


def test_point_table_grows_keeps_order_and_counts_time_from_the_first_point():
    table = PointTable(["t_s", "V_uV"])
    for start in range(0, 5000, 700):
        table.extend([{"t_s": 1000 + i, "V_uV": -i} for i in range(start, min(start + 700, 5000))])
    assert table.n == 5000
    np.testing.assert_array_equal(table.column("t_s"), np.arange(5000))
    np.testing.assert_array_equal(table.column("V_uV"), -np.arange(5000))


def test_point_table_numbers_segments_and_overlays_cycles_across_batches():
    table = PointTable(["t_s", "cycle", "phase", "V_uV"], ("cycle", "phase"), "cycle")
    rows = [{"t_s": 10 + i, "cycle": i // 6, "phase": (i % 6) // 3, "V_uV": 0} for i in range(18)]
    for start in range(0, 18, 4):  # batch edges fall inside cycles and phases
        table.extend(rows[start:start + 4])
    np.testing.assert_array_equal(table.segments, np.repeat(np.arange(6), 3))
    np.testing.assert_array_equal(table.column("t_in_cycle_s"), np.tile(np.arange(6), 3))


def _summarised(x, y, seg, width, stops=None):
    env = Envelope()
    for stop in stops or (len(x),):
        env.track(x[:stop], y[:stop])
        env.summarise(x[:stop], y[:stop], seg[:stop], width)
    return env


def test_envelope_keeps_every_extreme_and_is_bounded_by_the_pixel_width():
    rng = np.random.default_rng(1)
    n = 200_000
    x, y, seg = np.arange(n, dtype=float), rng.normal(size=n), np.zeros(n)
    y[123_457] = 50.0  # one spike must survive the decimation
    width = bin_width(n, 500)
    env = _summarised(x, y, seg, width, stops=(777, 50_000, 50_001, n))  # last record redone
    drawn = env.draw(x, y, seg, np.ones(env.count, bool), (0, n), 500)
    assert not drawn.raw and len(drawn.x) <= 4 * 501  # a bar is half a pixel to a pixel
    assert drawn.y.max() == 50.0 and drawn.y.min() == y.min()
    fresh = _summarised(x, y, seg, width)
    for name in ("first", "bin", "ymin", "ymax"):  # incremental == all at once
        np.testing.assert_array_equal(getattr(fresh, name), getattr(env, name))
    assert bin_width(n * 1.5, 500, current=width) == width  # a growing run keeps its bins
    assert bin_width(n * 3, 500, current=width) == 4 * width  # 0.85 pixels per bin


def test_envelope_bars_alternate_so_the_joins_between_columns_stay_short():
    x = np.arange(100_000, dtype=float)
    y, seg = np.where(x % 2 == 0, 0.0, 1.0), np.zeros_like(x)  # every column spans 0..1
    env = _summarised(x, y, seg, bin_width(len(x), 300))
    drawn = env.draw(x, y, seg, np.ones(env.count, bool), (0, len(x)), 300)
    joins = np.abs(np.diff(drawn.y))[1::2]  # from the end of one bar to the next one's start
    assert drawn.connect[:-1].all() and np.all(joins == 0)


def test_envelope_draws_point_for_point_when_zoomed_in():
    x = np.linspace(0, 1, 100_000)
    y, seg = np.sin(40 * x), np.zeros_like(x)
    env = _summarised(x, y, seg, bin_width(0.001, 800))
    drawn = env.draw(x, y, seg, np.ones(env.count, bool), (0.5, 0.501), 800)
    inside = (x >= 0.5) & (x <= 0.501)
    assert set(x[inside]) <= set(drawn.x)  # every point in view, no decimation
    assert drawn.connect[:-1].all()


def test_plot_takes_a_million_points_and_draws_a_few_thousand(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.resize(800, 500)
    plot.show()
    plot.begin(RunInfo("integrate-reset", {}, {"t_s": "s", "V_uV": "µV"}, run_id=3))
    t = np.arange(1_000_000) * 1e-3
    for chunk in np.array_split(t, 20):
        plot.add_points([{"t_s": 500 + v, "V_uV": np.sin(v)} for v in chunk])
    plot.redraw()
    (x, y), = plot.drawn().values()
    assert 100 < len(x) <= 4 * 800 and not len(plot._markers[None].data)
    assert y.max() == pytest.approx(1, abs=1e-6) and x.min() < 2  # from the run start, not 500
    assert plot.plot.getAxis("left").labelText == "V_AHE (µV)"
    assert plot.plot.getAxis("bottom").labelText == "time from run start (s)"
    assert [plot.x_choice.itemText(i) for i in range(plot.x_choice.count())] == [
        "time from run start (s)", "V_AHE (µV)", "point number"]
    plot.set_axes(x=POINT_NUMBER)
    np.testing.assert_array_equal(plot.data()[0], np.arange(1_000_000))


def test_a_mouse_zoom_is_undone_by_the_next_run_and_follow_latest_moves(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.resize(800, 500)
    plot.show()
    info = RunInfo("integrate-reset", {}, {"t_s": "s", "V_uV": "µV"}, run_id=1)
    plot.begin(info)
    plot.add_points([{"t_s": t, "V_uV": 1.0} for t in range(1000)])
    plot.redraw()
    plot.plot.getViewBox().setXRange(-500, -400)  # as a mouse zoom does: auto-range off
    assert not plot.plot.getViewBox().autoRangeEnabled()[0]
    plot.begin(RunInfo("integrate-reset", {}, {"t_s": "s", "V_uV": "µV"}, run_id=2))
    plot.add_points([{"t_s": 5000 + t, "V_uV": 2.0} for t in range(1000)])
    plot.redraw()
    assert plot.plot.getViewBox().autoRangeEnabled()[0]
    plot.follow.setChecked(True)
    plot.follow_points.setValue(100)
    plot.redraw()
    (x, _), = plot.drawn().values()
    assert x.min() >= 899 and x.max() == 999


def test_phases_get_their_own_colours_and_the_levels_their_lines(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.begin(RunInfo("integrate-reset", {}, {"t_s": "s", "cycle": "", "phase": "",
                                               "V_uV": "µV"}, run_id=1), CYCLES)
    plot.add_points([{"t_s": i, "cycle": i // 30, "phase": (i % 30) // 10, "V_uV": i % 30}
                     for i in range(300)])
    plot.redraw()
    drawn = plot.drawn()
    assert set(drawn) == {0, 1, 2}
    assert set(drawn[1][1]) == set(range(10, 20))  # the write phase only
    assert [plot._curves[k].opts["pen"].color().name() for k in (0, 1, 2)] == [
        CYCLES.groups[k].colour for k in (0, 1, 2)]
    plot.show_levels({"V_rest_uV": 1.5, "V_fire_uV": 28.0, "other": 3})
    assert sorted(line.value() for line in plot._levels) == [1.5, 28.0]


def test_a_loop_against_hz_keeps_its_branches_apart(qtbot):
    """Hz goes up and comes back: each branch decimated on its own, never joined across."""
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    plot.begin(RunInfo("hysteresis", {}, {"Hz_Oe": "Oe", "V_uV": "µV", "branch": ""}, run_id=1),
               LOOPS)
    up = np.linspace(-2500, 0, 30_000)
    hz = np.r_[up, up[::-1]]
    v = np.where(np.r_[up > -550, up[::-1] > -1750], -75.0, -120.0)
    plot.add_points([{"Hz_Oe": h, "V_uV": x, "branch": 1 if i < 30_000 else -1}
                     for i, (h, x) in enumerate(zip(hz, v))])
    plot.redraw()
    drawn = plot.drawn()
    assert set(drawn) == {1, -1} and all(len(x) < 4 * 600 for x, _ in drawn.values())
    up_x, up_y = drawn[1]
    assert up_y[up_x < -600].max() == -120 and up_y[up_x > -500].min() == -75
    plot.plot.getViewBox().setXRange(-1770, -1730, padding=0)  # zoom: point for point
    plot._zoomed()
    plot.redraw()
    down_x, down_y = plot.drawn()[-1]
    inside = (hz[30_000:] >= -1770) & (hz[30_000:] <= -1730)
    assert set(hz[30_000:][inside]) <= set(down_x)
    assert set(down_y) == {-75.0, -120.0}  # the down-switch at -1750 Oe, seen sharp


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
    np.testing.assert_array_equal(bridge.take_points()[:, 0], np.arange(1000))


def test_each_return_velocity_curve_is_labelled_by_its_hz_across_frames(qtbot):
    """label_by: one label per run of the return-velocity field, at its last point, found
    frame by frame from the new rows only (a group may span several frames)."""
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.begin(RunInfo("return-velocity", {}, {"t_s": "s", "V_uV": "µV", "Hz_Oe": "Oe",
                                               "run": ""}, run_id=1),
               registry.procedure_class("return-velocity").PLOT_VIEW)
    rows = [{"t_s": i % 100, "V_uV": float(i), "Hz_Oe": -1000.0 - 10 * (i // 100), "run": i // 100}
            for i in range(350)]
    for start in (0, 40, 100, 130, 299, 300, 301):  # frame edges in and at group edges
        plot.add_points(rows[start:start + {0: 40, 40: 60, 100: 30, 130: 169}.get(start, 1)])
        plot.redraw()
    plot.add_points(rows[302:])
    plot.redraw()
    texts = [(label.toPlainText(), label.pos().x()) for label in plot._labels]
    assert texts == [("Hz = -1000 Oe", 99), ("Hz = -1010 Oe", 99), ("Hz = -1020 Oe", 99),
                     ("Hz = -1030 Oe", 49)]
