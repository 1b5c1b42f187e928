"""Kepco BOP driver: limits at construction, software ramp on the clock, safe shutdown."""

import inspect

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from dwlab.clock import VirtualClock
from dwlab.instruments.kepco_bop import KepcoBOP, ramp_setpoints

LIMITS = dict(max_current_A=5.0, max_voltage_V=20.0, ramp_rate_A_s=2.0, ramp_step_s=0.25)


def bop(comm, clock=None):
    return expected_protocol(KepcoBOP, comm, clock=clock or VirtualClock(), **LIMITS)


def test_settings_and_readings():
    with bop([
        ("FUNC:MODE CURR", None), ("FUNC:MODE?", "1"),
        ("VOLT 20", None), ("CURR -5", None),
        ("OUTP 1", None), ("OUTP?", "1"),
        ("MEAS:CURR?", "-4.998"), ("MEAS:VOLT?", "3.1"),
    ]) as b:
        b.operating_mode = "CURR"
        assert b.operating_mode == "CURR"
        b.voltage_limit = 20
        b.current_setpoint = -5
        b.output_enabled = True
        assert b.output_enabled is True
        assert b.current == pytest.approx(-4.998)
        assert b.voltage == pytest.approx(3.1)


@pytest.mark.parametrize("prop, value, words", [
    ("current_setpoint", 5.1, ["current_setpoint", "5.1", "5"]),
    ("current_setpoint", -6, ["current_setpoint", "-6", "-5"]),
    ("voltage_limit", 21, ["voltage_limit", "21", "20"]),
    ("operating_mode", "RES", ["operating_mode", "RES"]),
])
def test_limits_given_at_construction_refuse_before_sending(prop, value, words):
    with bop([]) as b:
        with pytest.raises(ValueError) as err:
            setattr(b, prop, value)
    for word in words:
        assert word in str(err.value)


def test_a_bigger_bop_can_have_wider_limits_than_pymeasures_3612():
    with expected_protocol(KepcoBOP, [("CURR 20", None)], max_current_A=20, max_voltage_V=50,
                           ramp_rate_A_s=1, clock=VirtualClock()) as b:
        b.current_setpoint = 20  # KepcoBOP3612 would truncate this to 12 A


def test_has_no_property_that_sends_diag_test():
    # DIAG:TST? swings the output to full scale: with a magnet attached, a full-current step
    commands = []
    for name in dir(KepcoBOP):
        prop = getattr(KepcoBOP, name)
        if isinstance(prop, property):
            for fn, arg in ((prop.fget, "get_command"), (prop.fset, "set_command")):
                param = inspect.signature(fn).parameters.get(arg) if fn else None
                if param is not None and isinstance(param.default, str):
                    commands.append(param.default.upper())
    assert "CURR %G" in commands  # the scan does see the driver's commands
    assert not any("DIAG" in c for c in commands)
    assert not hasattr(KepcoBOP, "bop_test")


def test_ramp_steps_at_bounded_rate_on_the_clock():
    clock = VirtualClock()
    with bop([("CURR?", "0"), ("CURR 0.5", None), ("CURR 1", None), ("CURR 1.5", None)],
             clock) as b:
        b.ramp_to(1.5)
    assert clock.now() == pytest.approx(0.75)  # 1.5 A at 2 A/s in 0.25 s steps


def test_ramp_refuses_rate_above_the_configured_one_before_sending():
    with bop([]) as b:
        with pytest.raises(ValueError, match="rate"):
            b.ramp_to(1.0, rate_A_s=3.0)
        with pytest.raises(ValueError, match="target"):
            b.ramp_to(5.5)


def test_shutdown_ramps_to_zero_before_output_off():
    clock = VirtualClock()
    with bop([("CURR?", "-1"), ("CURR -0.5", None), ("CURR 0", None), ("OUTP 0", None)],
             clock) as b:
        b.shutdown()
        assert b.isShutdown
    assert clock.now() == pytest.approx(0.5)


def test_shutdown_turns_output_off_even_if_the_ramp_fails():
    with bop([("OUTP 0", None)]) as b:
        def broken(*args, **kwargs):
            raise ConnectionError("lost the BOP mid-ramp")
        b.ramp_to = broken
        with pytest.raises(ConnectionError):
            b.shutdown()


@pytest.mark.parametrize("start, target, rate, step", [
    (0.0, 1.0, 2.0, 0.1), (3.0, -2.0, 0.7, 0.25), (0.0, 1e-4, 1.0, 0.1), (1.0, 1.0, 1.0, 0.1)])
def test_ramp_setpoints_never_exceed_rate_and_end_on_target(start, target, rate, step):
    points = ramp_setpoints(start, target, rate, step)
    steps = np.abs(np.diff(np.concatenate([[start], points])))
    assert points[-1] == target
    assert np.all(steps <= rate * step * (1 + 1e-12))


def test_construction_refuses_nonpositive_limits():
    with pytest.raises(ValueError, match="max_current_A"):
        KepcoBOP(None, max_current_A=0, max_voltage_V=1, ramp_rate_A_s=1)
