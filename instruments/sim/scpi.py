"""A small SCPI responder: the parser, value types and error handling the simulated instruments share.

Each simulated instrument declares its command tree (``SOURce:PDELta:WIDTh``: long form, with
the short form in capitals; ``OUTPut[:STATe]``: optional nodes in brackets) and this module
does what every SCPI instrument does with a message: split it at ``;`` (a header without a
leading ``:`` is relative to the previous command's path), match long or short forms in any
case, parse values (units, ``MIN``/``MAX``/``DEF``, ``ON|OFF|1|0``, quoted strings), and post
an error to the queue read by ``SYST:ERR?`` when a command is wrong. A wrong command changes
nothing: its values are all parsed before anything is applied, and the rest of the message
is discarded, as on the real instruments.

Lake Shore instruments are not SCPI: they use the same tree (plain upper-case mnemonics) but
report a bad command through the command/execution-error bits of ``*ESR?`` instead of a queue
(``LakeShoreResponder``).
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

# error codes as the Keithley/Kepco manuals list them
UNDEFINED_HEADER = (-113, "Undefined header")
DATA_TYPE_ERROR = (-104, "Data type error")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
MISSING_PARAMETER = (-109, "Missing parameter")
SETTINGS_CONFLICT = (-221, "Settings conflict")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
DATA_STALE = (-230, "Data corrupt or stale")
TRIGGER_IGNORED = (-211, "Trigger ignored")
TRIGGER_DEADLOCK = (-214, "Trigger deadlock")
QUEUE_OVERFLOW = (-350, "Queue overflow")
INPUT_BUFFER_OVERRUN = (-363, "Input buffer overrun")
INTERNAL_ERROR = (-300, "Device-specific error")  # the simulator itself failed

ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 1, 4, 8, 16, 32


class ScpiError(Exception):
    """A command the instrument refuses; ``code`` and ``message`` go to the error queue."""

    def __init__(self, error: tuple[int, str], detail: str = ""):
        super().__init__(f"{error[0]},{error[1]}" + (f" ({detail})" if detail else ""))
        self.code, self.message = error


# ---------------------------------------------------------------- value types

_MULTIPLIERS = {"": 1.0, "P": 1e-12, "N": 1e-9, "U": 1e-6, "\u00b5": 1e-6, "M": 1e-3,
                "K": 1e3, "MA": 1e6}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z\u00b5]*)$")


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split at ``separator`` where it is not inside '...' or "..." quotes; parts stripped."""
    out, cur, quote = [], "", None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur += ch
        elif ch == separator:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def split_args(text: str) -> list[str]:
    """Split a parameter list at commas outside quotes; an empty text gives no arguments."""
    return split_outside_quotes(text, ",") if text.strip() else []


@dataclass
class Num:
    """A numeric parameter with limits, an optional unit suffix and MIN/MAX/DEF.

    ``inf`` allows the keyword INF (stored as ``math.inf``); ``integer`` refuses fractions.
    """

    lo: float
    hi: float
    default: float | None = None
    unit: str = ""
    integer: bool = False
    inf: bool = False

    def parse(self, text: str) -> float:
        word = text.strip().upper()
        if word in ("MIN", "MINIMUM"):
            return self.lo
        if word in ("MAX", "MAXIMUM"):
            return self.hi
        if word in ("DEF", "DEFAULT") and self.default is not None:
            return self.default
        if word in ("INF", "INFINITY") and self.inf:
            return math.inf
        m = _NUMBER.match(text.strip())
        if not m:
            raise ScpiError(DATA_TYPE_ERROR, f"expected a number, got {text!r}")
        value = float(m.group(1)) * self._multiplier(m.group(2))
        if not math.isfinite(value):  # 1e400: beyond any instrument's number format
            raise ScpiError(DATA_OUT_OF_RANGE, f"{text!r} is beyond the number range")
        if self.integer and value != int(value):
            raise ScpiError(DATA_TYPE_ERROR, f"expected an integer, got {text!r}")
        if not self.lo <= value <= self.hi:
            raise ScpiError(DATA_OUT_OF_RANGE, f"{value} not in [{self.lo}, {self.hi}]")
        return int(value) if self.integer else value

    def _multiplier(self, suffix: str) -> float:
        suffix = suffix.upper()
        unit = self.unit.upper()
        if not suffix:
            return 1.0
        if unit and suffix.endswith(unit) and suffix[: -len(unit)] in _MULTIPLIERS:
            return _MULTIPLIERS[suffix[: -len(unit)]]
        raise ScpiError(DATA_TYPE_ERROR, f"unit suffix {suffix!r} is not {self.unit or 'allowed'}")

    def format(self, value: float) -> str:
        if value == math.inf:
            return "9.9E37"
        return f"{int(value)}" if self.integer else f"{value:+.6E}"


class Bool:
    """``ON|OFF|1|0``; replies 1 or 0."""

    def parse(self, text: str) -> bool:
        word = text.strip().upper()
        if word in ("ON", "1"):
            return True
        if word in ("OFF", "0"):
            return False
        raise ScpiError(DATA_TYPE_ERROR, f"expected ON|OFF|1|0, got {text!r}")

    def format(self, value: bool) -> str:
        return "1" if value else "0"


class Choice:
    """A keyword from a fixed set, given in SCPI form (``FIXed``); stored as its short form."""

    def __init__(self, *words: str):
        self.words = {w.upper(): _short(w) for w in words} | {_short(w): _short(w) for w in words}

    def parse(self, text: str) -> str:
        word = text.strip().strip("'\"").upper()
        if word in self.words:
            return self.words[word]
        if re.match(r"^[+-]?[\d.]", word):
            raise ScpiError(DATA_TYPE_ERROR, f"expected one of {sorted(set(self.words.values()))}")
        raise ScpiError(ILLEGAL_PARAMETER, f"{text!r} not one of {sorted(set(self.words.values()))}")

    def format(self, value: str) -> str:
        return value


class Text:
    """A quoted string (either quote); replies it quoted."""

    def parse(self, text: str) -> str:
        t = text.strip()
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
            return t[1:-1]
        raise ScpiError(DATA_TYPE_ERROR, f"expected a quoted string, got {text!r}")

    def format(self, value: str) -> str:
        return f'"{value}"'


def one_arg(args: list[str]) -> str:
    """The single parameter of a setting; too few or too many is an error."""
    if not args:
        raise ScpiError(MISSING_PARAMETER)
    if len(args) > 1:
        raise ScpiError(PARAMETER_NOT_ALLOWED, f"{len(args)} parameters given, 1 expected")
    return args[0]


def no_args(args: list[str]) -> None:
    if args:
        raise ScpiError(PARAMETER_NOT_ALLOWED, f"{args!r}")


# ---------------------------------------------------------------- command tree

def _short(word: str) -> str:
    """Short form of a keyword: its capitals and digits (``PDELta`` -> ``PDEL``)."""
    return "".join(c for c in word if c.isupper() or c.isdigit() or c in "*?") or word.upper()


@dataclass
class Node:
    long: str
    short: str
    optional: bool

    def matches(self, word: str) -> bool:
        return word in (self.long, self.short)


def parse_pattern(pattern: str) -> list[Node]:
    """``SOURce:CURRent[:LEVel]`` -> nodes; ``[SENSe:]VOLTage`` makes the first node optional."""
    nodes, optional, token = [], False, ""
    for ch in pattern + ":":
        if ch in "[]:":
            if token:
                nodes.append(Node(token.upper(), _short(token), optional))
                token = ""
            if ch == "[":
                optional = True
            elif ch == "]":
                optional = False
        else:
            token += ch
    return nodes


def _match(nodes: list[Node], words: list[str]) -> bool:
    if not nodes:
        return not words
    head, rest = nodes[0], nodes[1:]
    if words and head.matches(words[0]) and _match(rest, words[1:]):
        return True
    return head.optional and _match(rest, words)


@dataclass
class Command:
    """One header: ``setter(args)`` for the command form, ``getter(args) -> str`` for ``?``."""

    nodes: list[Node]
    setter: Callable[[list[str]], None] | None = None
    getter: Callable[[list[str]], str] | None = None


@dataclass
class CommandTree:
    commands: list[Command] = field(default_factory=list)

    def add(self, pattern: str, setter=None, getter=None) -> None:
        self.commands.append(Command(parse_pattern(pattern), setter, getter))

    def setting(self, pattern: str, state: dict, key: str, kind, guard=None, after=None) -> None:
        """A stored setting: ``pattern value`` sets ``state[key]``, ``pattern?`` reads it.

        ``guard()`` may raise (e.g. a settings conflict while a sweep runs); ``after(value)``
        applies a side effect once the value is accepted.
        """
        def setter(args):
            value = kind.parse(one_arg(args))
            if guard:
                guard()
            state[key] = value
            if after:
                after(value)

        def getter(args):
            no_args(args)
            return kind.format(state[key])

        self.add(pattern, setter, getter)

    def find(self, words: list[str]) -> Command | None:
        for cmd in self.commands:
            if _match(cmd.nodes, words):
                return cmd
        return None


# ---------------------------------------------------------------- responders

class Responder:
    """Base of every simulated instrument: ``handle(message) -> reply | None``.

    Subclasses set ``idn``, declare commands in ``build(tree)`` and reset their settings in
    ``reset()``. Every message first brings the shared lab up to the present
    (``lab.advance()``) under the lab's lock, so instruments on several threads or sockets
    see one consistent device.
    """

    idn = "SIM,RESPONDER,0,0"

    def __init__(self, lab):
        self.lab = lab
        self.esr = 0
        self.ese = 0
        self.sre = 0
        self.tree = CommandTree()
        self.tree.add("*IDN", getter=lambda a: (no_args(a), self.idn)[1])
        self.tree.add("*RST", setter=lambda a: (no_args(a), self.reset()))
        self.tree.add("*CLS", setter=lambda a: (no_args(a), self.clear_status()))
        self.tree.add("*OPC", setter=self._opc, getter=lambda a: (no_args(a), self.wait_complete(), "1")[2])
        self.tree.add("*WAI", setter=lambda a: (no_args(a), self.wait_complete()))
        self.tree.add("*ESR", getter=self._read_esr)
        self.tree.add("*ESE", setter=self._set_ese, getter=lambda a: str(self.ese))
        self.tree.add("*SRE", setter=self._set_sre, getter=lambda a: str(self.sre))
        self.tree.add("*STB", getter=lambda a: (no_args(a), str(self.status_byte()))[1])
        self.tree.add("*TRG", setter=lambda a: (no_args(a), self.bus_trigger()))
        self.build(self.tree)
        self.reset()

    # -- to override
    def build(self, tree: CommandTree) -> None:
        """Declare the instrument's commands."""

    def reset(self) -> None:
        """``*RST``: back to the power-on settings."""

    def wait_complete(self) -> None:
        """``*OPC?``/``*WAI``: let the clock run until pending operations are done."""

    def bus_trigger(self) -> None:
        """``*TRG``: ignored unless the instrument waits for a bus trigger."""
        raise ScpiError(TRIGGER_IGNORED)

    def measurement_summary(self) -> int:
        """Bits 0..3 of the status byte that an instrument's own registers contribute."""
        return 0

    # -- status
    def clear_status(self) -> None:
        self.esr = 0

    def status_byte(self) -> int:
        stb = self.measurement_summary()
        if self.esr & self.ese:
            stb |= 32
        if stb & self.sre & ~64:
            stb |= 64
        return stb

    def _opc(self, args):
        no_args(args)
        self.wait_complete()
        self.esr |= ESR_OPC

    def _read_esr(self, args):
        no_args(args)
        value, self.esr = self.esr, 0
        return str(value)

    def _set_ese(self, args):
        self.ese = Num(0, 255, integer=True).parse(one_arg(args))

    def _set_sre(self, args):
        self.sre = Num(0, 255, integer=True).parse(one_arg(args))

    def post_error(self, code: int, message: str) -> None:
        """Record a refused command (the ESR bit here; SCPI instruments also queue it)."""
        self.esr |= ESR_CME if -200 < code <= -100 else ESR_EXE if -300 < code <= -200 \
            else ESR_DDE if -400 < code <= -300 else ESR_QYE

    # -- the message loop
    def handle(self, message: str) -> str | None:
        with self.lab.lock:
            self.lab.advance()
            replies: list[str] = []
            path: list[str] = []
            for unit in split_args_semicolon(message):
                try:
                    path, reply = self._execute(unit, path)
                except ScpiError as err:
                    self.post_error(err.code, err.message)
                    break
                if reply is not None:
                    replies.append(reply)
            return ";".join(replies) if replies else None

    def _execute(self, unit: str, path: list[str]) -> tuple[list[str], str | None]:
        header, _, argtext = unit.strip().partition(" ")
        is_query = header.endswith("?")
        header = header.rstrip("?").upper()
        if header.startswith(":*"):
            header = header[1:]
        if header.startswith("*"):
            words, new_path = [header], path
        elif header.startswith(":"):
            words = header[1:].split(":")
            new_path = words[:-1]
        else:
            words = path + header.split(":")
            new_path = words[:-1]
        cmd = self.tree.find(words)
        handler = None if cmd is None else cmd.getter if is_query else cmd.setter
        if handler is None:
            raise ScpiError(UNDEFINED_HEADER, unit.strip())
        result = handler(split_args(argtext))
        return new_path, (result if is_query else None)


def split_args_semicolon(message: str) -> list[str]:
    """Split a message into program units at ``;`` outside quotes, dropping empty ones."""
    return [unit for unit in split_outside_quotes(message.strip(), ";") if unit]


class ScpiResponder(Responder):
    """An SCPI instrument: adds the error queue (``SYST:ERR?``) and ``STAT`` basics."""

    queue_size = 10

    def __init__(self, lab):
        self.errors: deque[tuple[int, str]] = deque()
        super().__init__(lab)
        self.tree.add("SYSTem:ERRor[:NEXT]", getter=self._next_error)
        self.tree.add("SYSTem:CLEar", setter=lambda a: (no_args(a), self.errors.clear()))
        self.tree.add("STATus:QUEue:CLEar", setter=lambda a: (no_args(a), self.errors.clear()))
        self.tree.add("STATus:PRESet", setter=lambda a: no_args(a))

    def post_error(self, code: int, message: str) -> None:
        super().post_error(code, message)
        if len(self.errors) >= self.queue_size:
            self.errors[-1] = QUEUE_OVERFLOW
        else:
            self.errors.append((code, message))

    def clear_status(self) -> None:
        super().clear_status()
        self.errors.clear()

    def status_byte(self) -> int:
        return super().status_byte() | (4 if self.errors else 0)

    def _next_error(self, args) -> str:
        no_args(args)
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'


def require(condition: bool, error: tuple[int, str], detail: str = "") -> None:
    """Refuse the command with ``error`` unless ``condition`` holds."""
    if not condition:
        raise ScpiError(error, detail)


def parse_list(args: list[str], kind: Any, max_len: int = 100) -> list:
    """A comma list of values (``SOUR:LIST:CURR a,b,...``), each checked by ``kind``."""
    if not args:
        raise ScpiError(MISSING_PARAMETER)
    if len(args) > max_len:
        raise ScpiError(DATA_OUT_OF_RANGE, f"{len(args)} values, at most {max_len}")
    return [kind.parse(a) for a in args]
