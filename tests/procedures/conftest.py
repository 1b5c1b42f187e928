"""A fresh run database per test."""

import pytest

from dwlab.db.store import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
