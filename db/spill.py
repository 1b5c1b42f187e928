"""The spill file: where a run's points go when the database does not take them in time, and
``recover`` that loads them back (``dwlab runs recover FILE``).

A RunWriter opens its spill file only when needed: when the database has not committed a point
within ``JOURNAL_AFTER`` of its append (a slow or locked database), or when a write fails (full
disk, lost server). From then on every point, event and the run's end that the database has not
confirmed is appended here first, so a SIGKILL still loses at most the bound, and a database
that never comes back loses nothing. When the database does take everything by the end of the
run, the file is deleted.

Format (one file per run, append-only, a torn last record is ignored):

- line 1: ``DWLABSPILL 1``; line 2: JSON header (run id, database, host, pid, start, columns);
- then records, each a JSON line: ``{"points": first_seq, "n": n, "crc": crc32}`` followed by
  exactly ``n * (1 + len(columns)) * 8`` bytes of little-endian float64 (the same rows as
  ``point_batch``); ``{"event": {eid, t, seq, kind, message}}``; ``{"image": {t, dtype, shape,
  meta, sha256, n, crc}}`` followed by the ``n`` bytes of the zlib-compressed image (a Kerr
  image the database did not take); ``{"finish": {status, error, ended_at}}``.

Records may repeat what the database already holds (the database may commit after the journal
was written): ``recover`` takes only points from the run's ``n_points`` on and events from its
event count on, and images not already stored (by hash and time), so loading twice changes
nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from sqlalchemy import func, insert, select, update

from dwlab.db.errors import StoreError
from dwlab.db.models import END_STATUSES, Event, Image, PointBatch, Run

MAGIC = b"DWLABSPILL 1\n"
MAX_RECORD_POINTS = 1 << 22  # points per spilled block the reader accepts (a sane bound)
MAX_HEADER = 1 << 20  # bytes of one JSON line the reader accepts
MAX_IMAGE_BYTES = 1 << 28  # compressed bytes of one spilled image the reader accepts
IMAGE_KEYS = ("t", "dtype", "shape", "meta", "sha256")


def default_spill_dir() -> Path:
    """$DWLAB_SPILL_DIR, else ``spill`` in the user's state directory: local to the machine."""
    if os.environ.get("DWLAB_SPILL_DIR"):
        return Path(os.environ["DWLAB_SPILL_DIR"])
    return Path(platformdirs.user_state_dir("dwlab")) / "spill"


def spill_name(run_id: int, host: str, pid: int) -> str:
    return f"run{run_id}-{host}-{pid}.dwspill"


class SpillWriter:
    """The spill file of one live run, opened (and locked, so ``recover`` knows a writer is
    alive) on first use. Every write goes straight to the kernel: a SIGKILL keeps it."""

    def __init__(self, directory: Path, header: dict[str, Any]):
        self.path = Path(directory) / spill_name(header["run_id"], header["writer_host"],
                                                 header["writer_pid"])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._write(MAGIC + _line(header))
        except OSError:
            os.close(self._fd)
            raise

    def points(self, first_seq: int, n: int, data: bytes) -> None:
        self._write(_line({"points": first_seq, "n": n, "crc": zlib.crc32(data)}) + data)

    def events(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._write(b"".join(_line({"event": e}) for e in events))

    def image(self, row: dict[str, Any], packed: bytes) -> None:
        """One image: its row (t, dtype, shape, meta, sha256) and its zlib-compressed bytes."""
        self._write(_line({"image": {**{k: row[k] for k in IMAGE_KEYS}, "n": len(packed),
                                     "crc": zlib.crc32(packed)}}) + packed)

    def finish(self, status: str, error: str | None, ended_at: datetime) -> None:
        self._write(_line({"finish": {"status": status, "error": error,
                                      "ended_at": ended_at.isoformat()}}))

    def close(self, delete: bool = False) -> None:
        if delete:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]


def _line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


# --- reading and recovering ------------------------------------------------------------------
@dataclass
class Spill:
    """What a spill file holds. ``torn``: the last record was cut short (a killed writer)."""

    path: Path
    header: dict[str, Any]
    blocks: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (first_seq, rows)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)  # eid -> event
    images: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)  # (row, zlib data)
    finish: dict[str, Any] | None = None
    torn: bool = False


def read_spill(path: str | Path) -> Spill:
    """Parse a spill file, checking every record; a bad file raises one-line StoreError."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _parse(path, f)
    except OSError as e:
        raise StoreError(f"cannot read spill file {path}: {e.strerror or e}") from None


def _parse(path: Path, f) -> Spill:
    if f.read(len(MAGIC)) != MAGIC:
        raise StoreError(f"{path} is not a dwlab spill file (it must start with {MAGIC!r})")
    header = _json_line(path, f)
    if header is None or not _valid_header(header):
        raise StoreError(f"{path}: its header is missing or damaged")
    spill = Spill(path, header)
    width = 1 + len(header["columns"])
    while True:
        start = f.tell()
        try:
            record = _json_line(path, f)
        except StoreError:
            spill.torn = True  # a line cut short by a kill
            break
        if record is None:
            break
        if "points" in record:
            first, n = record.get("points"), record.get("n")
            if not (_is_int(first) and _is_int(n) and first >= 0 and 0 < n <= MAX_RECORD_POINTS
                    and _is_int(record.get("crc"))):
                raise StoreError(f"{path}: bad points record at byte {start}: {record}")
            data = f.read(n * width * 8)
            if len(data) < n * width * 8:
                spill.torn = True
                break
            if zlib.crc32(data) != record["crc"]:
                raise StoreError(f"{path}: points {first}..{first + n - 1} at byte {start} are "
                                 "corrupt (checksum mismatch)")
            spill.blocks.append((first, np.frombuffer(data, dtype="<f8").reshape(n, width)))
        elif "event" in record:
            e = record["event"]
            if not (isinstance(e, dict) and _is_int(e.get("eid")) and _is_int(e.get("seq"))
                    and isinstance(e.get("t"), (int, float)) and isinstance(e.get("kind"), str)
                    and isinstance(e.get("message"), str) and e["eid"] >= 0 and e["seq"] >= 0):
                raise StoreError(f"{path}: bad event record at byte {start}")
            spill.events[e["eid"]] = e
        elif "image" in record:
            img = record["image"]
            n = img.get("n") if isinstance(img, dict) else None
            if not (_is_int(n) and 0 < n <= MAX_IMAGE_BYTES and _valid_image(img)):
                raise StoreError(f"{path}: bad image record at byte {start}")
            data = f.read(n)
            if len(data) < n:
                spill.torn = True
                break
            if zlib.crc32(data) != img["crc"] or hashlib.sha256(data).hexdigest() != img["sha256"]:
                raise StoreError(f"{path}: the image at byte {start} is corrupt (checksum "
                                 "mismatch)")
            spill.images.append(({k: img[k] for k in IMAGE_KEYS}, data))
        elif "finish" in record:
            fin = record["finish"]
            if not (isinstance(fin, dict) and fin.get("status") in END_STATUSES):
                raise StoreError(f"{path}: bad finish record at byte {start}")
            spill.finish = fin
        else:
            raise StoreError(f"{path}: unknown record at byte {start}")
    return spill


def _json_line(path: Path, f) -> dict | None:
    line = f.readline(MAX_HEADER)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise StoreError(f"{path}: a record is cut short")
    try:
        obj = json.loads(line)
    except ValueError:
        raise StoreError(f"{path}: a record is not valid JSON") from None
    if not isinstance(obj, dict):
        raise StoreError(f"{path}: a record is not a JSON object")
    return obj


def _valid_header(h: dict) -> bool:
    return (_is_int(h.get("run_id")) and isinstance(h.get("started_at"), str)
            and isinstance(h.get("writer_host"), str) and _is_int(h.get("writer_pid"))
            and isinstance(h.get("columns"), list) and len(h["columns"]) > 0
            and all(isinstance(c, str) for c in h["columns"]))


def _valid_image(img: dict) -> bool:
    return (isinstance(img.get("t"), (int, float)) and isinstance(img.get("dtype"), str)
            and isinstance(img.get("shape"), list) and all(_is_int(d) and d >= 0
                                                          for d in img["shape"])
            and isinstance(img.get("meta"), dict) and isinstance(img.get("sha256"), str)
            and _is_int(img.get("crc")))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _still_written(path: Path) -> bool:
    """True when a live writer holds the file's lock."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@dataclass(frozen=True)
class Recovered:
    run_id: int
    points: int
    events: int
    status: str
    torn: bool
    images: int = 0


def recover(store, path: str | Path) -> Recovered:
    """Load what a spill file holds beyond what the store has of its run, in one transaction,
    and record how the run ended (``interrupted`` when the writer died before its end)."""
    from dwlab.db.writer import MAX_BATCH_POINTS, image_path, utcnow, write_transaction

    path = Path(path)
    spill = read_spill(path)
    h = spill.header
    run_id = h["run_id"]
    if _still_written(path):
        raise StoreError(f"{path} is still being written by process {h['writer_pid']} on "
                         f"{h['writer_host']} (run {run_id} is live); recover it after it ends")
    record = store.get_run(run_id)
    mine = (record.started_at.replace(tzinfo=None).isoformat() == h["started_at"]
            and list(record.columns) == h["columns"])
    if not mine:
        raise StoreError(f"{path} belongs to run {run_id} of {h.get('database', '?')} started "
                         f"{h['started_at']}; run {run_id} in {store._where()} is another run")
    width = 1 + len(h["columns"])
    with write_transaction(store.engine, f"recover {path}") as conn:
        have = conn.scalar(select(Run.n_points).where(Run.id == run_id))
        n_events = conn.scalar(select(func.count()).select_from(Event).where(Event.run_id == run_id))
        rows = _points_from(path, spill.blocks, have, width)
        new_events = [spill.events[k] for k in sorted(spill.events) if k >= n_events]
        gap = [k for k in range(n_events, max(spill.events, default=-1) + 1)
               if k not in spill.events]
        if gap:
            raise StoreError(f"{path}: events {gap[0]}.. of run {run_id} are in neither the "
                             "database nor the spill file")
        n = len(rows)
        batches = [{"run_id": run_id, "first_seq": have + s, "n": len(rows[s:s + MAX_BATCH_POINTS]),
                    "data": np.ascontiguousarray(rows[s:s + MAX_BATCH_POINTS], "<f8").tobytes()}
                   for s in range(0, n, MAX_BATCH_POINTS)]
        if batches:
            conn.execute(insert(PointBatch), batches)
        new_images = [(row, data) for row, data in spill.images
                      if conn.scalar(select(func.count()).select_from(Image).where(
                          Image.run_id == run_id, Image.sha256 == row["sha256"],
                          Image.t == row["t"])) == 0]
        for row, data in new_images:
            stored = data
            if store.image_dir is not None:  # the store keeps images as files
                stored, target = None, image_path(store.image_dir, row["sha256"])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            conn.execute(insert(Image), {**row, "run_id": run_id, "data": stored})
        if new_events:
            conn.execute(insert(Event), [
                {"run_id": run_id, "t": float(e["t"]), "seq": e["seq"], "kind": e["kind"],
                 "message": e["message"]} for e in new_events])
        status = record.status
        values: dict[str, Any] = {"n_points": have + n}
        if spill.finish is not None:
            status = spill.finish["status"]
            values.update(status=status, error=spill.finish.get("error"),
                          ended_at=_naive(spill.finish.get("ended_at")) or utcnow())
        elif record.status == "running":  # its writer is gone (the lock is free)
            status = "interrupted"
            values.update(status=status, error="the writer stopped without finishing the run "
                          f"(crash or kill); points recovered from {path}")
        conn.execute(update(Run).where(Run.id == run_id).values(**values))
    return Recovered(run_id, n, len(new_events), status, spill.torn, len(new_images))


def _points_from(path: Path, blocks: list[tuple[int, np.ndarray]], have: int,
                 width: int) -> np.ndarray:
    """The spilled rows from seq ``have`` on, contiguous; raises if a stretch is missing."""
    parts, nxt = [], have
    for first, rows in sorted(blocks, key=lambda b: b[0]):
        end = first + len(rows)
        if end <= nxt:
            continue
        if first > nxt:
            raise StoreError(f"{path}: points {nxt}..{first - 1} are in neither the database "
                             "nor the spill file")
        parts.append(rows[nxt - first:])
        nxt = end
    return np.concatenate(parts) if parts else np.empty((0, width))


def _naive(iso: Any) -> datetime | None:
    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso).replace(tzinfo=None)
    except ValueError:
        return None
