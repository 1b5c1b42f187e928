"""Lake Shore 643 electromagnet power supply (PyMeasure has no driver for it).

Unlike a Kepco BOP, the 643 ramps by itself: program RATE (A/s), then SETI (A), and the
supply walks the output there, reporting "ramp done" in its operational status. So the
software never steps it; it sets the rate, sets the target and waits for the ramp-done bit.

Operational status bits: ``COMPLIANCE`` = 1, ``RAMP_DONE`` = 2, ``POWER_LIMIT`` = 4. ``OPSTR?``
is the live condition register and is what ``ramp_done`` polls; ``OPST?`` is the latched
event register (cleared when read), which after a SETI to where the output already is never
shows a new "ramp done": a wait on it would hang.
"""

from __future__ import annotations

import logging

from pymeasure.instruments import Instrument

from dwlab.instruments.limits import check_range, in_range

log = logging.getLogger(__name__)

MAX_CURRENT_A = 70.1
RATE_A_S = (0.0001, 50.0)

COMPLIANCE = 1
RAMP_DONE = 2
POWER_LIMIT = 4

SOCKET_TERMINATIONS = {"read_termination": "\n", "write_termination": "\n"}
SERIAL_SETTINGS = {"baud_rate": 57600, "data_bits": 7, "parity": 1,  # odd, as Lake Shore's driver
                   "read_termination": "\r\n", "write_termination": "\r\n"}


class LakeShore643(Instrument):
    """Lake Shore 643 bipolar electromagnet supply (±70.1 A, internal ramping).

    .. code-block:: python

        ps = LakeShore643("ASRL/dev/ttyUSB0::INSTR")
        ps.ramp_rate = 1.0        # A/s
        ps.current_setpoint = 5   # A; the supply ramps there at 1 A/s
        while not ps.ramp_done:
            clock.sleep(0.5)
    """

    def __init__(self, adapter, name="Lake Shore 643 magnet supply", **kwargs):
        kwargs.setdefault("asrl", SERIAL_SETTINGS)
        kwargs.setdefault("gpib", {"read_termination": "\r\n", "write_termination": "\r\n"})
        kwargs.setdefault("tcpip", SOCKET_TERMINATIONS)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    current_setpoint = Instrument.control(
        "SETI?", "SETI %g",
        """Control the output current target in A (strictly -70.1 to 70.1); the supply
        ramps to it at :attr:`ramp_rate`.""",
        validator=in_range("current_setpoint", "A"),
        values=(-MAX_CURRENT_A, MAX_CURRENT_A),
    )

    ramp_rate = Instrument.control(
        "RATE?", "RATE %g",
        """Control the output current ramp rate in A/s (strictly 0.0001 to 50).""",
        validator=in_range("ramp_rate", "A/s"),
        values=RATE_A_S,
    )

    limits = Instrument.measurement(
        "LIMIT?",
        """Get the front-panel-proof limits as [max current A, max ramp rate A/s].""",
    )

    def set_limits(self, max_current_A: float, max_rate_A_s: float) -> None:
        """Set the supply's own current and ramp-rate limits (``LIMIT Imax,rate``)."""
        check_range("max_current_A", max_current_A, 0.0, MAX_CURRENT_A, "A")
        check_range("max_rate_A_s", max_rate_A_s, *RATE_A_S, "A/s")
        self.write(f"LIMIT {max_current_A:g},{max_rate_A_s:g}")

    current = Instrument.measurement(
        "RDGI?",
        """Measure the output current in A.""",
    )

    voltage = Instrument.measurement(
        "RDGV?",
        """Measure the output voltage in V.""",
    )

    operation_condition = Instrument.measurement(
        "OPSTR?",
        """Get the live operational condition register as an integer (see ``COMPLIANCE``,
        ``RAMP_DONE``, ``POWER_LIMIT``).""",
        cast=int,
    )

    operation_events = Instrument.measurement(
        "OPST?",
        """Get the operational events latched since the last read, as an integer (same bits
        as :attr:`operation_condition`); reading clears them.""",
        cast=int,
    )

    error_status = Instrument.measurement(
        "ERST?",
        """Get the error status registers as a list of integers (0 = no error).""",
        cast=int,
        get_process=lambda v: [v],
    )

    @property
    def ramp_done(self) -> bool:
        """Get whether the output is at the setpoint now (ramp-done bit of OPSTR?)."""
        return bool(self.operation_condition & RAMP_DONE)

    @property
    def in_compliance(self) -> bool:
        """Get whether the output is voltage-limited now (compliance bit of OPSTR?)."""
        return bool(self.operation_condition & COMPLIANCE)

    def stop(self) -> None:
        """Stop a ramp where it is (``STOP``); the output holds its present current."""
        self.write("STOP")

    def shutdown(self):
        """Set the target to zero: the supply ramps down by itself at :attr:`ramp_rate`."""
        log.info("Shutting down %s.", self.name)
        try:
            self.current_setpoint = 0.0
        finally:
            super().shutdown()
