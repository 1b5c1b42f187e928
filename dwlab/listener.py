"""One listener interface for everything that watches a run, live or replayed.

A live run (the Runner) and a replay (``dwlab.db.replay``) feed the same calls, so the GUI
plot, the command-line progress bar and analysis code never care where points come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class RunInfo:
    """What a listener learns when a run starts."""

    procedure: str
    parameters: dict[str, Any]
    columns: dict[str, str]  # column name -> unit ("" when dimensionless)
    run_id: int | None = None
    sample: str = ""
    operator: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Listener(Protocol):
    """Receives a run's life: start, points in order, events, and how it ended."""

    def on_start(self, info: RunInfo) -> None: ...

    def on_points(self, points: list[dict[str, Any]]) -> None: ...

    def on_event(self, kind: str, message: str) -> None: ...

    def on_finish(self, status: str, error: str | None) -> None: ...


class ListenerBase:
    """Convenience base: every call does nothing, override what you need."""

    def on_start(self, info: RunInfo) -> None:
        pass

    def on_points(self, points: list[dict[str, Any]]) -> None:
        pass

    def on_event(self, kind: str, message: str) -> None:
        pass

    def on_finish(self, status: str, error: str | None) -> None:
        pass
