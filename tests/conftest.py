"""Test-wide settings: GUI tests run offscreen, nothing reaches the network, spill files stay
in the test's own directory, and no run writer outlives the test that began it."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _spill_in_tmp_path(tmp_path, monkeypatch):
    """A run store's spill files (points its database did not take) go under tmp_path."""
    monkeypatch.setenv("DWLAB_SPILL_DIR", str(tmp_path / "spill"))


@pytest.fixture(autouse=True)
def _no_writer_outlives_its_test():
    """A test that leaves a run unfinished (standing for a crashed writer) would leave its
    writer thread flushing for the rest of the session -- into a dropped PostgreSQL schema,
    every 40 ms -- and take the GIL from later tests' GUI threads."""
    from dwlab.db import writer

    before = set(writer._live_writers)
    yield
    for leftover in set(writer._live_writers) - before:
        leftover.abandon()
