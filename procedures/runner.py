"""The Runner: runs one procedure on a lab, feeds the store and the listeners, and owns the one
cleanup block that leaves the hardware safe on every way out.

Like Bluesky's RunEngine, cleanup is in one place: whether ``execute()`` finished, the operator
aborted, an instrument faulted, the code raised, or Ctrl-C arrived, the ``finally`` block runs the
procedure's own ``shutdown()``, then ``lab.make_safe()`` (source off, fields ramped to zero),
then records how the run ended and why. Procedures never have to remember safety.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

from dwlab.listener import Listener, RunInfo
from dwlab.procedures.base import Aborted, LabProcedure

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """How a run ended; ``analysis`` is the procedure's result object when it finished."""

    run_id: int | None
    status: str  # finished | aborted | failed
    error: str | None = None
    analysis: Any = None
    safety_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "finished"


class Runner:
    """Runs procedures on one lab, one at a time.

    ``run()`` blocks in the calling thread; ``start()`` runs in a worker thread (the GUI) and
    ``abort()`` asks the running procedure to stop, from any thread.
    """

    def __init__(self, lab, store=None, listeners: Iterable[Listener] = (), operator: str = "",
                 sample: str = ""):
        self.lab = lab
        self.store = store
        self.listeners = list(listeners)
        self.operator = operator
        self.sample = sample or lab.setup.device.name
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self.outcome: RunOutcome | None = None

    # ---- control ---------------------------------------------------------------------------
    def abort(self) -> None:
        self._abort.set()

    def start(self, procedure: LabProcedure) -> threading.Thread:
        """Check in the calling thread (a refusal raises here), then run in a worker thread."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("a run is already in progress on this lab")
        parameters = self.prepare(procedure)
        self._thread = threading.Thread(target=self._run_prepared, args=(procedure, parameters),
                                        name="dwlab-run", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> RunOutcome | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.outcome

    # ---- the run ---------------------------------------------------------------------------
    def run(self, procedure: LabProcedure) -> RunOutcome:
        """Check, run, clean up, record. Parameter and limit errors raise before any output."""
        return self._run_prepared(procedure, self.prepare(procedure))

    def prepare(self, procedure: LabProcedure) -> dict[str, Any]:
        """Parameters and the setup's limits checked, before anything is output."""
        self._abort.clear()
        procedure.resolve_inputs(self.store, self.sample, self.lab.setup.device.name)
        parameters = procedure.validate_parameters()
        procedure.lab = self.lab
        procedure.check_limits(self.lab)
        return parameters

    def _run_prepared(self, procedure: LabProcedure, parameters: dict[str, Any]) -> RunOutcome:
        writer = None
        if self.store is not None:
            writer = self.store.begin_run(
                procedure=procedure.NAME, columns=dict(procedure.COLUMNS), parameters=parameters,
                procedure_version=procedure.VERSION, sample=self.sample, operator=self.operator,
                setup=self.lab.setup.raw, snapshot=self.lab.snapshot(),
                device=self.lab.setup.device.name, clock=self.lab.clock)
        info = RunInfo(procedure=procedure.NAME, parameters=parameters,
                       columns=dict(procedure.COLUMNS), run_id=writer.run_id if writer else None,
                       sample=self.sample, operator=self.operator)
        procedure.emit = self._emitter(writer)
        procedure.should_stop = self._abort.is_set
        procedure._image_sink = writer.add_image if writer else None
        self._notify("on_start", info)

        status, error, interrupt = "failed", None, None
        try:
            procedure.status = procedure.RUNNING
            self.lab.clear_errors()
            procedure.startup()
            procedure.execute()
            self.lab.check_errors()  # a refused command or a silent instrument fails the run
            status = "aborted" if self._abort.is_set() else "finished"
            if status == "aborted":
                error = "aborted on request"
        except Aborted as exc:
            status, error = "aborted", str(exc)
        except KeyboardInterrupt as exc:
            status, error, interrupt = "aborted", "interrupted (Ctrl-C)", exc
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then cleaned up
            status = "failed"
            error = f"{type(exc).__name__}: {exc}"
            log.error("run failed:\n%s", traceback.format_exc())
        finally:
            problems = self._cleanup(procedure)
        if problems:
            note = "; ".join(problems)
            error = f"{error}; SAFETY: {note}" if error else f"SAFETY: {note}"
            if status == "finished":
                status = "failed"

        analysis = self._analyze(procedure, writer, status)
        if writer is not None:
            writer.finish(status=status, error=error)
        self.outcome = RunOutcome(writer.run_id if writer else None, status, error, analysis,
                                  problems)
        self._notify("on_finish", status, error)
        if interrupt is not None:
            raise interrupt
        return self.outcome

    def _cleanup(self, procedure: LabProcedure) -> list[str]:
        """The one cleanup block: procedure shutdown, then the lab made safe. Never raises."""
        problems = []
        try:
            procedure.shutdown()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"procedure shutdown: {type(exc).__name__}: {exc}")
        problems.extend(self.lab.make_safe())
        for problem in problems:
            self._notify("on_event", "safety", problem)
        return problems

    def _analyze(self, procedure: LabProcedure, writer, status: str):
        if status != "finished" or writer is None:
            return None
        try:
            writer.flush()
            result = procedure.analyze(self.store.dataframe(writer.run_id), self.lab.setup.device)
        except Exception as exc:  # noqa: BLE001 - a failed analysis never loses the run
            writer.event("analysis-error", f"{type(exc).__name__}: {exc}")
            self._notify("on_event", "analysis-error", str(exc))
            return None
        if result is not None:
            summary = _summary_json(result)
            writer.event("analysis", summary)
            self._notify("on_event", "analysis", summary)
        return result

    def _emitter(self, writer):
        def emit(topic: str, record: Any) -> None:
            if topic == "progress":  # PyMeasure's convention: percent done
                self._notify("on_event", "progress", f"{float(record):.1f}")
                return
            if topic == "event":  # (kind, message) a procedure wants on record, e.g. a drift
                kind, message = record
                if writer is not None:
                    writer.event(kind, message)
                self._notify("on_event", kind, message)
                return
            if topic != "results":
                return
            if writer is not None:
                writer.append(record)
            self._notify("on_points", [record])
        return emit

    def _notify(self, method: str, *args) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, method)(*args)
            except Exception:  # noqa: BLE001 - a broken plot must not break a measurement
                log.exception("listener %r failed in %s", listener, method)


def _summary_json(result) -> str:
    summary = result.summary() if hasattr(result, "summary") else result
    return json.dumps(summary, default=str)
