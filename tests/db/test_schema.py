"""The Alembic revisions create exactly the models' schema, from an empty database up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from dwlab.db import schema
from dwlab.db.models import Base
from dwlab.db.store import RunStore


def test_migrations_match_the_models(store_url):
    RunStore(store_url).close()
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == schema.head_revision()
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= {
        "sample", "device", "run", "point_batch", "event", "image", "alembic_version"}
    engine.dispose()


def test_reopening_keeps_the_data(store_url):
    store = RunStore(store_url)
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.append({"V": 1.0})
    w.finish()
    store.close()
    assert RunStore(store_url).get_run(w.run_id).n_points == 1
