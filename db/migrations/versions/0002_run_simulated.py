"""run.simulated: a run measured on the simulated lab, never to pass as a real measurement.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # runs stored before this revision were not marked; false is what they said of themselves.
    # A plain ADD COLUMN, never a batch (copy-and-move) rebuild: on SQLite, with foreign keys
    # on, dropping the old run table cascades to every run's points, events and images.
    op.add_column("run", sa.Column("simulated", sa.Boolean, nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("run", "simulated")  # SQLite >= 3.35 drops a column in place
