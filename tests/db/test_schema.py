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


def test_upgrading_an_older_database_keeps_every_point_event_and_image(store_url):
    """A store written at revision 0001 (before run.simulated), opened by today's code: the
    upgrade must not touch the runs' data (a table rebuild on SQLite cascaded it away)."""
    import numpy as np
    from alembic import command
    from sqlalchemy import text

    store = RunStore(store_url)
    w = store.begin_run("iv", {"V": "uV"}, {})
    w.extend([{"V": float(i)} for i in range(10)])
    w.event("note", "kept")
    w.add_image(np.ones((4, 4)), 0.0)
    w.finish()
    store.close()
    engine = create_engine(store_url)
    with engine.begin() as conn:  # back to the schema of revision 0001
        config = schema.alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        assert schema.current_revision(conn) == "0001"
    engine.dispose()
    store = RunStore(store_url)  # upgrades to head on open
    assert store.get_run(w.run_id).n_points == 10
    assert list(store.dataframe(w.run_id)["V"]) == [float(i) for i in range(10)]
    assert [e[1:] for e in store.events(w.run_id) if e[1] == "note"] == [("note", "kept")]
    assert len(store.images(w.run_id)) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT simulated FROM run")).scalar_one() in (0, False)
    store.close()
