"""Test-wide settings: GUI tests run offscreen, nothing reaches the network, spill files stay
in the test's own directory."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _spill_in_tmp_path(tmp_path, monkeypatch):
    """A run store's spill files (points its database did not take) go under tmp_path."""
    monkeypatch.setenv("DWLAB_SPILL_DIR", str(tmp_path / "spill"))
