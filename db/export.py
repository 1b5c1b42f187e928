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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import update

from dwlab.db.models import Run
from dwlab.db.store import RunStore, StoreError
from dwlab.db.writer import write_transaction
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
    """Load an export (``.csv`` or ``.parquet`` with its metadata) as a new run; its id."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no such export file: {path}")
    meta = _read_metadata(path)
    run = meta["run"]
    columns = dict(meta["units"])
    columns.pop("t")
    data = _read_points(path, ["t", *columns])
    writer = store.begin_run(
        run["procedure"], columns, run["parameters"],
        procedure_version=run["procedure_version"], sample=run["sample"],
        operator=run["operator"], setup=run["setup"], snapshot=run["snapshot"],
        device=run["device"], simulated=bool(run.get("simulated", False)),
    )
    try:
        _write_points_and_events(writer, data, meta["events"])
        _import_images(writer, path, meta.get("images"))
        writer.event("import", f"imported from {path} (run {run['id']} there)")
        writer.finish(run["status"], run["error"])
    except BaseException:
        if writer.status == "running":
            writer.finish("failed", "import failed")
        store.delete_run(writer.run_id)  # no half-imported run left behind
        raise
    with write_transaction(store.engine, f"import {path}") as conn:
        conn.execute(
            update(Run).where(Run.id == writer.run_id).values(
                started_at=_utc(run["started_at"]), ended_at=_utc(run["ended_at"])
            )
        )
    return writer.run_id


def _with_images(meta: dict, store: RunStore, run_id: int, path: Path) -> dict:
    images = _export_images(store, run_id, path)
    return {**meta, "images": images} if images else meta


def _import_images(writer, path: Path, images: dict | None) -> None:
    if not images:
        return
    npz = path.with_name(images["file"])
    if not npz.exists():
        raise StoreError(f"{path}: its images file {npz} is missing "
                         f"({len(images['index'])} Kerr images)")
    with np.load(npz) as arrays:
        for i, entry in enumerate(images["index"]):
            key = f"image_{i:05d}"
            if key not in arrays:
                raise StoreError(f"{npz}: image {i} of {len(images['index'])} is missing")
            writer.add_image(arrays[key], entry["t"], entry["meta"])


def _write_points_and_events(writer, data: np.ndarray, events: list) -> None:
    done = 0
    for seq, t, kind, message in events:
        if kind == "status":  # begin_run and finish record the run's own
            continue
        writer.append_rows(data[done:seq])
        done = max(done, seq)
        writer.event(kind, message, t=t)
    writer.append_rows(data[done:])


def _read_metadata(path: Path) -> dict:
    json_path = metadata_path(path)
    if json_path.exists():
        try:
            meta = json.loads(json_path.read_text())
        except json.JSONDecodeError as e:
            raise StoreError(f"{json_path} is not valid JSON: {e}") from e
    elif path.suffix == ".parquet" and PARQUET_KEY in (pq.read_schema(path).metadata or {}):
        meta = json.loads(pq.read_schema(path).metadata[PARQUET_KEY])
    else:
        raise StoreError(f"{path}: its metadata file {json_path} is missing")
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise StoreError(
            f"{json_path}: not a {FORMAT} version {FORMAT_VERSION} file "
            f"(format {meta.get('format')!r} version {meta.get('format_version')!r})"
        )
    return meta


def _read_points(path: Path, names: list[str]) -> np.ndarray:
    if path.suffix == ".csv":
        df = pd.read_csv(path)
        df.columns = [c.split(" [")[0] for c in df.columns]
    elif path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        raise StoreError(f"{path}: export must be .csv or .parquet, got {path.suffix!r}")
    if list(df.columns) != names:
        raise StoreError(f"{path}: columns {list(df.columns)} do not match its metadata {names}")
    try:
        return df.to_numpy(dtype=np.float64)
    except ValueError as e:
        raise StoreError(f"{path}: a value is not a number ({e})") from e


def _write_json(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def _utc(iso: str | None) -> datetime | None:
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(timezone.utc).replace(tzinfo=None)
