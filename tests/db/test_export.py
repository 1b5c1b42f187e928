"""Export to CSV and Parquet with JSON metadata, and import back into a store unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dwlab.clock import VirtualClock
from dwlab.db.export import images_path, import_run, metadata_path, to_csv, to_parquet
from dwlab.db.store import RunStore, StoreError


@pytest.fixture
def run(sqlite_url):
    store = RunStore(sqlite_url)
    clock = VirtualClock()
    w = store.begin_run(
        "integrate_reset", {"I_pulse": "mA", "V_AHE": "uV", "n": ""},
        {"J": 1.2e11, "pulses": [1, 2]}, procedure_version="2.0", sample="SAF-07",
        operator="ana", device="bar3", setup={"magnet": "kepco"},
        snapshot={"k2182": {"idn": "KEITHLEY,2182A"}}, clock=clock,
    )
    rng = np.random.default_rng(7)
    for k in range(200):
        clock.sleep(0.01)
        w.append({"I_pulse": 3.5, "V_AHE": float(rng.normal(0, 1) * 1e-3 + 1 / 3), "n": k})
        if k == 120:
            w.event("log", "threshold reached")
    w.finish("failed", "2182A overload")
    return store, w.run_id


@pytest.mark.parametrize("exporter", [to_csv, to_parquet])
def test_export_then_import_gives_the_same_run(run, tmp_path, exporter):
    store, run_id = run
    path = exporter(store, run_id, tmp_path / f"run.{'csv' if exporter is to_csv else 'parquet'}")
    meta = json.loads(metadata_path(path).read_text())
    assert meta["units"] == {"t": "s", "I_pulse": "mA", "V_AHE": "uV", "n": ""}
    assert meta["run"]["snapshot"] == {"k2182": {"idn": "KEITHLEY,2182A"}}
    new_id = import_run(store, path)
    assert new_id != run_id
    pd.testing.assert_frame_equal(store.dataframe(new_id), store.dataframe(run_id), check_exact=True)
    a, b = store.get_run(run_id), store.get_run(new_id)
    for field in ("procedure", "procedure_version", "parameters", "columns", "status", "error",
                  "sample", "device", "operator", "setup", "snapshot", "n_points", "started_at",
                  "ended_at"):
        assert getattr(a, field) == getattr(b, field), field
    ev = {(k, m): s for s, t, k, m in store.events_with_seq(new_id)}
    assert ev[("log", "threshold reached")] == 121


def test_csv_header_carries_units(run, tmp_path):
    store, run_id = run
    path = to_csv(store, run_id, tmp_path / "run.csv")
    assert path.read_text().splitlines()[0] == "t [s],I_pulse [mA],V_AHE [uV],n"


def test_parquet_embeds_its_metadata(run, tmp_path):
    store, run_id = run
    path = to_parquet(store, run_id, tmp_path / "run.parquet")
    metadata_path(path).unlink()
    assert len(store.dataframe(import_run(store, path))) == 200


def test_bad_exports_are_refused(run, tmp_path):
    store, run_id = run
    path = to_csv(store, run_id, tmp_path / "run.csv")
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace("3.5", "three")
    path.write_text("\n".join(lines))
    with pytest.raises(StoreError, match="not a number"):
        import_run(store, path)
    metadata_path(path).unlink()
    with pytest.raises(StoreError, match="metadata file .*run.csv.json is missing"):
        import_run(store, path)
    assert [r.id for r in store.list_runs()] == [run_id]  # no half-imported run


@pytest.mark.parametrize("exporter", [to_csv, to_parquet])
def test_kerr_images_travel_with_the_export(sqlite_url, tmp_path, exporter):
    store = RunStore(sqlite_url)
    w = store.begin_run("kerr-integrate", {"x_um": "µm"}, {})
    frames = [np.random.default_rng(i).integers(0, 4000, (40, 200), dtype=np.uint16)
              for i in range(3)]
    for i, frame in enumerate(frames):
        w.append({"x_um": float(i)})
        w.add_image(frame, t=0.1 * i, meta={"kind": "differential", "step": i})
    w.finish()
    path = exporter(store, w.run_id, tmp_path / f"k.{'csv' if exporter is to_csv else 'parquet'}")
    assert images_path(path).exists()
    new_id = import_run(store, path)
    back = store.images(new_id)
    assert [meta for _, _, meta in back] == [{"kind": "differential", "step": i} for i in range(3)]
    assert [t for t, _, _ in back] == pytest.approx([0.0, 0.1, 0.2])
    for (_, got, _), want in zip(back, frames):
        assert got.dtype == np.uint16 and np.array_equal(got, want)
    images_path(path).unlink()
    with pytest.raises(StoreError, match=r"images file .*k\.(csv|parquet)\.images\.npz is missing \(3 Kerr images\)"):
        import_run(store, path)
