"""Lake Shore 425 gaussmeter: PyMeasure's driver made strict and socket-ready.

The field axis verifies every field it sets with this probe. PyMeasure's class reads the field
and sets unit, range and mode; here the range refuses an unknown value instead of rounding up
to the next one (truncated_discrete_set), the unit error names the property, ``field`` parses
the 425's ``±nnn.nnnE±nn`` reply explicitly, and a socket gets ``\\n`` terminations.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.lakeshore import LakeShore425 as PyMeasureLakeShore425

from dwlab.instruments.limits import one_of

SOCKET_TERMINATIONS = {"read_termination": "\n", "write_termination": "\n"}


def _field(reply) -> float:
    """Parse ``+012.345E+01`` (the 425's RDGFIELD? format) as a float."""
    return float(str(reply).strip())


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
