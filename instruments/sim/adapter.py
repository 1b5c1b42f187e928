"""In-process PyMeasure adapter onto a simulated instrument, with fault injection.

The same driver code runs on hardware (VISA adapter) and here: the driver writes a command
string, the simulated instrument's ``handle()`` answers, and a read returns the answer. A read
with nothing to read times out as VISA does, so a driver bug that waits for a reply that never
comes shows up here too. ``inject_fault`` makes the adapter fail like real hardware does
(a timeout, or a lost connection) so safety paths can be tested.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from pymeasure.adapters import Adapter
from pyvisa import constants
from pyvisa.errors import VisaIOError

FAULTS = ("timeout", "disconnect")


class Responder(Protocol):
    """What a simulated instrument offers: one message in, its reply (or None) out."""

    def handle(self, message: str) -> str | None: ...


class SimAdapter(Adapter):
    """A PyMeasure adapter that talks to a simulated instrument in the same process."""

    def __init__(self, responder: Responder, **kwargs):
        super().__init__(**kwargs)
        self.responder = responder
        self._replies: deque[str] = deque()
        self._fault: str | None = None
        self._fault_countdown = 0
        self._fault_remaining: int | None = None
        self.connection = self  # PyMeasure closes `connection`; nothing to close here

    def inject_fault(self, kind: str, after_messages: int = 0,
                     lasting_messages: int | None = None) -> None:
        """Fail messages from the ``after_messages``-th one on.

        ``timeout``: the instrument stops answering (reads time out, writes are lost);
        ``disconnect``: the link is gone (every write and read raises at once).
        ``lasting_messages`` makes the fault a transient glitch that clears after that many
        failed messages; None keeps it until ``clear_fault()`` (or the lab reopens the link).
        """
        if kind not in FAULTS:
            raise ValueError(f"fault kind {kind!r} is not one of {FAULTS}")
        if after_messages < 0:
            raise ValueError(f"after_messages must be >= 0, got {after_messages}")
        if lasting_messages is not None and lasting_messages < 1:
            raise ValueError(f"lasting_messages must be >= 1 or None, got {lasting_messages}")
        self._fault, self._fault_countdown = kind, after_messages
        self._fault_remaining = lasting_messages

    def clear_fault(self) -> None:
        self._fault = None

    def _faulted(self) -> bool:
        if self._fault is None:
            return False
        if self._fault_countdown > 0:
            self._fault_countdown -= 1
            return False
        if self._fault_remaining is not None:
            self._fault_remaining -= 1
            if self._fault_remaining < 0:
                self._fault = None
                return False
        return True

    def _write(self, command: str, **kwargs) -> None:
        if self._faulted():
            if self._fault == "disconnect":
                raise ConnectionError("simulated instrument: connection lost")
            return  # a timed-out instrument swallows the write
        reply = self.responder.handle(command)
        if reply is not None:
            self._replies.append(reply)

    def _read(self, **kwargs) -> str:
        if self._faulted():
            if self._fault == "disconnect":
                raise ConnectionError("simulated instrument: connection lost")
            raise VisaIOError(constants.StatusCode.error_timeout)
        if not self._replies:
            raise VisaIOError(constants.StatusCode.error_timeout)
        return self._replies.popleft()

    def flush_read_buffer(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        self._replies.clear()

    def __repr__(self) -> str:
        return f"<SimAdapter {type(self.responder).__name__}>"
