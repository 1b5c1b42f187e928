"""Lake Shore 425 gaussmeter: PyMeasure's driver made strict and socket-ready.

The field axis verifies every field it sets with this probe. PyMeasure's class reads the field
and sets unit, range and mode; here the range refuses an unknown value instead of rounding up
to the next one (truncated_discrete_set), the unit error names the property, ``field`` parses
the 425's ``±nnn.nnnE±nn`` reply explicitly and turns an overload reply (``OL``: the field is
beyond the range) into ``FieldOverRangeError``, and a socket gets ``\\n`` terminations.
"""

from __future__ import annotations

import re

from pymeasure.instruments import Instrument
from pymeasure.instruments.lakeshore import LakeShore425 as PyMeasureLakeShore425

from dwlab.instruments.limits import one_of

SOCKET_TERMINATIONS = {"read_termination": "\n", "write_termination": "\n"}
_OVERLOAD = re.compile(r"^[+-]?OL$", re.IGNORECASE)


class FieldOverRangeError(RuntimeError):
    """The gaussmeter reads overload: the field is beyond its range (or the probe's)."""


def _field(reply) -> float:
    """Parse ``+012.345E+01`` (the 425's RDGFIELD? format) as a float; ``OL`` is an overload."""
    text = str(reply).strip()
    if _OVERLOAD.match(text):
        raise FieldOverRangeError(f"gaussmeter field over range (reading {text!r}): choose a "
                                  f"larger range or auto range")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"gaussmeter reply {text!r} is not a field reading") from None


class LakeShore425(PyMeasureLakeShore425):
    """Lake Shore 425 gaussmeter; set ``unit = "Oe"`` for the field axis."""

    def __init__(self, adapter, name="Lake Shore 425 gaussmeter", **kwargs):
        kwargs.setdefault("tcpip", SOCKET_TERMINATIONS)
        super().__init__(adapter, name, **kwargs)

    field = Instrument.measurement(
        "RDGFIELD?",
        """Measure the field in the present unit (see :attr:`unit`).""",
        cast=str,
        get_process=_field,
    )

    unit = Instrument.control(
        "UNIT?", "UNIT %d",
        """Control the field unit: "G", "T", "Oe" or "A/m".""",
        validator=one_of("unit"),
        values={"G": 1, "T": 2, "Oe": 3, "A/m": 4},
        map_values=True,
        cast=int,
    )

    range = Instrument.control(
        "RANGE?", "RANGE %d",
        """Control the full-scale range in G: 35, 350, 3500 or 35000 (turns auto range
        off).""",
        validator=one_of("range"),
        values={35: 1, 350: 2, 3500: 3, 35000: 4},
        map_values=True,
        cast=int,
    )
