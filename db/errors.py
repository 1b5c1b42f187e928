"""The one error the run store raises, so callers catch one thing and read one message."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A run-store operation was refused or failed; the message names what and why."""
