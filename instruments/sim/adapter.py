"""In-process PyMeasure adapter onto a simulated instrument, with fault injection.

The same driver code runs on hardware (VISA adapter) and here: the driver writes a command
string, the simulated instrument's ``handle()`` answers, and a read returns the answer. A read
with nothing to read times out as VISA does, so a driver bug that waits for a reply that never
comes shows up here too. ``inject_fault`` makes the link or the instrument fail the ways real
hardware does, so the safety paths can be tested:

==================== ============================================== =======================
fault                what happens                                   a reconnect ...
==================== ============================================== =======================
``disconnect``       the link is gone: every write and read raises  cures it (a new link)
``timeout``          a dead unit: writes are lost, reads time out   does not (the unit)
``hung-but-writable`` a frozen unit behind a live link: writes are   does not
                     carried out, but no query is ever answered
``wrong-reply``      writes are carried out, every reply is garbage does not
==================== ============================================== =======================

A fault of the instrument itself stays with the simulated instrument, so ``Lab.reopen`` (a new
adapter onto the same responder) finds it still there, as on a real stage.
"""

from __future__ import annotations

import weakref
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from pymeasure.adapters import Adapter
from pyvisa import constants
from pyvisa.errors import VisaIOError

LINK_FAULTS = ("disconnect",)
UNIT_FAULTS = ("timeout", "hung-but-writable", "wrong-reply")
FAULTS = LINK_FAULTS + UNIT_FAULTS
GARBAGE_REPLY = "\x15#?garbage?#"  # NAK and noise: parses as no number, no keyword


class Responder(Protocol):
    """What a simulated instrument offers: one message in, its reply (or None) out."""

    def handle(self, message: str) -> str | None: ...


@dataclass
class _Fault:
    """A fault that starts after ``countdown`` messages and lasts ``remaining`` (None: ever)."""

    kind: str
    countdown: int
    remaining: int | None

    def active(self) -> bool:
        """Count one message; whether the fault hits it."""
        if self.countdown > 0:
            self.countdown -= 1
            return False
        if self.remaining is not None:
            self.remaining -= 1
            return self.remaining >= 0
        return True


# faults of the simulated instruments themselves, shared by every adapter onto one of them
_unit_faults: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class SimAdapter(Adapter):
    """A PyMeasure adapter that talks to a simulated instrument in the same process."""

    def __init__(self, responder: Responder, **kwargs):
        super().__init__(**kwargs)
        self.responder = responder
        self._replies: deque[str] = deque()
        self._link_fault: _Fault | None = None
        self.connection = self  # PyMeasure closes `connection`; nothing to close here

    def inject_fault(self, kind: str, after_messages: int = 0,
                     lasting_messages: int | None = None) -> None:
        """Fail messages (writes and reads) from the ``after_messages``-th one on.

        ``kind`` is one of ``FAULTS`` (see the module's table). ``lasting_messages`` makes
        the fault a transient glitch that clears after that many failed messages; None keeps
        it until ``clear_fault()``, or, for a ``disconnect``, until the link is reopened.
        """
        if kind not in FAULTS:
            raise ValueError(f"fault kind {kind!r} is not one of {FAULTS}")
        if after_messages < 0:
            raise ValueError(f"after_messages must be >= 0, got {after_messages}")
        if lasting_messages is not None and lasting_messages < 1:
            raise ValueError(f"lasting_messages must be >= 1 or None, got {lasting_messages}")
        self.clear_fault()
        fault = _Fault(kind, after_messages, lasting_messages)
        if kind in LINK_FAULTS:
            self._link_fault = fault
        else:
            _unit_faults[self.responder] = fault

    def clear_fault(self) -> None:
        """End any fault of this link and of the instrument behind it."""
        self._link_fault = None
        _unit_faults.pop(self.responder, None)

    def _fault(self) -> str | None:
        """The kind of fault that hits this message, if any (each call is one message)."""
        for fault in (self._link_fault, _unit_faults.get(self.responder)):
            if fault is not None and fault.active():
                return fault.kind
        return None

    def _write(self, command: str, **kwargs) -> None:
        fault = self._fault()
        if fault == "disconnect":
            raise ConnectionError("simulated instrument: connection lost")
        if fault == "timeout":
            return  # a dead instrument swallows the write
        reply = self.responder.handle(command)
        if reply is None or fault == "hung-but-writable":
            return  # carried out; a frozen unit never answers
        self._replies.append(GARBAGE_REPLY if fault == "wrong-reply" else reply)

    def _read(self, **kwargs) -> str:
        fault = self._fault()
        if fault == "disconnect":
            raise ConnectionError("simulated instrument: connection lost")
        if fault in ("timeout", "hung-but-writable") or not self._replies:
            raise VisaIOError(constants.StatusCode.error_timeout)
        reply = self._replies.popleft()
        return GARBAGE_REPLY if fault == "wrong-reply" else reply

    def flush_read_buffer(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        self._replies.clear()

    def __repr__(self) -> str:
        return f"<SimAdapter {type(self.responder).__name__}>"
