"""The run store's tables, as SQLAlchemy 2 declarative models.

A run is the record of one measurement: what ran (procedure, version, parameters), on what
(sample, device, setup, instrument snapshot), by whom, how it ended, and its data. Points are
stored as float64 blocks (``PointBatch``), one row per flush; see ``dwlab.db.writer`` for why.
The Alembic revisions in ``migrations/versions`` create exactly these tables; a test compares
the two so they cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RUN_STATUSES = ("running", "finished", "aborted", "failed", "interrupted")
END_STATUSES = RUN_STATUSES[1:]


class Base(DeclarativeBase):
    pass


class Sample(Base):
    """A chip or wafer piece, by the name written on its box."""

    __tablename__ = "sample"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Device(Base):
    """One Hall bar on a sample."""

    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("sample_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class Run(Base):
    """One measurement run. ``columns`` is the ordered list of [name, unit] of its points."""

    __tablename__ = "run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure: Mapped[str] = mapped_column(String(200), index=True)
    procedure_version: Mapped[str] = mapped_column(String(100), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    columns: Mapped[list[list[str]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # UTC
    operator: Mapped[str] = mapped_column(String(200), default="")
    sample_id: Mapped[int | None] = mapped_column(
        ForeignKey("sample.id", ondelete="SET NULL"), nullable=True, index=True
    )
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="SET NULL"), nullable=True
    )
    setup: Mapped[dict[str, Any]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    software_version: Mapped[str] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    n_points: Mapped[int] = mapped_column(Integer, default=0)
    # who is writing, and when it last proved alive: tells a crashed run from a live one
    writer_host: Mapped[str] = mapped_column(String(255), default="")
    writer_pid: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # UTC
    # measured on the simulated lab (any instrument "sim"): never to pass as a real measurement
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PointBatch(Base):
    """A block of consecutive points: little-endian float64, row-major (n, 1 + len(columns)),
    column 0 being t (s since run start)."""

    __tablename__ = "point_batch"
    run_id: Mapped[int] = mapped_column(
        ForeignKey("run.id", ondelete="CASCADE"), primary_key=True
    )
    first_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Event(Base):
    """A log line or state change of a run, at t (s since run start), after the first
    ``seq`` points: so a replay puts it between exactly the points it came between."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    t: Mapped[float] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)


class Image(Base):
    """A Kerr image: zlib-compressed array bytes in ``data``, or (``data`` NULL) a file in the
    store's image directory named by ``sha256`` of the compressed bytes."""

    __tablename__ = "image"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    t: Mapped[float] = mapped_column(Float)
    dtype: Mapped[str] = mapped_column(String(20))
    shape: Mapped[list[int]] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
