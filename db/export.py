"""Export a run to CSV or Parquet with its metadata as JSON beside it, and import it back.

``run12.csv`` gets ``run12.csv.json`` (named after the data file, so ``run12.csv`` and
``run12.parquet`` never share one): the run's metadata (procedure, parameters, sample, setup,
instrument snapshot, status...), the units, and its events with the point each followed. The
CSV header carries units too (``V_AHE [uV]``) for a reader that never opens the JSON; a Parquet
file also embeds the JSON in its schema metadata (key ``dwlab``). A run with Kerr images gets
``run12.csv.images.npz`` too (one array each; their times and metadata are in the JSON). Importing
creates a new run with the same points (and times), events, images, metadata, start/end times
and final status. An export never overwrites a file unless asked to (``overwrite``), and
checks every file it would write before writing any.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dwlab.db.store import RunStore, StoreError
from dwlab.errors import BadInput

FORMAT = "dwlab-run-export"
FORMAT_VERSION = 1
PARQUET_KEY = b"dwlab"


class ExportTargetError(BadInput, StoreError):
    """An export file that may not be written (it exists, or its folder does not)."""


def metadata_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def images_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".images.npz")


def check_targets(path: str | Path, overwrite: bool = False) -> None:
    """Refuse an export whose folder is missing, or whose files exist (unless ``overwrite``)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportTargetError(f"export to {path}: the folder {path.parent} does not exist")
    existing = [p for p in (path, metadata_path(path), images_path(path)) if p.exists()]
    if existing and not overwrite:
        raise ExportTargetError(f"export to {path}: {', '.join(map(str, existing))} already "
                                f"exist(s); choose another name or add --force to overwrite")


def export_run(store: RunStore, run_id: int, path: str | Path, fmt: str,
               overwrite: bool = False) -> list[Path]:
    """Write a run as ``fmt`` (csv or parquet) with its metadata; the files written."""
    check_targets(path, overwrite)
    path = (to_csv if fmt == "csv" else to_parquet)(store, run_id, path, overwrite=overwrite)
    return [p for p in (path, metadata_path(path), images_path(path)) if p.exists()]


def _export_images(store: RunStore, run_id: int, path: Path) -> dict | None:
    """Write the run's images beside the export; their index for the metadata (None: none)."""
    images = store.images(run_id)
    if not images:
        return None
    np.savez_compressed(images_path(path),
                        **{f"image_{i:05d}": array for i, (_, array, _) in enumerate(images)})
    return {"file": images_path(path).name,
            "index": [{"t": t, "meta": meta} for t, _, meta in images]}


def export_metadata(store: RunStore, run_id: int) -> dict:
    record = store.get_run(run_id)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "run": record.metadata(),
        "units": {"t": "s", **record.columns},
        "events": [list(e) for e in store.events_with_seq(run_id)],  # seq, t, kind, message
    }


def to_csv(store: RunStore, run_id: int, path: str | Path, overwrite: bool = False) -> Path:
    """Write the run's points as CSV (header ``name [unit]``) and its metadata as JSON."""
    path = Path(path)
    check_targets(path, overwrite)
    df = store.dataframe(run_id)
    units = df.attrs["units"]
    df.rename(columns=lambda c: f"{c} [{units[c]}]" if units[c] else c).to_csv(path, index=False)
    _write_json(metadata_path(path), _with_images(export_metadata(store, run_id), store,
                                                  run_id, path))
    return path


def to_parquet(store: RunStore, run_id: int, path: str | Path, overwrite: bool = False) -> Path:
    """Write the run's points as Parquet (metadata embedded too) and its metadata as JSON."""
    path = Path(path)
    check_targets(path, overwrite)
    meta = _with_images(export_metadata(store, run_id), store, run_id, path)
    df = store.dataframe(run_id)
    df.attrs = {}
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), PARQUET_KEY: json.dumps(meta).encode()}
    )
    pq.write_table(table, path)
    _write_json(metadata_path(path), meta)
    return path


def import_run(store: RunStore, path: str | Path) -> int:
    """Load an export (``.csv`` or ``.parquet`` with its metadata) as a new run; its id.

    Everything is read and checked first (``dwlab.db.importer``); a bad file raises
    ``BadExport`` with one line naming the file and the fault, and nothing is written. The
    run then goes in as one transaction: no half-imported run, whatever happens."""
    from dwlab.db.importer import read_export, write_export

    return write_export(store, read_export(Path(path)))


def _with_images(meta: dict, store: RunStore, run_id: int, path: Path) -> dict:
    images = _export_images(store, run_id, path)
    return {**meta, "images": images} if images else meta


def _write_json(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


