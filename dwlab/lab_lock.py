"""One process owns a lab's instruments at a time: an OS file lock per setup.

The lock file lives in the user data dir (``DWLAB_LOCK_DIR`` overrides it, for tests), named
after the setup's name and path, and holds the holder's pid, host and command line, so the
refusal names who has the lab. The OS drops the lock when the holder exits, however it exits
(a killed process leaves no stale lock to clear by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from pathlib import Path

import platformdirs

from dwlab.errors import Failure

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


class LabBusyError(Failure, RuntimeError):
    """Another process holds this setup's instruments (the command line: exit status 1)."""


def needs_lock(setup) -> bool:
    """A lab simulated inside this process shares no instruments; any other setup does."""
    return not setup.simulated


def hold(setup) -> LabLock | None:
    """The setup's lock, acquired (None for an in-process simulated lab); ``setup``: a
    ``LabSetup``, a setup file path, or ``"sim"``. Keep the result while using the lab."""
    if not hasattr(setup, "instruments"):
        from dwlab.setup import load_setup

        setup = load_setup(setup)
    return LabLock(setup).acquire() if needs_lock(setup) else None


def lock_dir() -> Path:
    return Path(os.environ.get("DWLAB_LOCK_DIR") or platformdirs.user_data_dir("dwlab")) / "locks"


def lock_path(setup) -> Path:
    """The lock file of a setup: one per setup file (the simulated lab has its own)."""
    where = str(Path(setup.path).resolve()) if getattr(setup, "path", None) else setup.name
    digest = hashlib.sha1(where.encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in setup.name)
    return lock_dir() / f"{safe}-{digest}.lock"


class LabLock:
    """Held while open; ``acquire`` raises ``LabBusyError`` naming the holder."""

    def __init__(self, setup):
        self.setup = setup
        self.path = lock_path(setup)
        self._fd: int | None = None

    def acquire(self) -> LabLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise LabBusyError(
                f"setup {self.setup.name!r} is in use by pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')} ({holder.get('command', '?')}); close that first "
                f"(lock file {self.path})")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "command": " ".join(sys.argv)}).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the OS lock
            self._fd = None

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> LabLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}
