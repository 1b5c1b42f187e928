"""StoreListener: lets a live run feed the store through the same Listener interface as the
GUI, so the Runner has one list of listeners and no special case for the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dwlab.listener import ListenerBase, RunInfo

if TYPE_CHECKING:
    from dwlab.db.store import RunStore
    from dwlab.db.writer import RunWriter


class StoreListener(ListenerBase):
    """Writes what it hears into the store.

    Give it a ``RunStore`` and it begins a run on ``on_start`` (taking ``procedure_version``,
    ``setup``, ``snapshot``, ``device`` and ``clock`` from ``info.metadata`` when present, and
    setting ``info.run_id`` so listeners after it see the id); or give it a ``RunWriter`` of a
    run already begun.
    """

    def __init__(self, target: RunStore | RunWriter):
        from dwlab.db.writer import RunWriter

        self.store = None if isinstance(target, RunWriter) else target
        self.writer: RunWriter | None = target if isinstance(target, RunWriter) else None

    def on_start(self, info: RunInfo) -> None:
        if self.writer is None or self.writer.status != "running":
            meta = info.metadata
            self.writer = self.store.begin_run(
                info.procedure, info.columns, info.parameters,
                procedure_version=meta.get("procedure_version", ""), sample=info.sample,
                operator=info.operator, setup=meta.get("setup"), snapshot=meta.get("snapshot"),
                device=meta.get("device", ""), clock=meta.get("clock"),
            )
        info.run_id = self.writer.run_id

    def on_points(self, points: list[dict[str, Any]]) -> None:
        self.writer.extend(points)

    def on_event(self, kind: str, message: str) -> None:
        self.writer.event(kind, message)

    def on_finish(self, status: str, error: str | None) -> None:
        self.writer.finish(status, error)
