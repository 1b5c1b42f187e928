"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``DWLAB_TEST_PG_URL`` (``eval "$(.ci/postgres.sh)"`` starts one). Without
it the PostgreSQL cases skip with that instruction, except under CI (``CI`` set), where they
fail: CI must never skip them silently.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from dwlab.db.store import RunStore


def postgres_admin_url() -> str:
    url = os.environ.get("DWLAB_TEST_PG_URL")
    if url:
        return url
    message = (
        "no PostgreSQL server: DWLAB_TEST_PG_URL is unset "
        '(run eval "$(.ci/postgres.sh)" to start one)'
    )
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_engine():
    engine = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_engine):
    """A fresh, empty schema on the test server (as search_path), dropped afterwards; a schema
    is as good as a database for the store and 50x quicker to make."""
    name = f"dwlab_{uuid.uuid4().hex[:12]}"
    with postgres_engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = postgres_engine.url.update_query_dict({"options": f"-csearch_path={name}"})
    yield url.render_as_string(hide_password=False)
    with postgres_engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'runs.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(store_url, tmp_path):
    s = RunStore(store_url, image_dir=None)
    yield s
    s.close()
