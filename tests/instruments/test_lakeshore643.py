"""Lake Shore 643 magnet supply driver, byte for byte."""

import pytest
from pymeasure.test import expected_protocol

from dwlab.instruments.lakeshore643 import LakeShore643


def test_ramped_setpoint_sequence():
    with expected_protocol(LakeShore643, [
        ("RATE 0.5", None),
        ("SETI 12.5", None),
        ("OPSTR?", "0"),
        ("RDGI?", "+6.2500"),
        ("RDGV?", "+1.204"),
        ("OPSTR?", "2"),
        ("SETI?", "+12.5000"),
        ("RATE?", "+0.5000"),
        ("STOP", None),
    ]) as ps:
        ps.ramp_rate = 0.5
        ps.current_setpoint = 12.5
        assert not ps.ramp_done
        assert ps.current == 6.25
        assert ps.voltage == pytest.approx(1.204)
        assert ps.ramp_done
        assert ps.current_setpoint == 12.5
        assert ps.ramp_rate == 0.5
        ps.stop()


@pytest.mark.parametrize("status, done, compliance", [(0, False, False), (1, False, True),
                                                      (2, True, False), (3, True, True)])
def test_ramp_done_and_compliance_read_the_live_condition_register(status, done, compliance):
    with expected_protocol(LakeShore643, [("OPSTR?", str(status)), ("OPSTR?", str(status)),
                                          ("OPST?", str(status))]) as ps:
        assert ps.ramp_done is done
        assert ps.in_compliance is compliance
        assert ps.operation_events == status


def test_limits_and_errors():
    with expected_protocol(LakeShore643, [
        ("LIMIT 60,5", None),
        ("LIMIT?", "+60.0000,+5.0000"),
        ("ERST?", "0,0"),
    ]) as ps:
        ps.set_limits(60, 5)
        assert ps.limits == [60.0, 5.0]
        assert ps.error_status == [0, 0]


@pytest.mark.parametrize("prop, value, words", [
    ("current_setpoint", 70.2, ["current_setpoint", "70.2", "70.1"]),
    ("current_setpoint", -80, ["current_setpoint", "-80", "-70.1"]),
    ("ramp_rate", 0.00005, ["ramp_rate", "5e-05", "0.0001"]),
    ("ramp_rate", 51, ["ramp_rate", "51", "50"]),
])
def test_out_of_range_raises_before_anything_is_sent(prop, value, words):
    with expected_protocol(LakeShore643, []) as ps:
        with pytest.raises(ValueError) as err:
            setattr(ps, prop, value)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("imax, rate, name", [(71, 1, "max_current_A"),
                                               (10, 60, "max_rate_A_s")])
def test_limit_command_checked_before_sending(imax, rate, name):
    with expected_protocol(LakeShore643, []) as ps:
        with pytest.raises(ValueError, match=name):
            ps.set_limits(imax, rate)


def test_shutdown_targets_zero_and_lets_the_supply_ramp():
    with expected_protocol(LakeShore643, [("SETI 0", None)]) as ps:
        ps.shutdown()
        assert ps.isShutdown
