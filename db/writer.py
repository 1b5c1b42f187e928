"""RunWriter: appends one run's points, events and images to the store, with a bounded loss.

Why points are stored as float64 blocks, one row per flush (table ``point_batch``):

- Append must cost about a microsecond. ``append`` checks the keys (one set comparison in C)
  and adds ``[t, *values]`` to one ``array('d')`` with ``fromlist``, which converts and
  type-checks in C and is all-or-nothing: a bad value raises and leaves the buffer as it was.
- A background thread writes the buffer every ``FLUSH_PERIOD`` (0.04 s) as ONE row holding the
  raw little-endian bytes, so a flush is one INSERT however many points it carries; the
  database does per-row work 25 times a second instead of 100 000 times.
- Reading 1 M points is one SELECT of ~10 blobs, a join and ``np.frombuffer``: a DataFrame in
  tens of ms. One row per point (or long format) would cost seconds on both sides.
- Each flush is one transaction (batch rows + events + the run's point count), committed in
  order, so whatever survives a SIGKILL is exactly a prefix of what was appended. The loss
  bound (``LOSS_BOUND``, 0.25 s) holds at any rate through backpressure and the spill file
  (see ``RunWriter``): a point is committed, or written to the spill file, within
  ``JOURNAL_AFTER`` of its append, as long as the process gets the CPU. SQLite runs in WAL
  mode with synchronous=NORMAL: a killed process loses nothing committed (only an OS crash
  could lose the last commits), and readers in other processes see each batch as it commits.
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
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from dwlab.db.errors import StoreError
from dwlab.db.models import END_STATUSES, Event, Image, PointBatch, Run
from dwlab.db.spill import SpillWriter, default_spill_dir

FLUSH_PERIOD = 0.04  # s between background flushes
LOSS_BOUND = 0.25  # s: a SIGKILL loses at most the points appended this long before it
BACKPRESSURE_AFTER = 0.04  # s: append waits for the database when a point is this old unsaved
JOURNAL_AFTER = 0.07  # s: ... and past this age writes the unsaved points to the spill file
DATABASE_LAG = 0.5  # s: append waits while the database is this far behind (points spilled)
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

    The loss bound holds at any point rate: a point is "unsafe" until the database commits it
    or the spill file holds it (``dwlab.db.spill``). When the oldest unsafe point is older than
    ``BACKPRESSURE_AFTER``, ``append`` wakes the background writer and waits for its commit
    (so an appender faster than the database is slowed to its pace, and the waiting thread
    leaves the writer the CPU); past ``JOURNAL_AFTER`` (a stalled or failing database) it
    writes the unsafe points to the spill file and goes on. After ``GIVE_UP_AFTER`` s of
    failed writes ``append`` refuses with a one-line error naming the spill file.
    """

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        columns: Sequence[str],
        now: Callable[[], float],
        image_dir: Path | None = None,
        spill_dir: Path | None = None,
        started_at: datetime | None = None,
        database: str = "",
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
        self._buf = array("d")  # points not yet committed, from seq self._saved on
        self._events: list[dict[str, Any]] = []  # events not yet committed
        self._saved = 0  # points committed
        self._events_saved = 0  # events committed
        self._journaled = 0  # points (from seq 0) the spill file holds or the database has
        self._events_journaled = 0
        self._unsafe_since = time.monotonic()  # no unsafe point was appended before this
        self._uncommitted_since = self._unsafe_since  # no uncommitted one before this
        self._writing_upto: int | None = None  # the database write under way: points < this
        self._status = "running"
        self._refusal: StoreError | None = None  # set: append raises it
        self._spill_refusal = False  # the refusal is the spill message (reported once)
        self._failing_since: float | None = None
        self._db_error = ""
        self._last_write = time.monotonic()
        self._spill: SpillWriter | None = None
        self._images_spilled: list[tuple[dict, bytes]] = []  # (row, zlib data) not in the db
        self._spill_header = {
            "run_id": run_id, "database": database, "writer_host": socket.gethostname(),
            "writer_pid": os.getpid(), "started_at": (started_at or utcnow()).isoformat(),
            "columns": list(self.columns),
        }
        self._spill_dir = Path(spill_dir) if spill_dir is not None else default_spill_dir()
        self._lock = threading.Lock()  # one database write at a time
        self._spill_lock = threading.Lock()  # one spill write at a time
        self._count_lock = threading.Condition()  # guards the buffers and counters
        self._wake = threading.Event()
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
            self._refuse()
        if point.keys() != self._names:
            raise self._key_error(point)
        if time.monotonic() - self._unsafe_since > BACKPRESSURE_AFTER:
            self._make_room()
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
            self._refuse()
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != self._width:
            raise StoreError(
                f"rows must have shape (n, {self._width}) (t + {list(self.columns)}), "
                f"got {rows.shape}"
            )
        if not np.issubdtype(rows.dtype, np.number) or np.iscomplexobj(rows):
            raise StoreError(f"rows must hold real numbers, got dtype {rows.dtype}")
        if time.monotonic() - self._unsafe_since > BACKPRESSURE_AFTER:
            self._make_room()
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
        t = self.elapsed() if t is None else float(t)
        with self._count_lock:
            seq = self._saved + len(self._buf) // self._width
            self._events.append(
                {"run_id": self.run_id, "t": t, "seq": seq, "kind": kind, "message": str(message)}
            )

    def add_image(self, array_: np.ndarray, t: float, meta: dict | None = None) -> int | None:
        """Store a Kerr image at ``t`` (s since the run began), zlib-compressed, in the
        database or, when the store has an image directory, as a file named by its hash.
        Its id; None when the database failed and the image went to the spill file (from
        which ``dwlab runs recover`` loads it)."""
        if self._status != "running":
            raise StoreError(f"run {self.run_id} is {self._status}; cannot add an image")
        a = np.ascontiguousarray(array_)
        if a.dtype.kind not in "biuf":
            raise StoreError(f"image must be a numeric array, got dtype {a.dtype}")
        packed = zlib.compress(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(),
                               IMAGE_ZLIB_LEVEL)
        digest = hashlib.sha256(packed).hexdigest()
        row = {
            "run_id": self.run_id, "t": float(t), "dtype": a.dtype.newbyteorder("<").str,
            "shape": list(a.shape), "meta": dict(meta or {}), "sha256": digest,
        }
        with self._lock:
            try:
                return self._insert_image(row, packed)
            except StoreError as e:
                failure = e
        # the database (or the image directory) failed: the image goes to the spill file
        # with the unsafe points; ``finish`` tries the database once more
        self._db_failed(failure)
        try:
            with self._spill_lock:
                if self._spill is None:
                    self._spill = SpillWriter(self._spill_dir, self._spill_header)
                self._spill.image(row, packed)
        except OSError as e:
            raise self._spill_failed(e) from None
        self._images_spilled.append((row, packed))
        return None

    def _insert_image(self, row: dict, packed: bytes) -> int:
        """Write one image (its file, when the store has an image directory) and its row;
        raises StoreError on failure."""
        data = packed
        if self._image_dir is not None:
            data, path = None, image_path(self._image_dir, row["sha256"])
            try:
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".tmp{os.getpid()}")
                    tmp.write_bytes(packed)
                    os.replace(tmp, path)
            except OSError as e:
                raise StoreError(f"run {self.run_id}: cannot write image file {path}: "
                                 f"{e.strerror or e}") from None
        with self._transaction() as conn:
            return conn.execute(insert(Image).returning(Image.id),
                                {**row, "data": data}).scalar_one()

    # --- flushing and finishing ----------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered now; raises StoreError (keeping the buffer, and putting
        it in the spill file) on failure."""
        with self._lock:
            try:
                self._flush_locked()
            except StoreError as e:
                self._db_failed(e)
                raise
        if self._refusal is not None and self._status == "running" and self._spill_refusal:
            self._refusal = None  # the database took the backlog: appends may go on
            self._spill_refusal = False
            self._failing_since = None

    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """Flush everything, then record how the run ended. Refuses a second finish.

        When the database cannot take the end of the run, it goes to the spill file and this
        raises StoreError naming it, unless ``append`` already said so."""
        if status not in END_STATUSES:
            raise StoreError(f"status must be one of {END_STATUSES}, got {status!r}")
        if self._status != "running":
            raise StoreError(f"run {self.run_id} is already {self._status}")
        self.event("status", status + (f": {error}" if error else ""))
        failure = None
        with self._lock:
            try:
                self._flush_locked()
                while self._images_spilled:  # the database may be back for them
                    self._insert_image(*self._images_spilled[0])
                    self._images_spilled.pop(0)
                with self._transaction() as conn:
                    conn.execute(
                        update(Run).where(Run.id == self.run_id).values(
                            status=status, error=error, ended_at=utcnow(), heartbeat=utcnow()
                        )
                    )
            except StoreError as e:
                failure = e
            self._status = status
            reported = self._spill_refusal and self._refusal is not None
            self._refusal = StoreError(
                f"run {self.run_id} is {status}; cannot append to a finished run"
            )
        self._stop_thread()
        if failure is None:
            if self._spill is not None:
                self._spill.close(delete=True)  # the database has everything
            return
        self._failing_since = self._failing_since or time.monotonic()
        self._db_error = _reason(failure)
        try:
            self._journal()
            self._spill.finish(status, error, utcnow())
            self._spill.close()
        except OSError as e:
            raise self._spill_failed(e) from None
        if not reported:
            raise StoreError(self._spill_message())

    @property
    def status(self) -> str:
        return self._status

    @property
    def n_saved(self) -> int:
        """Points committed to the database so far."""
        return self._saved

    @property
    def spill_path(self) -> Path | None:
        """The spill file, once the writer has needed one."""
        return self._spill.path if self._spill is not None else None

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

    def abandon(self) -> None:
        """Stop the background writer without finishing the run, as a killed process leaves
        it: nothing more is written, the run stays "running" until a reader finds it dead.
        For tests that stand for a crashed writer (their thread must not outlive them)."""
        self._stop_thread()

    def _stop_thread(self) -> None:
        """End the background writer (after its current flush) and forget this writer."""
        self._stop.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        _live_writers.discard(self)

    # --- backpressure and the spill file ---------------------------------------------------
    def _unsafe_points(self) -> int:
        return self._saved + len(self._buf) // self._width - max(self._saved, self._journaled)

    def _make_room(self) -> None:
        """Called by append when the oldest unsafe point is older than BACKPRESSURE_AFTER:
        wait for the database's commit, or journal the unsafe points to the spill file; then
        wait while the database lags more than DATABASE_LAG (unless it is failing)."""
        self._wake.set()
        with self._count_lock:
            safe = self._wait(lambda age, lag: self._unsafe_points() == 0
                              or age <= BACKPRESSURE_AFTER, JOURNAL_AFTER,
                              hopeless=self._write_misses_unsafe)
            lagging = (self._failing_since is None and self._unsafe_points() > 0
                       and time.monotonic() - self._uncommitted_since > DATABASE_LAG)
        if not safe or lagging:  # spilled first: waiting for the database may take long
            try:
                self._journal()
            except OSError as e:
                self._refusal = self._spill_failed(e)
                self._refuse()
        if lagging:
            with self._count_lock:
                self._wait(lambda age, lag: lag <= DATABASE_LAG, None)

    def _wait(self, done: Callable[[float, float], bool], age_limit: float | None,
              hopeless: Callable[[], bool] = lambda: False) -> bool:
        """Wait (holding ``_count_lock``) until ``done(age of the oldest unsafe point, age of
        the oldest uncommitted one)``; False when the unsafe age passes ``age_limit``, the
        database is failing or ``hopeless()`` first."""
        while True:
            now = time.monotonic()
            if len(self._buf) == 0:
                self._unsafe_since = self._uncommitted_since = now
            age, lag = now - self._unsafe_since, now - self._uncommitted_since
            if done(age, lag):
                return True
            if self._failing_since is not None or hopeless():
                return False
            if age_limit is None:
                self._count_lock.wait(FLUSH_PERIOD)
            elif age >= age_limit:
                return False
            else:
                self._count_lock.wait(age_limit - age)

    def _write_misses_unsafe(self) -> bool:
        """The database write under way does not hold the oldest unsafe point: waiting for
        its commit would not save it."""
        return self._writing_upto is not None and self._writing_upto <= max(self._saved,
                                                                              self._journaled)

    def _journal(self) -> None:
        """Write the points and events that are neither committed nor spilled yet to the
        spill file (opening it on first use). Raises OSError when it cannot."""
        with self._spill_lock:
            with self._count_lock:
                taken = time.monotonic()
                start = max(self._saved, self._journaled)
                end = self._saved + len(self._buf) // self._width
                block = self._buf[(start - self._saved) * self._width:
                                  (end - self._saved) * self._width]
                first_event = max(self._events_saved, self._events_journaled)
                events = [
                    {"eid": first_event + i, **{k: e[k] for k in ("t", "seq", "kind", "message")}}
                    for i, e in enumerate(self._events[first_event - self._events_saved:])
                ]
            if self._spill is None:
                self._spill = SpillWriter(self._spill_dir, self._spill_header)
            if sys.byteorder != "little":
                block.byteswap()
            step = MAX_BATCH_POINTS * self._width  # a kill mid-write tears one block only
            for i in range(0, end - start, MAX_BATCH_POINTS):
                chunk = block[i * self._width:i * self._width + step]
                self._spill.points(start + i, len(chunk) // self._width, chunk.tobytes())
            self._spill.events(events)
            with self._count_lock:
                self._journaled = max(self._journaled, end)
                self._events_journaled = max(self._events_journaled, first_event + len(events))
                self._unsafe_since = max(self._unsafe_since, taken)

    def _db_failed(self, e: StoreError) -> None:
        """A database write failed: spill what is unsafe; refuse appends after GIVE_UP_AFTER."""
        self._failing_since = self._failing_since or time.monotonic()
        self._db_error = _reason(e)
        try:
            self._journal()
        except OSError as oe:
            self._refusal = self._spill_failed(oe)
            return
        with self._count_lock:
            self._count_lock.notify_all()  # waiting appenders: the database will not answer
        if time.monotonic() - self._failing_since > GIVE_UP_AFTER:
            self._refusal = StoreError(self._spill_message())
            self._spill_refusal = True

    def _spill_message(self) -> str:
        path = self._spill.path
        return (f"run {self.run_id}: the database has refused its points for "
                f"{time.monotonic() - self._failing_since:.1f} s ({self._db_error}); they are "
                f"kept in {path}: load them with `dwlab runs recover {path}`")

    def _spill_failed(self, e: OSError) -> StoreError:
        where = self._spill.path if self._spill else self._spill_dir
        return StoreError(
            f"run {self.run_id}: the database is not taking points ({self._db_error or 'slow'}) "
            f"and the spill file in {where} cannot be written ({e.strerror or e}): points "
            f"from {self._saved} on are only in memory; call flush() to retry"
        )

    def _refuse(self) -> None:
        if self._refusal is not None:
            raise self._refusal

    # --- internals -------------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_PERIOD)
            self._wake.clear()
            if self._stop.is_set():
                return
            idle = not self._buf and not self._events
            if idle and time.monotonic() - self._last_write < HEARTBEAT_PERIOD:
                continue
            try:
                with self._lock:
                    if self._status == "running":
                        self._flush_locked()
                self._failing_since = None
            except StoreError as e:
                self._db_failed(e)

    def _flush_locked(self) -> None:
        with self._count_lock:
            taken = time.monotonic()
            n = len(self._buf)
            n_events = len(self._events)
            block = self._buf[:n]
            events = self._events[:n_events]
            self._writing_upto = self._saved + n // self._width
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
        try:
            with self._transaction() as conn:
                if batches:
                    conn.execute(insert(PointBatch), batches)
                if n_events:
                    conn.execute(insert(Event), events)
                conn.execute(
                    update(Run).where(Run.id == self.run_id).values(
                        n_points=self._saved + points, heartbeat=utcnow()
                    )
                )
        finally:
            self._writing_upto = None
        with self._count_lock:
            del self._buf[:n]  # appends that came during the write stay, in order
            del self._events[:n_events]
            self._saved += points
            self._events_saved += n_events
            self._unsafe_since = max(self._unsafe_since, taken)
            self._uncommitted_since = max(self._uncommitted_since, taken)
            self._count_lock.notify_all()
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


def _reason(e: StoreError) -> str:
    """The database's own words for a failed write, on one line."""
    cause = e.__cause__
    return " ".join(str(getattr(cause, "orig", None) or cause or e).split())


@contextmanager
def write_transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """A write transaction whose database errors become a StoreError naming what failed."""
    try:
        with begin_write(engine) as conn:
            yield conn
    except SQLAlchemyError as e:
        raise StoreError(
            f"{what}: cannot write to the database: {getattr(e, 'orig', None) or e}"
        ) from e


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for a transaction that writes. On SQLite it takes the write lock at
    BEGIN (``BEGIN IMMEDIATE``, see ``store._make_engine``), waiting for another writer up to
    the lock timeout: a plain BEGIN that reads before it writes cannot wait -- SQLite fails it
    at once with "database is locked" when another connection committed since its read."""
    with engine.connect() as conn:
        conn.execution_options(dwlab_write=True)
        with conn.begin():
            yield conn


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
