"""The two kinds of error a user meets, and how the command line reports them.

Every exception the user can cause derives from one of two bases, so the command line turns
it into one line on stderr (``dwlab: ...``) and an exit status without knowing each class:

- ``BadInput`` (exit status 2): something the user typed or wrote is refused -- a parameter,
  a setup key, a database URL, a file name. Nothing was changed anywhere.
- ``Failure`` (exit status 1): the input was fine but the work failed -- an instrument did
  not answer, the database could not be written, a camera SDK is missing.

Anything else is a bug and keeps its traceback. ``-v`` shows the traceback of every error.
"""

from __future__ import annotations

import difflib

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # the shell's convention for a Ctrl-C


class BadInput(Exception):
    """Refused input; the message names the thing, the value and what is allowed."""


class Failure(Exception):
    """Work that failed for a reason outside the input (instrument, database, driver)."""


class UsageError(BadInput, ValueError):
    """A command-line mistake: an unknown option, a missing ``--setup``, a bad value."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (TOML and SQL errors span several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def exit_status(exc: BaseException) -> int | None:
    """2 for bad input, 1 for a failure, None for anything else (a bug: keep the traceback)."""
    if isinstance(exc, BadInput):
        return EXIT_BAD_INPUT
    if isinstance(exc, Failure):
        return EXIT_FAILED
    return None


def closest(word: str, candidates: list[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be (a typo, a letter's case, a missing
    letter), or None when none is close."""
    by_lower = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None
