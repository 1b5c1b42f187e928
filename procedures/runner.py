"""The Runner: runs one procedure on a lab, feeds the store and the listeners, and owns the one
cleanup block that leaves the hardware safe on every way out.

Like Bluesky's RunEngine, cleanup is in one place: whether ``execute()`` finished, the operator
aborted, an instrument faulted, the code raised, or a stop signal arrived, the ``finally`` block
runs the procedure's own ``shutdown()``, then ``lab.make_safe()`` (source off, fields ramped to
zero, each confirmed by the instrument's own answer), then records how the run ended and why.
Procedures never have to remember safety.

Stop signals (SIGINT = Ctrl-C, SIGTERM = ``kill``/``timeout``/a service stop, SIGHUP = a closed
terminal): while ``run()`` runs in the main thread, each is an abort request, never an
exception thrown into the middle of an instrument exchange. The procedure stops at its next
check (``LabProcedure.sleep`` checks every 0.1 s, and every field ramp and settle wait at each
step, through the axes' ``stop_check``), the one cleanup runs to its end
however many more signals come, the run is recorded "aborted" with the cause
"aborted: SIGTERM", and then ``run()`` raises ``Interrupted`` (a KeyboardInterrupt) carrying
the recorded outcome, so the program ends as the signal asked.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from dwlab.db.errors import StoreError
from dwlab.listener import Listener, RunInfo
from dwlab.procedures.base import Aborted, LabProcedure

log = logging.getLogger(__name__)

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # SIGHUP does not exist on Windows


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


class Interrupted(KeyboardInterrupt):
    """A stop signal ended the run: raised by ``Runner.run`` after the cleanup and the record,
    with the recorded ``outcome``."""

    def __init__(self, signal_name: str, outcome: RunOutcome):
        super().__init__(f"{signal_name}: run {outcome.run_id} recorded {outcome.status}")
        self.signal_name = signal_name
        self.outcome = outcome


@contextmanager
def catch_stop_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP call ``on_signal(name)`` instead of ending
    the program; the previous handlers come back on the way out.

    Only the main thread can handle signals: elsewhere (a GUI worker) this does nothing.
    ``on_signal`` runs between two bytecodes of the main thread: it must only note the
    signal (append to a list, set a flag), never take a lock or do I/O.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    try:
        for name in STOP_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, lambda n, _f: on_signal(
                    signal.Signals(n).name))
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Runner:
    """Runs procedures on one lab, one at a time.

    ``run()`` blocks in the calling thread; ``start()`` runs in a worker thread (the GUI) and
    ``abort()`` asks the running procedure to stop, from any thread.
    """

    def __init__(self, lab, store=None, listeners: Iterable[Listener] = (), operator: str = "",
                 sample: str = "", force: bool = False):
        self.lab = lab
        self.force = force  # store simulated runs under a sample name that real runs use
        self.store = store
        self.listeners = list(listeners)
        self.operator = operator
        self.sample = sample or lab.setup.device.name
        self._abort = threading.Event()
        self._abort_cause = "aborted on request"
        self._signals: list[tuple[str, str]] = []  # (signal name, what the run was doing)
        self._phase = "idle"
        self._thread: threading.Thread | None = None
        self.outcome: RunOutcome | None = None

    # ---- control ---------------------------------------------------------------------------
    def abort(self, cause: str = "aborted on request") -> None:
        """Ask the running procedure to stop; ``cause`` is recorded with the run."""
        if not self._abort.is_set():
            self._abort_cause = cause
        self._abort.set()

    def _stop_requested(self) -> bool:
        return self._abort.is_set() or bool(self._signals)

    def _stop_cause(self) -> str:
        return f"aborted: {self._signals[0][0]}" if self._signals else self._abort_cause

    def _on_signal(self, name: str) -> None:
        self._signals.append((name, self._phase))  # only a note: see catch_stop_signals

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
        """Check, run, clean up, record. Parameter and limit errors raise before any output.

        In the main thread, a stop signal aborts the run (see the module's docstring); once
        it is cleaned up and recorded, ``Interrupted`` is raised with the outcome.
        """
        parameters = self.prepare(procedure)
        self._signals = []
        with catch_stop_signals(self._on_signal):
            outcome = self._run_prepared(procedure, parameters)
        if self._signals:
            raise Interrupted(self._signals[0][0], outcome)
        return outcome

    def prepare(self, procedure: LabProcedure) -> dict[str, Any]:
        """Parameters, the setup's limits and the sample name checked, before anything is
        output (and, for ``start``, in the calling thread, where a refusal can be shown)."""
        self._abort.clear()
        procedure.resolve_inputs(self.store, self.sample, self.lab.setup.device.name)
        parameters = procedure.validate_parameters()
        procedure.lab = self.lab
        procedure.check_limits(self.lab)
        if self.store is not None and self.lab.setup.simulated and not self.force:
            self.store.check_simulated_sample(self.sample)
        return parameters

    def _run_prepared(self, procedure: LabProcedure, parameters: dict[str, Any]) -> RunOutcome:
        writer = None
        if self.store is not None:
            writer = self.store.begin_run(
                procedure=procedure.NAME, columns=dict(procedure.COLUMNS), parameters=parameters,
                procedure_version=procedure.VERSION, sample=self.sample, operator=self.operator,
                setup=self.lab.setup.raw, snapshot=self.lab.snapshot(),
                device=self.lab.setup.device.name, clock=self.lab.clock,
                simulated=self.lab.setup.simulated, force=self.force)
        info = RunInfo(procedure=procedure.NAME, parameters=parameters,
                       columns=dict(procedure.COLUMNS), run_id=writer.run_id if writer else None,
                       sample=self.sample, operator=self.operator)
        procedure.emit = self._emitter(writer)
        procedure.should_stop = self._stop_requested
        procedure._image_sink = writer.add_image if writer else None
        self._notify("on_start", info)
        self._set_stop_checks(procedure.raise_if_stopped)

        status, error, interrupt = "failed", None, None
        try:
            self._phase = "running"
            procedure.status = procedure.RUNNING
            self.lab.clear_errors()
            procedure.startup()
            procedure.execute()
            self.lab.check_errors()  # a refused command or a silent instrument fails the run
            if self._stop_requested():
                status, error = "aborted", self._stop_cause()
            else:
                status = "finished"
        except Aborted as exc:
            status, error = "aborted", self._stop_cause() if self._stop_requested() else str(exc)
        except KeyboardInterrupt as exc:  # raised by the code itself: signals only take notes
            status, error, interrupt = "aborted", "aborted: interrupted (Ctrl-C)", exc
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then cleaned up
            status = "failed"
            error = f"{type(exc).__name__}: {exc}"
            if self._stop_requested():  # the stop came first; the failure may be its echo
                error = f"{self._stop_cause()}; then {error}"
            log.error("run failed:\n%s", traceback.format_exc())
        finally:
            self._set_stop_checks(None)  # the cleanup's own ramps run to their end
            self._phase = "cleanup"
            shutdown_error, problems = self._cleanup(procedure)
            self._phase = "recording"
        if shutdown_error:
            error = f"{error}; {shutdown_error}" if error else shutdown_error
        if problems:
            note = "; ".join(problems)
            error = f"{error}; SAFETY: {note}" if error else f"SAFETY: {note}"
            status = "failed"  # not left safe (or not confirmed): whatever else happened

        analysis = self._analyze(procedure, writer, status)
        for name, phase in list(self._signals):
            note = f"{name} received while {phase}" + (
                "; the cleanup went on to its end" if phase == "cleanup" else "")
            self._notify("on_event", "signal", note)
            if writer is not None:
                writer.event("signal", note)
        if writer is not None:
            try:
                writer.finish(status=status, error=error)
            except StoreError as exc:  # the database failed: the writer names its spill file
                status, error = "failed", f"{error}; {exc}" if error else str(exc)
        self._phase = "idle"
        self.outcome = RunOutcome(writer.run_id if writer else None, status, error, analysis,
                                  problems)
        self._notify("on_finish", status, error)
        if interrupt is not None:
            raise interrupt
        return self.outcome

    def _set_stop_checks(self, stop_check: Callable[[], None] | None) -> None:
        """Let every field axis end a ramp or settle wait when a stop is asked (None: not)."""
        for axis in self.lab.fields.values():
            axis.stop_check = stop_check

    def _cleanup(self, procedure: LabProcedure) -> tuple[str | None, list[str]]:
        """The one cleanup block: procedure shutdown, then the lab made safe. Never raises.

        Returns (what the procedure's shutdown raised, or None; the safety problems). The
        shutdown only adds procedure-specific steps (a gaussmeter's autorange back); whether
        the lab is safe is what ``make_safe`` confirms from the instruments' answers.
        """
        shutdown_error = None
        try:
            procedure.shutdown()
        except Exception as exc:  # noqa: BLE001
            shutdown_error = f"procedure shutdown: {type(exc).__name__}: {exc}"
        problems = self.lab.make_safe()
        for problem in problems:
            self._notify("on_event", "safety", problem)
        return shutdown_error, problems

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
