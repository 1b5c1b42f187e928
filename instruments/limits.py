"""Strict validators and reply parsers shared by the dwlab drivers.

PyMeasure's own ``strict_range`` refuses a bad value but its message does not say which
setting was wrong, and its ``truncated_range`` silently sends a different value than the one
asked for (a 0.2 A request becomes 0.105 A). Here every validator names the property, the
value and the limit, and raises before anything is written. Each carries ``strict = True`` so
the driver meta-test can check that no property of a dwlab driver truncates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from typing import Any

import numpy as np

#: Keithley instruments report an overflowed or invalid reading as +9.9E37.
OVERFLOW = 9.9e37

Validator = Callable[[Any, Any], Any]


def _strict(fn: Validator) -> Validator:
    fn.strict = True
    return fn


def check_range(name: str, value: Any, low: float, high: float, unit: str = "") -> float:
    """Return ``value`` if ``low <= value <= high``, else raise a ValueError naming ``name``.

    NaN and non-numbers are refused too: ``nan <= x`` is False, and a string is not a value.
    """
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(
            f"{name} = {value:g}{suffix} is outside the allowed range "
            f"[{low:g}, {high:g}]{suffix}"
        )
    return value


def in_range(name: str, unit: str = "", integer: bool = False) -> Validator:
    """Validator for a number within ``values = (low, high)``; ``integer`` refuses 2.5."""

    def validate(value, values):
        check_range(name, value, min(values), max(values), unit)
        if integer:
            if not float(value).is_integer():
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            return int(value)
        return value

    return _strict(validate)


def in_range_or(name: str, words: Sequence[str], unit: str = "",
                integer: bool = False) -> Validator:
    """Validator for a number within ``values`` or one of the keywords (e.g. ``"INF"``).

    Keywords are matched case-insensitively and returned upper case.
    """
    number = in_range(name, unit, integer)
    allowed = tuple(w.upper() for w in words)

    def validate(value, values):
        if isinstance(value, str):
            if value.upper() in allowed:
                return value.upper()
            raise ValueError(f"{name} = {value!r} is not a number or one of {allowed}")
        try:
            return number(value, values)
        except ValueError as exc:
            raise ValueError(f"{exc} (or one of {allowed})") from None

    return _strict(validate)


def one_of(name: str) -> Validator:
    """Validator for a value in a discrete set (the keys when ``values`` is a dict)."""

    def validate(value, values):
        choices = list(values)
        if value in choices:
            return value
        raise ValueError(f"{name} = {value!r} is not one of {choices}")

    return _strict(validate)


def all_of(name: str) -> Validator:
    """Validator for a non-empty sequence of items, each in ``values`` (e.g. FORM:ELEM)."""

    def validate(value, values):
        items = [value] if isinstance(value, str) else list(value)
        choices = list(values)
        bad = [item for item in items if item not in choices]
        if not items or bad:
            raise ValueError(f"{name} = {value!r}: each item must be one of {choices}")
        return items

    return _strict(validate)


def check_all_in_range(name: str, values: Iterable[float], low: float, high: float,
                       unit: str = "") -> list[float]:
    """Check every element of a list setting (list sweep currents, delays) before sending."""
    checked = []
    for i, v in enumerate(values):
        checked.append(check_range(f"{name}[{i}]", v, low, high, unit))
    return checked


def scpi_bool(reply: Any) -> bool:
    """Parse a SCPI boolean reply, which an instrument may give as 1/0 or ON/OFF."""
    if isinstance(reply, str):
        word = reply.strip().upper()
        if word in ("ON", "1"):
            return True
        if word in ("OFF", "0"):
            return False
        raise ValueError(f"not a SCPI boolean reply: {reply!r}")
    return bool(reply)


def on_off(reply: Any) -> str:
    """Turn a 1/0/ON/OFF reply into ``"ON"``/``"OFF"`` so a mapped property reads back a bool."""
    return "ON" if scpi_bool(reply) else "OFF"


def overflow_to_nan(values: Any) -> np.ndarray:
    """Float array with the Keithley overflow marker (|x| >= 9.9E37) replaced by NaN."""
    array = np.asarray(values, dtype=float)
    return np.where(np.abs(array) >= OVERFLOW, math.nan, array)


def scpi_list(values: Iterable[float]) -> str:
    """Comma-separated numbers as SCPI list parameters take them (``1e-3,2e-3``)."""
    return ",".join(f"{v:g}" for v in values)

