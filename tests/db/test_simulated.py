"""A run from the simulated lab stays marked simulated: in the store, its listing, exports
and their import, and its report figure."""

from __future__ import annotations

import json

import pytest

from dwlab.db.export import import_run, metadata_path, to_csv
from dwlab.db.store import RunStore, SimulatedOnRealSampleError


def _run(store, sample, simulated):
    w = store.begin_run("iv", {"V": "uV"}, {}, sample=sample, simulated=simulated)
    w.append({"V": 1.0})
    w.finish()
    return w.run_id


def test_the_mark_travels_through_list_export_and_import(store_url, tmp_path):
    store = RunStore(store_url)
    real, sim = _run(store, "S1", False), _run(store, "sim-chip", True)
    assert [r.simulated for r in store.list_runs()] == [False, True]
    assert store.get_run(sim).simulated and not store.get_run(real).simulated
    path = to_csv(store, sim, tmp_path / "a.csv")
    assert json.loads(metadata_path(path).read_text())["run"]["simulated"] is True
    assert store.get_run(import_run(store, path)).simulated


def test_simulated_runs_are_refused_under_a_real_samples_name_unless_forced(store_url):
    store = RunStore(store_url)
    _run(store, "S1", False)
    with pytest.raises(SimulatedOnRealSampleError, match="sample 'S1' has real runs"):
        _run(store, "S1", True)
    assert len(store.list_runs()) == 1  # nothing was begun
    forced = store.begin_run("iv", {"V": "uV"}, {}, sample="S1", simulated=True, force=True)
    forced.finish()
    assert store.get_run(forced.run_id).simulated
    _run(store, "S1", False)  # real runs may always join a sample


def test_a_simulated_runs_figure_is_stamped(tmp_path):
    from dwlab import api

    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    with api.open_lab("sim") as lab:
        result = api.run(lab, "hysteresis", store=store, loop="minor", n_loops=1)
    fig = api.figure(store, result.run_id)
    assert "SIMULATED DATA" in [t.get_text() for t in fig.texts]
    # the stamp covers no axis, tick or label: the layout keeps a band free for it
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    text = next(t for t in fig.texts if t.get_text() == "SIMULATED DATA")
    box = text.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_tightbbox(renderer)), ax.get_title()
