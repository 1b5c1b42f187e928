"""Initial schema: sample, device, run, point_batch, event, image.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("sample.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.UniqueConstraint("sample_id", "name"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("procedure", sa.String(200), nullable=False, index=True),
        sa.Column("procedure_version", sa.String(100), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime, nullable=False, index=True),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("sample.id", ondelete="SET NULL"),
            nullable=True, index=True,
        ),
        sa.Column(
            "device_id", sa.Integer, sa.ForeignKey("device.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("setup", sa.JSON, nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("software_version", sa.String(100), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("n_points", sa.Integer, nullable=False),
        sa.Column("writer_host", sa.String(255), nullable=False),
        sa.Column("writer_pid", sa.Integer, nullable=False),
        sa.Column("heartbeat", sa.DateTime, nullable=True),
    )
    op.create_table(
        "point_batch",
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("first_seq", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"),
            nullable=False, index=True,
        ),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_table(
        "image",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("run.id", ondelete="CASCADE"),
            nullable=False, index=True,
        ),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("dtype", sa.String(20), nullable=False),
        sa.Column("shape", sa.JSON, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("data", sa.LargeBinary, nullable=True),
    )


def downgrade() -> None:
    for table in ("image", "event", "point_batch", "run", "device", "sample"):
        op.drop_table(table)
