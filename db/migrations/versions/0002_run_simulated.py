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
    # runs stored before this revision were not marked; false is what they said of themselves
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("simulated", sa.Boolean, nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("simulated")
