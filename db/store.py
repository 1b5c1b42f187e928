"""RunStore: the database of runs. Opens it, begins runs, lists, reads and deletes them.

One store code for SQLite (the default: a file in the user's data directory, WAL mode, so a
run browser in another process reads a run while it is written) and PostgreSQL (one database
shared by several setups). Opening upgrades the schema (Alembic) and marks runs that a crashed
writer left "running" as "interrupted": a run is stale when its writer's process is gone (same
host) or its heartbeat is older than ``STALE_AFTER`` (another host).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import platformdirs
from sqlalchemy import Engine, create_engine, delete, event, false, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dwlab.clock import Clock
from dwlab.db import schema
from dwlab.db.errors import SimulatedOnRealSampleError, StoreError
from dwlab.db.models import RUN_STATUSES, Device, Event, Image, PointBatch, Run, Sample
from dwlab.db.spill import default_spill_dir, spill_name
from dwlab.db.writer import (
    HEARTBEAT_PERIOD,
    RunWriter,
    begin_write,
    image_path,
    utcnow,
    write_transaction,
    writer_identity,
)
from dwlab.version import __version__

__all__ = ["RunStore", "RunWriter", "StoreError", "RunSummary", "RunRecord", "StoreListener"]

SQLITE_LOCK_WAIT = 5.0  # s a SQLite writer waits for another's lock before failing
STALE_AFTER = 6 * HEARTBEAT_PERIOD  # s without heartbeat: the writer is gone


def default_url() -> str:
    """$DWLAB_DB, else a SQLite file in the user's data directory."""
    return os.environ.get("DWLAB_DB") or _user_data_url()


def _user_data_url() -> str:
    return f"sqlite:///{Path(platformdirs.user_data_dir('dwlab')) / 'dwlab.sqlite'}"


@dataclass(frozen=True)
class RunSummary:
    """One line of ``list_runs``."""

    id: int
    procedure: str
    sample: str
    status: str
    started_at: datetime  # aware, UTC
    n_points: int
    simulated: bool = False


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about a run except its data."""

    id: int
    procedure: str
    procedure_version: str
    parameters: dict[str, Any]
    columns: dict[str, str]  # name -> unit, in order
    status: str
    started_at: datetime  # aware, UTC
    ended_at: datetime | None
    operator: str
    sample: str
    device: str
    setup: dict[str, Any]
    snapshot: dict[str, Any]
    software_version: str
    error: str | None
    n_points: int
    simulated: bool = False  # measured on the simulated lab

    def metadata(self) -> dict[str, Any]:
        """JSON-ready metadata (times as ISO strings), as exported beside the data; ``lab``
        is "real", "simulated" or "computed" (``dwlab.computed.lab``)."""
        from dwlab import computed

        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["lab"] = computed.lab(self.procedure, self.simulated)
        d["started_at"] = self.started_at.isoformat()
        d["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return d


class RunStore:
    """The run database at ``url`` (None: $DWLAB_DB or the user-data SQLite file).

    ``image_dir``: when given, Kerr images are files there named by content hash instead of
    blobs in the database (for a shared PostgreSQL store, point it at shared storage).
    ``spill_dir``: where a writer puts points the database does not take in time (default
    $DWLAB_SPILL_DIR or the user's state directory; see ``dwlab.db.spill``).
    """

    def __init__(self, url: str | None = None, image_dir: str | Path | None = None,
                 spill_dir: str | Path | None = None):
        self.url = url or default_url()
        self.image_dir = Path(image_dir) if image_dir is not None else None
        self.spill_dir = Path(spill_dir) if spill_dir is not None else default_spill_dir()
        self.engine = _make_engine(self.url, create_folder=self.url == _user_data_url())
        try:
            with self.engine.connect() as conn:  # a read: opening never waits for a writer
                current = schema.current_revision(conn)
            if current != schema.head_revision():
                with begin_write(self.engine) as conn:  # one process upgrades; others wait
                    schema.upgrade(conn)
        except SQLAlchemyError as e:
            self.engine.dispose()
            raise StoreError(
                f"cannot open the run database {self._where()}: {getattr(e, 'orig', None) or e}"
                " (is it a dwlab database, and not locked or corrupt?)"
            ) from e
        self.interrupted_on_open = self._mark_stale_runs()

    def _where(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------
    def begin_run(
        self,
        procedure: str,
        columns: dict[str, str],
        parameters: dict,
        procedure_version: str = "",
        sample: str = "",
        operator: str = "",
        setup: dict | None = None,
        snapshot: dict | None = None,
        device: str = "",
        clock: Clock | None = None,
        simulated: bool = False,
        force: bool = False,
    ) -> RunWriter:
        """Record a new run as "running" and return its writer. ``columns``: name -> unit.
        ``clock``: the run's time base for point timestamps (default: wall time).
        ``simulated``: measured on the simulated lab; such a run is refused under a sample
        name that real runs use (``force`` allows it), so it never mixes with real data."""
        if not procedure or not isinstance(procedure, str):
            raise StoreError(f"procedure must be a non-empty name, got {procedure!r}")
        if not isinstance(columns, dict) or not columns:
            raise StoreError(f"columns must be a non-empty dict name -> unit, got {columns!r}")
        for name, unit in columns.items():
            if not isinstance(name, str) or not name or not isinstance(unit, str):
                raise StoreError(f"column {name!r}: name and unit must be strings, unit {unit!r}")
        if device and not sample:
            raise StoreError(f"device {device!r} given without its sample")
        if simulated and not force:
            self.check_simulated_sample(sample)
        host, pid = writer_identity()
        now = utcnow()
        with write_transaction(self.engine, f"begin run of {procedure}") as conn:
            sample_id, device_id = _sample_and_device(conn, sample, device)
            run_id = conn.execute(
                Run.__table__.insert().returning(Run.id),
                {
                    "procedure": procedure, "procedure_version": procedure_version,
                    "parameters": _jsonable(parameters, "parameters"),
                    "columns": [[n, u] for n, u in columns.items()],
                    "status": "running", "started_at": now, "operator": operator,
                    "sample_id": sample_id, "device_id": device_id,
                    "setup": _jsonable(setup or {}, "setup"),
                    "snapshot": _jsonable(snapshot or {}, "snapshot"),
                    "software_version": f"dwlab {__version__}", "n_points": 0,
                    "writer_host": host, "writer_pid": pid, "heartbeat": now,
                    "simulated": simulated,
                },
            ).scalar_one()
        clock_now = clock.now if clock is not None else time.monotonic
        writer = RunWriter(self.engine, run_id, list(columns), clock_now, self.image_dir,
                           spill_dir=self.spill_dir, started_at=now, database=self._where())
        writer.event("status", "running")
        return writer

    def check_simulated_sample(self, sample: str) -> None:
        """Refuse to store simulated runs under ``sample`` when real runs use that name."""
        if not sample:
            return
        q = (select(Run.id).join(Sample, Run.sample_id == Sample.id)
             .where(Sample.name == sample, Run.simulated == false()).limit(1))
        with self._read() as conn:
            real = conn.execute(q).scalar()
        if real is not None:
            raise SimulatedOnRealSampleError(
                f"sample {sample!r} has real runs in {self._where()} (run {real}); simulated "
                f"data is not stored under a real sample's name: give another --sample, or "
                f"--force to store it there marked simulated")

    # --- reading --------------------------------------------------------------------------
    def list_runs(
        self,
        procedure: str | None = None,
        sample: str | None = None,
        status: str | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
    ) -> list[RunSummary]:
        """Runs, oldest first. ``since``/``until``: aware datetimes, naive ones (local time)
        or dates (``until`` a date includes that whole day)."""
        if status is not None and status not in RUN_STATUSES:
            raise StoreError(f"status must be one of {RUN_STATUSES}, got {status!r}")
        q = (
            select(Run.id, Run.procedure, Sample.name, Run.status, Run.started_at, Run.n_points,
                   Run.simulated)
            .outerjoin(Sample, Run.sample_id == Sample.id)
            .order_by(Run.id)
        )
        if procedure is not None:
            q = q.where(Run.procedure == procedure)
        if sample is not None:
            q = q.where(Sample.name == sample)
        if status is not None:
            q = q.where(Run.status == status)
        if since is not None:
            q = q.where(Run.started_at >= _to_utc(since, end_of_day=False))
        if until is not None:
            q = q.where(Run.started_at < _to_utc(until, end_of_day=True))
        with self._read() as conn:
            return [
                RunSummary(i, p, s or "", st, _aware(t), n, bool(sim))
                for i, p, s, st, t, n, sim in conn.execute(q)
            ]

    def get_run(self, run_id: int) -> RunRecord:
        q = (
            select(Run.__table__, Sample.name.label("sample_name"), Device.name.label("device_name"))
            .outerjoin(Sample, Run.sample_id == Sample.id)
            .outerjoin(Device, Run.device_id == Device.id)
            .where(Run.id == run_id)
        )
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise StoreError(f"no run with id {run_id} in {self._where()}")
        r = row._mapping
        return RunRecord(
            id=r["id"], procedure=r["procedure"], procedure_version=r["procedure_version"],
            parameters=r["parameters"], columns={n: u for n, u in r["columns"]},
            status=r["status"], started_at=_aware(r["started_at"]),
            ended_at=_aware(r["ended_at"]), operator=r["operator"],
            sample=r["sample_name"] or "", device=r["device_name"] or "", setup=r["setup"],
            snapshot=r["snapshot"], software_version=r["software_version"], error=r["error"],
            n_points=r["n_points"], simulated=bool(r["simulated"]),
        )

    def points(self, run_id: int) -> np.ndarray:
        """All committed points as float64 (n, 1 + columns): t (s since start), then columns."""
        record = self.get_run(run_id)
        width = 1 + len(record.columns)
        q = (
            select(PointBatch.first_seq, PointBatch.n, PointBatch.data)
            .where(PointBatch.run_id == run_id)
            .order_by(PointBatch.first_seq)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        expected = 0
        for first, n, _ in rows:
            if first != expected:
                raise StoreError(f"run {run_id}: points {expected}..{first - 1} are missing")
            expected += n
        data = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f8")
        return data.reshape(-1, width)

    def dataframe(self, run_id: int) -> pd.DataFrame:
        """The run's points in order: column "t" (s since start) then the procedure's columns;
        ``attrs["units"]`` maps every column to its unit, ``attrs["run"]`` is the metadata."""
        record = self.get_run(run_id)
        data = self.points(run_id)
        names = ["t", *record.columns]
        df = pd.DataFrame({name: data[:, i] for i, name in enumerate(names)})
        df.attrs["units"] = {"t": "s", **record.columns}
        df.attrs["run"] = record.metadata()
        return df

    def events(self, run_id: int) -> list[tuple[float, str, str]]:
        """(t, kind, message) in the order they happened."""
        return [e[1:] for e in self.events_with_seq(run_id)]

    def events_with_seq(self, run_id: int) -> list[tuple[int, float, str, str]]:
        """(seq, t, kind, message): ``seq`` is how many points preceded the event."""
        self.get_run(run_id)
        q = select(Event.seq, Event.t, Event.kind, Event.message).where(Event.run_id == run_id)
        with self._read() as conn:
            return [tuple(r) for r in conn.execute(q.order_by(Event.id))]

    def images(self, run_id: int) -> list[tuple[float, np.ndarray, dict]]:
        """(t, array, meta) of every image of the run, in the order they were added."""
        self.get_run(run_id)
        q = (
            select(Image.t, Image.dtype, Image.shape, Image.meta, Image.sha256, Image.data)
            .where(Image.run_id == run_id)
            .order_by(Image.id)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [(t, self._unpack(dt, sh, digest, data), meta) for t, dt, sh, meta, digest, data in rows]

    def _unpack(self, dtype: str, shape: list[int], digest: str, data: bytes | None) -> np.ndarray:
        if data is None:
            if self.image_dir is None:
                raise StoreError(f"image {digest} is a file; open the store with image_dir")
            data = image_path(self.image_dir, digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"image {digest} is corrupt (its content hash does not match)")
        return np.frombuffer(zlib.decompress(data), dtype=dtype).reshape(shape)

    # --- deleting ------------------------------------------------------------------------------
    def delete_run(self, run_id: int) -> None:
        """Delete a run with its points, events and images (image files no other run uses)."""
        record = self.get_run(run_id)
        if record.status == "running":
            raise StoreError(f"run {run_id} is running; finish it before deleting it")
        with write_transaction(self.engine, f"delete run {run_id}") as conn:
            digests = set(conn.scalars(select(Image.sha256).where(Image.run_id == run_id)))
            for table in (PointBatch, Event, Image):
                conn.execute(delete(table).where(table.run_id == run_id))
            conn.execute(delete(Run).where(Run.id == run_id))
            still_used = set(conn.scalars(select(Image.sha256).where(Image.sha256.in_(digests))))
        if self.image_dir is not None:
            for digest in digests - still_used:
                image_path(self.image_dir, digest).unlink(missing_ok=True)

    # --- internals -------------------------------------------------------------------------
    def _read(self):
        return _ReadConnection(self.engine, self._where())

    def _mark_stale_runs(self) -> list[int]:
        """Mark "running" runs whose writer is gone as interrupted; their ids.

        The heartbeat and the writer's process decide, never a failed write: a writer on this
        host is gone when its process is (or the pid now belongs to a younger process); one on
        another host when its heartbeat is older than STALE_AFTER. A database this process
        cannot write now (locked by another program) leaves the runs as they are."""
        host, _ = writer_identity()
        cutoff = utcnow() - timedelta(seconds=STALE_AFTER)
        q = select(Run.id, Run.writer_host, Run.writer_pid, Run.heartbeat, Run.started_at).where(
            Run.status == "running"
        )
        with self._read() as conn:
            running = conn.execute(q).all()
        stale = [
            (run_id, run_host, pid, beat)
            for run_id, run_host, pid, beat, started in running
            if (not _writer_alive(pid, started) if run_host == host
                else beat is None or beat < cutoff)
        ]
        marked = []
        for run_id, run_host, pid, beat in stale:
            error = ("the writer stopped without finishing the run (crash or kill); points up "
                     "to its last flush are kept")
            spill = self.spill_dir / spill_name(run_id, run_host, pid)
            if spill.exists():
                error += f"; more may be in {spill}: load them with `dwlab runs recover {spill}`"
            try:
                with write_transaction(self.engine, "mark crashed runs interrupted") as conn:
                    done = conn.execute(
                        update(Run)
                        .where(Run.id == run_id, Run.status == "running", Run.heartbeat == beat)
                        .values(status="interrupted", error=error)
                    ).rowcount
            except StoreError:
                break  # locked by another program: the next opening marks them
            if done:
                marked.append(run_id)
        return marked


class _ReadConnection:
    """``engine.connect()`` whose database errors become StoreError."""

    def __init__(self, engine: Engine, where: str):
        self._engine, self._where = engine, where

    def __enter__(self):
        try:
            self._conn = self._engine.connect()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read {self._where}: {getattr(e, 'orig', None) or e}") from e
        return _Guarded(self._conn, self._where)

    def __exit__(self, *exc):
        self._conn.close()


class _Guarded:
    def __init__(self, conn, where):
        self._conn, self._where = conn, where

    def execute(self, *a, **k):
        try:
            return self._conn.execute(*a, **k)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read {self._where}: {getattr(e, 'orig', None) or e}") from e


def _make_engine(url: str, create_folder: bool = False) -> Engine:
    """An engine for ``url``. A plain ``postgresql://`` URL uses psycopg 3 (the one PostgreSQL
    driver dwlab depends on). A SQLite file's folder must exist (a mistyped folder is refused
    rather than created), except the default file's (``create_folder``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"database URL {url!r} is not valid: {e}") from e
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (ArgumentError, ImportError) as e:
            raise StoreError(f"database URL {parsed.render_as_string(hide_password=True)!r}: "
                             f"{e}; use sqlite:///FILE or postgresql://USER@HOST/DB") from e
    if not parsed.database or parsed.database == ":memory:":
        raise StoreError(f"database URL {url!r}: the store needs a SQLite file, not memory")
    folder = Path(parsed.database).expanduser().parent
    if create_folder:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise StoreError(f"database URL {url!r}: the folder {folder} does not exist "
                         f"(create it first, or check the path)")
    engine = create_engine(url, connect_args={"timeout": SQLITE_LOCK_WAIT})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy's recipe)
        cur = dbapi_conn.cursor()
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # writes lock at BEGIN, so they wait their turn (``begin_write``)
        write = conn.get_execution_options().get("dwlab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _enable_wal(cur) -> None:
    """Put the file in WAL mode. Switching a new file needs its exclusive lock, and SQLite
    answers "database is locked" at once, without the busy timeout, while another connection
    holds any lock (several processes opening one new file): retry for SQLITE_LOCK_WAIT."""
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sample_and_device(conn, sample: str, device: str) -> tuple[int | None, int | None]:
    if not sample:
        return None, None
    sample_id = conn.scalar(select(Sample.id).where(Sample.name == sample))
    if sample_id is None:
        sample_id = conn.execute(
            Sample.__table__.insert().returning(Sample.id), {"name": sample, "description": ""}
        ).scalar_one()
    if not device:
        return sample_id, None
    device_id = conn.scalar(
        select(Device.id).where(Device.sample_id == sample_id, Device.name == device)
    )
    if device_id is None:
        device_id = conn.execute(
            Device.__table__.insert().returning(Device.id),
            {"sample_id": sample_id, "name": device, "description": ""},
        ).scalar_one()
    return sample_id, device_id


def _jsonable(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, default=_json_default))
    except (TypeError, ValueError) as e:
        raise StoreError(f"{what} cannot be stored as JSON: {e}") from e


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, date, Path)):
        return str(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON serialisable")


def _to_utc(when: datetime | date, end_of_day: bool) -> datetime:
    if not isinstance(when, datetime):
        when = datetime.combine(when + timedelta(days=1) if end_of_day else when, dtime())
    if when.tzinfo is None:
        when = when.astimezone()  # naive means local time
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=timezone.utc)


def _writer_alive(pid: int, started_at: datetime) -> bool:
    """Is process ``pid`` on this host the one that began a run at ``started_at`` (UTC)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    born = _process_start(pid)
    return born is None or born <= started_at + timedelta(seconds=2)


def _process_start(pid: int) -> datetime | None:
    """When process ``pid`` started (naive UTC), from /proc; None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


from dwlab.db.store_listener import StoreListener  # noqa: E402  (re-exported for callers)
