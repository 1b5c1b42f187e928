"""Reading an export back (``dwlab runs import``): everything checked before anything is written.

An export is a file from someone else's disk, so nothing in it is trusted: ``read_export``
parses and checks the metadata (types, lengths, times, statuses), the points (columns, numbers,
finite and non-decreasing t), the events (seq whole, >= 0, non-decreasing, within the points;
finite t) and the Kerr images (each at most ``MAX_IMAGE_BYTES`` decompressed, read through a
capped stream, so a zip of zeros cannot take the memory), and raises ``BadExport``, one line
naming the file and the fault, at the first problem. ``write_export`` then inserts the run, its
points, events and images in ONE transaction: a run is imported whole or not at all.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import insert

from dwlab.db.errors import StoreError
from dwlab.db.models import END_STATUSES, Event, Image, PointBatch, Run
from dwlab.errors import BadInput

MAX_METADATA_BYTES = 64 << 20  # a metadata JSON file
MAX_IMAGE_BYTES = 64 << 20  # one Kerr image, decompressed (4096 x 4096 float32)
MAX_IMAGES_BYTES = 2 << 30  # all images of a run, decompressed
MAX_POINT_VALUES = 1 << 28  # points x columns (2 GB of float64)
TEXT_LIMITS = {"procedure": 200, "procedure_version": 100, "operator": 200, "sample": 200,
               "device": 200}  # the run table's column lengths
KIND_LIMIT = 50  # event.kind


class BadExport(BadInput, StoreError):
    """An export that cannot be imported (bad input: exit status 2); the message names the
    file and the fault."""


@dataclass
class Export:
    """A checked export, ready to insert."""

    path: Path
    run: dict[str, Any]  # procedure, procedure_version, parameters, status, error, operator,
    #                      sample, device, setup, snapshot, simulated, id (its id there)
    columns: dict[str, str]  # name -> unit, without t
    started_at: datetime  # naive UTC
    ended_at: datetime | None
    points: np.ndarray  # (n, 1 + len(columns)) float64
    events: list[tuple[int, float, str, str]]  # seq, t, kind, message
    images: list[tuple[float, np.ndarray, dict]] = field(default_factory=list)


def read_export(path: Path) -> Export:
    """Read and check everything of an export; BadExport (one line) at the first fault."""
    from dwlab.db.export import FORMAT, FORMAT_VERSION

    try:
        if not path.is_file():
            raise BadExport(f"no such export file: {path}")
        if path.suffix not in (".csv", ".parquet"):
            raise BadExport(f"{path}: an export is .csv or .parquet, got {path.suffix!r}")
        meta, where = _read_metadata(path)
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise BadExport(f"{where}: not a {FORMAT} version {FORMAT_VERSION} file (format "
                            f"{_short(meta.get('format'))} version "
                            f"{_short(meta.get('format_version'))})")
        run = _check_run(where, meta.get("run"))
        columns = _check_units(where, meta.get("units"))
        points = _read_points(path, ["t", *columns])
        events = _check_events(where, meta.get("events"), len(points))
        images = _read_images(path, where, meta.get("images"))
        started = _time(where, "run.started_at", run["started_at"], required=True)
        ended = _time(where, "run.ended_at", run["ended_at"], required=False)
        if ended is not None and ended < started:
            raise BadExport(f"{where}: run.ended_at {run['ended_at']} is before run.started_at "
                            f"{run['started_at']}")
        return Export(path, run, columns, started, ended, points, events, images)
    except BadExport:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError, MemoryError,
            EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError,
            pa.ArrowException) as e:  # what a malformed file makes the readers raise
        raise BadExport(f"{path}: cannot be read ({type(e).__name__}: "
                        f"{_short(str(e), 200)})") from None


def write_export(store, export: Export) -> int:
    """Insert a checked export as a new run, in one transaction; the new run's id."""
    from dwlab.db.store import _jsonable, _sample_and_device
    from dwlab.db.writer import MAX_BATCH_POINTS, write_transaction, writer_identity

    run, points = export.run, export.points
    if run["simulated"]:
        store.check_simulated_sample(run["sample"])
    host, pid = writer_identity()
    image_rows = [_image_row(store.image_dir, t, a, meta) for t, a, meta in export.images]
    last_t = float(points[-1, 0]) if len(points) else 0.0
    with write_transaction(store.engine, f"import {export.path}") as conn:
        sample_id, device_id = _sample_and_device(conn, run["sample"], run["device"])
        run_id = conn.execute(insert(Run).returning(Run.id), {
            "procedure": run["procedure"], "procedure_version": run["procedure_version"],
            "parameters": _jsonable(run["parameters"], "parameters"),
            "columns": [[n, u] for n, u in export.columns.items()], "status": run["status"],
            "started_at": export.started_at, "ended_at": export.ended_at,
            "operator": run["operator"], "sample_id": sample_id, "device_id": device_id,
            "setup": _jsonable(run["setup"], "setup"),
            "snapshot": _jsonable(run["snapshot"], "snapshot"),
            "software_version": run["software_version"], "error": run["error"],
            "n_points": len(points), "writer_host": host, "writer_pid": pid, "heartbeat": None,
            "simulated": run["simulated"],
        }).scalar_one()
        batches = [{"run_id": run_id, "first_seq": s, "n": len(points[s:s + MAX_BATCH_POINTS]),
                    "data": np.ascontiguousarray(points[s:s + MAX_BATCH_POINTS], "<f8").tobytes()}
                   for s in range(0, len(points), MAX_BATCH_POINTS)]
        if batches:
            conn.execute(insert(PointBatch), batches)
        events = [*export.events,
                  (len(points), last_t, "import",
                   f"imported from {export.path}" + (f" (run {run['id']} there)"
                                                     if run.get("id") is not None else ""))]
        conn.execute(insert(Event), [{"run_id": run_id, "seq": s, "t": t, "kind": k,
                                      "message": m} for s, t, k, m in events])
        for row in image_rows:
            conn.execute(insert(Image), {**row, "run_id": run_id})
    return run_id


def _image_row(image_dir: Path | None, t: float, a: np.ndarray, meta: dict) -> dict:
    """An image row like RunWriter.add_image makes (the file written now when the store keeps
    images as files: content-addressed, so a failed import leaves at most an unused file)."""
    import hashlib
    import os

    from dwlab.db.writer import IMAGE_ZLIB_LEVEL, image_path

    le = a.astype(a.dtype.newbyteorder("<"), copy=False)
    packed = zlib.compress(np.ascontiguousarray(le).tobytes(), IMAGE_ZLIB_LEVEL)
    digest = hashlib.sha256(packed).hexdigest()
    if image_dir is not None:
        target = image_path(image_dir, digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(packed)
            os.replace(tmp, target)
    return {"t": t, "dtype": le.dtype.str, "shape": list(a.shape), "meta": meta,
            "sha256": digest, "data": None if image_dir is not None else packed}


# --- metadata -------------------------------------------------------------------------------
def _read_metadata(path: Path) -> tuple[dict, Path]:
    from dwlab.db.export import PARQUET_KEY, metadata_path

    json_path = metadata_path(path)
    if json_path.exists():
        if json_path.stat().st_size > MAX_METADATA_BYTES:
            raise BadExport(f"{json_path}: {json_path.stat().st_size} bytes, more than the "
                            f"{MAX_METADATA_BYTES >> 20} MB a metadata file may have")
        text, where = json_path.read_bytes(), json_path
    elif path.suffix == ".parquet":
        stored = pq.read_schema(path).metadata or {}
        if PARQUET_KEY not in stored:
            raise BadExport(f"{path}: its metadata file {json_path} is missing and the Parquet "
                            "file holds none")
        text, where = stored[PARQUET_KEY], path
    else:
        raise BadExport(f"{path}: its metadata file {json_path} is missing")
    try:
        meta = json.loads(text)
    except RecursionError:
        raise BadExport(f"{where}: the JSON is nested too deeply") from None
    except ValueError as e:
        raise BadExport(f"{where} is not valid JSON: {_short(str(e), 120)}") from None
    if not isinstance(meta, dict):
        raise BadExport(f"{where}: the metadata must be a JSON object, got "
                        f"{type(meta).__name__}")
    return meta, where


def _check_run(where: Path, run: Any) -> dict:
    if not isinstance(run, dict):
        raise BadExport(f"{where}: 'run' must be an object, got {_short(run)}")
    out = dict(run)
    for key in ("procedure", "procedure_version", "operator", "sample", "device"):
        value = run.get(key, "" if key != "procedure" else None)
        if not isinstance(value, str) or (key == "procedure" and not value):
            raise BadExport(f"{where}: run.{key} must be {'a non-empty' if key == 'procedure' else 'a'}"
                            f" string, got {_short(value)}")
        _check_text(where, f"run.{key}", value, TEXT_LIMITS[key])
        out[key] = value
    if out["device"] and not out["sample"]:
        raise BadExport(f"{where}: run.device {out['device']!r} is given without its sample")
    for key in ("parameters", "setup", "snapshot"):
        value = run.get(key, {})
        if not isinstance(value, dict):
            raise BadExport(f"{where}: run.{key} must be an object, got {_short(value)}")
        try:
            json.dumps(value)
        except RecursionError:
            raise BadExport(f"{where}: run.{key} is nested too deeply") from None
        out[key] = value
    if run.get("status") not in END_STATUSES:
        raise BadExport(f"{where}: run.status must be one of {list(END_STATUSES)}, got "
                        f"{_short(run.get('status'))}")
    error = run.get("error")
    if error is not None and not isinstance(error, str):
        raise BadExport(f"{where}: run.error must be a string or null, got {_short(error)}")
    if error is not None:
        _check_text(where, "run.error", error, None)
    version = run.get("software_version", "")
    if not isinstance(version, str) or len(version) > 100:
        raise BadExport(f"{where}: run.software_version must be a string of at most 100 "
                        f"characters, got {_short(version)}")
    out["software_version"] = version
    if "started_at" not in run:
        raise BadExport(f"{where}: run.started_at is missing")
    out["started_at"], out["ended_at"] = run["started_at"], run.get("ended_at")
    simulated = run.get("simulated", False)
    if not isinstance(simulated, bool):
        raise BadExport(f"{where}: run.simulated must be true or false, got {_short(simulated)}")
    out["simulated"] = simulated
    rid = run.get("id")
    out["id"] = rid if isinstance(rid, int) and not isinstance(rid, bool) else None
    return out


def _check_units(where: Path, units: Any) -> dict[str, str]:
    if not isinstance(units, dict) or list(units)[:1] != ["t"]:
        raise BadExport(f"{where}: 'units' must be an object name -> unit starting with \"t\", "
                        f"got {_short(units)}")
    columns = {k: v for k, v in units.items() if k != "t"}
    if not columns:
        raise BadExport(f"{where}: 'units' names no column besides t")
    for name, unit in units.items():
        if not name or not isinstance(unit, str):
            raise BadExport(f"{where}: column {_short(name)}: name and unit must be strings, "
                            f"unit {_short(unit)}")
        _check_text(where, f"units[{name!r}]", unit, 200)
    return columns


def _check_events(where: Path, events: Any, n_points: int) -> list[tuple[int, float, str, str]]:
    if not isinstance(events, list):
        raise BadExport(f"{where}: 'events' must be a list of [seq, t, kind, message], got "
                        f"{_short(events)}")
    out, last = [], 0
    for i, e in enumerate(events):
        if not (isinstance(e, list) and len(e) == 4):
            raise BadExport(f"{where}: event {i} must be [seq, t, kind, message], got "
                            f"{_short(e)}")
        seq, t, kind, message = e
        if not (isinstance(seq, int) and not isinstance(seq, bool)) or seq < 0:
            raise BadExport(f"{where}: event {i}: seq must be a whole number >= 0 (the points "
                            f"before it), got {_short(seq)}")
        if seq < last:
            raise BadExport(f"{where}: event {i}: seq {seq} is before the previous event's "
                            f"{last}; events must be in order")
        if seq > n_points:
            raise BadExport(f"{where}: event {i}: seq {seq} is beyond the {n_points} points")
        if not _finite(t):
            raise BadExport(f"{where}: event {i}: t must be a finite number of seconds, got "
                            f"{_short(t)}")
        if not isinstance(kind, str) or not kind or not isinstance(message, str):
            raise BadExport(f"{where}: event {i}: kind and message must be strings (kind "
                            f"non-empty), got {_short(kind)}, {_short(message)}")
        _check_text(where, f"event {i} kind", kind, KIND_LIMIT)
        _check_text(where, f"event {i} message", message, None)
        out.append((seq, float(t), kind, message))
        last = seq
    return out


def _check_text(where: Path, what: str, value: str, limit: int | None) -> None:
    if limit is not None and len(value) > limit:
        raise BadExport(f"{where}: {what} has {len(value)} characters, at most {limit} allowed")
    if "\0" in value:
        raise BadExport(f"{where}: {what} contains a NUL character")


def _time(where: Path, what: str, value: Any, required: bool) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadExport(f"{where}: {what} must be an ISO 8601 time, got {_short(value)}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise BadExport(f"{where}: {what} {_short(value)} is not an ISO 8601 time "
                        "(like 2026-03-01T12:00:00+00:00)") from None
    if t.tzinfo is None:
        raise BadExport(f"{where}: {what} {value!r} has no time zone (exports give UTC "
                        "times with +00:00)")
    try:
        return t.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise BadExport(f"{where}: {what} {value!r} is out of range") from None


# --- points ---------------------------------------------------------------------------------
def _read_points(path: Path, names: list[str]) -> np.ndarray:
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df.columns = [c.split(" [")[0] for c in df.columns]
    else:
        parquet = pq.ParquetFile(path)
        values = parquet.metadata.num_rows * parquet.metadata.num_columns
        if values > MAX_POINT_VALUES:
            raise BadExport(f"{path}: {parquet.metadata.num_rows} rows x "
                            f"{parquet.metadata.num_columns} columns, more than the "
                            f"{MAX_POINT_VALUES} values an import may have")
        df = parquet.read().to_pandas()
    if list(df.columns) != names:
        raise BadExport(f"{path}: columns {_short(list(df.columns), 200)} do not match its "
                        f"metadata {names}")
    if df.size > MAX_POINT_VALUES:
        raise BadExport(f"{path}: {df.size} values, more than the {MAX_POINT_VALUES} an import "
                        "may have")
    data = np.empty(df.shape, dtype=np.float64)
    for j, name in enumerate(names):
        column = df[name]
        try:
            data[:, j] = pd.to_numeric(column, errors="raise") if column.dtype == object \
                else column.to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            bad = next((i for i, v in enumerate(column) if not _number_text(v)), None)
            raise BadExport(f"{path}: row {bad}, column {name!r}: {_short(column.iloc[bad])} "
                            "is not a number") from None
    t = data[:, 0]
    if not np.isfinite(t).all():
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise BadExport(f"{path}: row {bad}: t = {float(t[bad])} is not a finite time")
    if len(t) > 1 and (np.diff(t) < 0).any():
        bad = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise BadExport(f"{path}: row {bad}: t = {float(t[bad])!r} s goes back from "
                        f"{float(t[bad - 1])!r} s; "
                        "a run's times never decrease")
    return data


def _number_text(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


# --- images ---------------------------------------------------------------------------------
def _read_images(path: Path, where: Path, images: Any) -> list[tuple[float, np.ndarray, dict]]:
    if images is None:
        return []
    if not (isinstance(images, dict) and isinstance(images.get("file"), str)
            and isinstance(images.get("index"), list)):
        raise BadExport(f"{where}: 'images' must be {{\"file\": name, \"index\": [...]}}, got "
                        f"{_short(images)}")
    name, index = images["file"], images["index"]
    if Path(name).name != name or name in ("", ".", ".."):
        raise BadExport(f"{where}: images.file must be a file name beside the export, got "
                        f"{_short(name)}")
    for i, entry in enumerate(index):
        if not (isinstance(entry, dict) and _finite(entry.get("t"))
                and isinstance(entry.get("meta", {}), dict)):
            raise BadExport(f"{where}: images.index[{i}] must be {{\"t\": seconds, \"meta\": "
                            f"{{...}}}}, got {_short(entry)}")
    npz = path.with_name(name)
    if not npz.is_file():
        raise BadExport(f"{path}: its images file {npz} is missing ({len(index)} Kerr images)")
    out, total = [], 0
    with zipfile.ZipFile(npz) as archive:
        members = set(archive.namelist())
        for i, entry in enumerate(index):
            member = f"image_{i:05d}.npy"
            if member not in members:
                raise BadExport(f"{npz}: image {i} of {len(index)} is missing")
            a = _read_npy(npz, archive, member)
            total += a.nbytes
            if total > MAX_IMAGES_BYTES:
                raise BadExport(f"{npz}: the images come to more than "
                                f"{MAX_IMAGES_BYTES >> 30} GB decompressed")
            out.append((float(entry["t"]), a, dict(entry.get("meta", {}))))
    return out


def _read_npy(npz: Path, archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """One .npy member, never more than MAX_IMAGE_BYTES decompressed (whatever the zip's
    directory claims), numeric only (no pickled objects)."""
    info = archive.getinfo(member)
    if info.file_size > MAX_IMAGE_BYTES + 4096:
        raise BadExport(f"{npz}: {member} is {info.file_size} bytes decompressed, more than the "
                        f"{MAX_IMAGE_BYTES >> 20} MB an image may have")
    with archive.open(info) as f:
        raw = f.read(MAX_IMAGE_BYTES + 4097)
    if len(raw) > MAX_IMAGE_BYTES + 4096:
        raise BadExport(f"{npz}: {member} decompresses to more than "
                        f"{MAX_IMAGE_BYTES >> 20} MB")
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f".npy version {version} (1.0 and 2.0 are read)")
        shape, fortran, dtype = read_header(stream)
    except ValueError as e:
        raise BadExport(f"{npz}: {member} is not a .npy array ({_short(str(e), 120)})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise BadExport(f"{npz}: {member} holds {dtype}; images must be numbers")
    count = math.prod(shape)
    data = raw[stream.tell():]
    if count * dtype.itemsize != len(data):
        raise BadExport(f"{npz}: {member}: shape {shape} of {dtype} needs "
                        f"{count * dtype.itemsize} bytes, the file has {len(data)}")
    a = np.frombuffer(data, dtype=dtype)
    return a.reshape(shape, order="F" if fortran else "C")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
