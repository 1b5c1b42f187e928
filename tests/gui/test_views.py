"""The paper-style views as the operator sees them: cycles overlaid with phase colours and
V_rest/V_fire lines (Fig 3e/f), loops with branch colours (Fig 2d), the Kerr differential image
beside V_AHE during kerr-integrate and browsable afterwards; screenshots under tmp_path."""

from __future__ import annotations

import numpy as np

from .conftest import RUN_TIMEOUT_MS, choose

ENDED = ("finished", "aborted", "failed")


def run_to_end(qtbot, window, name, **values):
    choose(window, name, **values)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.status in ENDED, timeout=3 * RUN_TIMEOUT_MS)
    assert window.status == "finished", window.status_label.text()


def test_cycle_overlay_with_phase_colours_and_levels(qtbot, window, store, tmp_path):
    run_to_end(qtbot, window, "integrate-reset", cycles=3, baseline_pulses=5, write_pulses=15,
               reset_reads=60)
    window.plot.set_axes(x="t_in_cycle_s")
    window.plot.redraw()
    assert window.plot.plot.getAxis("bottom").labelText == "time in cycle (s)"
    x, _ = window.plot.data()
    df = store.dataframe(store.list_runs()[0].id)
    assert np.isclose(x.min(), 0) and x.max() < np.ptp(df["t_s"]) / 2  # cycles overlaid
    assert set(window.plot.drawn()) == {0, 1, 2} and len(window.plot._levels) == 2
    window.grab().save(str(tmp_path / "integrate_reset_cycle_overlay.png"))


def test_kerr_image_beside_the_plot_live_and_in_the_runs_tab(qtbot, window, store, tmp_path):
    run_to_end(qtbot, window, "kerr-integrate", steps=3, pulses_per_step=2)
    qtbot.waitUntil(lambda: len(window.kerr.images) > 0, timeout=RUN_TIMEOUT_MS)
    assert window.kerr.isVisible()
    assert "differential" in window.kerr.caption.text()
    window.grab().save(str(tmp_path / "kerr_integrate_live.png"))
    run_id = store.list_runs()[0].id
    window.kerr.set_images([])
    window.tabs.setCurrentWidget(window.browser)
    qtbot.waitUntil(lambda: run_id in window.browser.run_ids(), timeout=RUN_TIMEOUT_MS)
    window.browser.select_run(run_id)
    qtbot.waitUntil(lambda: len(window.kerr.images) == len(store.images(run_id)),
                    timeout=RUN_TIMEOUT_MS)
    window.kerr.slider.setValue(0)
    assert "image 1/" in window.kerr.caption.text()
    window.grab().save(str(tmp_path / "kerr_images_in_runs_tab.png"))
