"""RunWriter: appends one run's points, events and images to the store, with a bounded loss.

Why points are stored as float64 blocks, one row per flush (table ``point_batch``):

- Append must cost about a microsecond. ``append`` checks the keys (one set comparison in C)
  and adds ``[t, *values]`` to one ``array('d')`` with ``fromlist``, which converts and
  type-checks in C and is all-or-nothing: a bad value raises and leaves the buffer as it was.
- A background thread writes the buffer every ``FLUSH_PERIOD`` (0.1 s) as ONE row holding the
  raw little-endian bytes, so a flush is one INSERT however many points it carries; the
  database does per-row work 10 times a second instead of 100 000 times.
- Reading 1 M points is one SELECT of ~10 blobs, a join and ``np.frombuffer``: a DataFrame in
  tens of ms. One row per point (or long format) would cost seconds on both sides.
- Each flush is one transaction (batch rows + events + the run's point count), committed in
  order, so whatever survives a SIGKILL is exactly a prefix of what was appended, missing at
  most the last flush period plus one write (< 0.25 s). SQLite runs in WAL mode with
  synchronous=NORMAL: a killed process loses nothing committed (only an OS crash could lose
  the last commits), and readers in other processes see each batch as soon as it commits.
The cost: a point's values are opaque to SQL (no ``WHERE V > 3`` in the database); analysis
goes through the DataFrame anyway.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import socket
import sys
import threading
import time
import traceback
import weakref
import zlib
from operator import itemgetter
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from dwlab.db.errors import StoreError
from dwlab.db.models import END_STATUSES, Event, Image, PointBatch, Run

FLUSH_PERIOD = 0.1  # s between background flushes; the SIGKILL loss bound is 0.25 s
HEARTBEAT_PERIOD = 5.0  # s; an idle run still proves it is alive this often
GIVE_UP_AFTER = 10.0  # s of failed flushes before append refuses (nothing is dropped)
MAX_BATCH_POINTS = 65536  # points per stored block, so no single blob grows unbounded
IMAGE_ZLIB_LEVEL = 3


def utcnow() -> datetime:
    """UTC as a naive datetime: what every DateTime column of the store holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def image_path(image_dir: Path, sha256: str) -> Path:
    return image_dir / sha256[:2] / f"{sha256}.zlib"


class RunWriter:
    """Writes one run. Get one from ``RunStore.begin_run``; end it with ``finish``.

    ``t`` of every point is seconds since the run began on the run's clock (wall time by
    default, virtual time in simulation). Usable as a context manager: an exception inside
    the block finishes the run "failed" with the traceback, Ctrl-C finishes it "aborted".
    """

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        columns: Sequence[str],
        now: Callable[[], float],
        image_dir: Path | None = None,
    ):
        self.run_id = run_id
        self.columns = tuple(columns)
        self._engine = engine
        self._image_dir = image_dir
        self._names = frozenset(self.columns)
        self._values = _getter(self.columns)
        self._width = 1 + len(self.columns)
        self._now = now
        self._t0 = now()
        self._buf = array("d")
        self._events: list[dict[str, Any]] = []
        self._saved = 0  # points committed
        self._status = "running"
        self._refusal: StoreError | None = None  # set: append raises it
        self._failing_since: float | None = None
        self._last_write = time.monotonic()
        self._lock = threading.Lock()  # one flush (or image insert) at a time
        self._count_lock = threading.Lock()  # keeps saved + buffered a true point count
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"dwlab-run{run_id}-writer", daemon=True
        )
        self._thread.start()
        _live_writers.add(self)

    # --- the hot path -------------------------------------------------------------------
    def append(self, point: dict[str, float]) -> None:
        """Buffer one point (keys: exactly the run's columns; values: real numbers)."""
        if self._refusal is not None:
            raise self._refusal
        if point.keys() != self._names:
            raise self._key_error(point)
        try:
            self._buf.fromlist([self._now() - self._t0, *self._values(point)])
        except TypeError:
            raise self._type_error(point) from None

    def extend(self, points: list[dict[str, float]]) -> None:
        """Buffer several points; stops at the first bad one (those before it are kept)."""
        for point in points:
            self.append(point)

    def append_rows(self, rows: np.ndarray) -> None:
        """Buffer a block of points at once: shape (n, 1 + len(columns)), t (s since the run
        began) first, then the columns in order. For instrument buffers and for import."""
        if self._refusal is not None:
            raise self._refusal
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != self._width:
            raise StoreError(
                f"rows must have shape (n, {self._width}) (t + {list(self.columns)}), "
                f"got {rows.shape}"
            )
        if not np.issubdtype(rows.dtype, np.number) or np.iscomplexobj(rows):
            raise StoreError(f"rows must hold real numbers, got dtype {rows.dtype}")
        self._buf.frombytes(np.ascontiguousarray(rows, dtype="=f8").tobytes())

    def elapsed(self) -> float:
        """Seconds since the run began on the run's clock (the ``t`` the next point gets)."""
        return self._now() - self._t0

    # --- events and images ---------------------------------------------------------------
    def event(self, kind: str, message: str, t: float | None = None) -> None:
        """Record a log line or state change (at ``t``, default now); written with the next
        flush, placed after the points appended so far."""
        if self._status != "running":
            raise StoreError(f"run {self.run_id} is {self._status}; cannot add an event")
        if not isinstance(kind, str) or not kind:
            raise StoreError(f"event kind must be a non-empty string, got {kind!r}")
        with self._count_lock:
            seq = self._saved + len(self._buf) // self._width
        self._events.append(
            {"run_id": self.run_id, "t": self.elapsed() if t is None else float(t), "seq": seq,
             "kind": kind, "message": str(message)}
        )

    def add_image(self, array_: np.ndarray, t: float, meta: dict | None = None) -> int:
        """Store a Kerr image at ``t`` (s since the run began), zlib-compressed, in the
        database or, when the store has an image directory, as a file named by its hash."""
        if self._status != "running":
            raise StoreError(f"run {self.run_id} is {self._status}; cannot add an image")
        a = np.ascontiguousarray(array_)
        if a.dtype.kind not in "biuf":
            raise StoreError(f"image must be a numeric array, got dtype {a.dtype}")
        packed = zlib.compress(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(),
                               IMAGE_ZLIB_LEVEL)
        digest = hashlib.sha256(packed).hexdigest()
        if self._image_dir is not None:
            path = image_path(self._image_dir, digest)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(packed)
                os.replace(tmp, path)
        row = {
            "run_id": self.run_id, "t": float(t), "dtype": a.dtype.newbyteorder("<").str,
            "shape": list(a.shape), "meta": dict(meta or {}), "sha256": digest,
            "data": None if self._image_dir is not None else packed,
        }
        with self._lock, self._transaction() as conn:
            return conn.execute(insert(Image).returning(Image.id), row).scalar_one()

    # --- flushing and finishing ----------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered now; raises StoreError (keeping the buffer) on failure."""
        with self._lock:
            self._flush_locked()
        if self._refusal is not None and self._status == "running":
            self._refusal = None  # the database took the backlog: appends may go on

    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """Flush everything, then record how the run ended. Refuses a second finish."""
        if status not in END_STATUSES:
            raise StoreError(f"status must be one of {END_STATUSES}, got {status!r}")
        if self._status != "running":
            raise StoreError(f"run {self.run_id} is already {self._status}")
        self.event("status", status + (f": {error}" if error else ""))
        with self._lock:
            self._flush_locked()
            with self._transaction() as conn:
                conn.execute(
                    update(Run).where(Run.id == self.run_id).values(
                        status=status, error=error, ended_at=utcnow(), heartbeat=utcnow()
                    )
                )
            self._status = status
            self._refusal = StoreError(
                f"run {self.run_id} is {status}; cannot append to a finished run"
            )
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        _live_writers.discard(self)

    @property
    def status(self) -> str:
        return self._status

    @property
    def n_saved(self) -> int:
        """Points committed to the database so far."""
        return self._saved

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._status == "running":
            if exc_type is None:
                self.finish("finished")
            elif issubclass(exc_type, KeyboardInterrupt):
                self.finish("aborted", "interrupted by the user (Ctrl-C)")
            else:
                self.finish("failed", "".join(traceback.format_exception(exc_type, exc, tb)))
        return False

    # --- internals -------------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_PERIOD):
            idle = not self._buf and not self._events
            if idle and time.monotonic() - self._last_write < HEARTBEAT_PERIOD:
                continue
            try:
                with self._lock:
                    if self._status == "running":
                        self._flush_locked()
                self._failing_since = None
            except StoreError as e:
                self._failing_since = self._failing_since or time.monotonic()
                if time.monotonic() - self._failing_since > GIVE_UP_AFTER:
                    self._refusal = StoreError(
                        f"run {self.run_id}: points have not been saved for "
                        f"{GIVE_UP_AFTER:.0f} s ({e}); they are kept in memory, call "
                        "flush() to retry or finish() to end the run"
                    )

    def _flush_locked(self) -> None:
        n = len(self._buf)
        n_events = len(self._events)
        block = self._buf[:n]
        if sys.byteorder != "little":
            block.byteswap()
        points = n // self._width
        batches = [
            {
                "run_id": self.run_id,
                "first_seq": self._saved + start,
                "n": min(MAX_BATCH_POINTS, points - start),
                "data": block[start * self._width:(start + MAX_BATCH_POINTS) * self._width]
                .tobytes(),
            }
            for start in range(0, points, MAX_BATCH_POINTS)
        ]
        with self._transaction() as conn:
            if batches:
                conn.execute(insert(PointBatch), batches)
            if n_events:
                conn.execute(insert(Event), self._events[:n_events])
            conn.execute(
                update(Run).where(Run.id == self.run_id).values(
                    n_points=self._saved + points, heartbeat=utcnow()
                )
            )
        with self._count_lock:
            del self._buf[:n]  # appends that came during the write stay, in order
            self._saved += points
        del self._events[:n_events]
        self._last_write = time.monotonic()

    def _transaction(self):
        return write_transaction(self._engine, f"run {self.run_id}")

    def _key_error(self, point: dict) -> StoreError:
        unknown = sorted(set(point) - self._names, key=str)
        missing = [c for c in self.columns if c not in point]
        parts = []
        if unknown:
            parts.append(f"unknown column(s) {unknown}")
        if missing:
            parts.append(f"missing column(s) {missing}")
        return StoreError(
            f"run {self.run_id}: point has {' and '.join(parts)}; "
            f"the run's columns are {list(self.columns)}"
        )

    def _type_error(self, point: dict) -> StoreError:
        for name in self.columns:
            value = point[name]
            try:
                array("d", [value])
            except TypeError:
                return StoreError(
                    f"run {self.run_id}: column {name!r} got {value!r} "
                    f"({type(value).__name__}); values must be real numbers"
                )
        return StoreError(f"run {self.run_id}: clock returned a non-number")


@contextmanager
def write_transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """``engine.begin()`` whose database errors become a StoreError naming what failed."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as e:
        raise StoreError(
            f"{what}: cannot write to the database: {getattr(e, 'orig', None) or e}"
        ) from e


def _getter(columns: tuple[str, ...]) -> Callable[[dict], tuple]:
    if len(columns) == 1:
        (name,) = columns
        return lambda point: (point[name],)
    return itemgetter(*columns)


def writer_identity() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


_live_writers: weakref.WeakSet[RunWriter] = weakref.WeakSet()


@atexit.register
def _interrupt_unfinished() -> None:
    """A script that exits without finishing its run still saves every point."""
    for writer in list(_live_writers):
        try:
            writer.finish("interrupted", "the process exited without finishing the run")
        except StoreError:
            pass
