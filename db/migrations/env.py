"""Alembic environment: runs on the connection ``dwlab.db.schema.upgrade`` hands over, or on
``sqlalchemy.url`` when called from the ``alembic`` command line (``alembic -c db/alembic.ini``)."""

from alembic import context
from sqlalchemy import create_engine

from dwlab.db.models import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
