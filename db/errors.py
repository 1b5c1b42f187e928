"""The one error the run store raises, so callers catch one thing and read one message."""

from __future__ import annotations

from dwlab.errors import BadInput, Failure


class StoreError(Failure, RuntimeError):
    """A run-store operation was refused or failed; the message names what and why."""


class SimulatedOnRealSampleError(BadInput, StoreError):
    """Simulated data refused under a sample name that real runs use (bad input: exit 2)."""
