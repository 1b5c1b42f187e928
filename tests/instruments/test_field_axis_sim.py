"""FieldAxis with the real drivers on the simulated lab: the 643's ramp-done wait and the
425's overload, as a real bench would show them."""

import pytest

from dwlab.instruments.field_axis import FieldAxisError
from dwlab.instruments.lakeshore425 import FieldOverRangeError
from dwlab.lab import Lab


@pytest.fixture
def lab():
    with Lab.open("sim") as lab:
        yield lab


def test_643_ramp_to_zero_when_already_at_zero_returns_at_once(lab):
    """A SETI 0 at 0 sets no new "ramp done" event in OPST?: a wait on the latched register
    timed out there, in every shutdown path; the live OPSTR? says done at once."""
    for _ in range(2):
        start = lab.clock.now()
        lab.field_x.ramp_to_zero()
        assert lab.clock.now() - start < 0.5
    lab.field_x.set_field(500.0)
    start = lab.clock.now()
    lab.field_x.ramp_to_zero()  # 500 Oe at 2000 Oe/s: 0.25 s of ramp
    assert 0.2 < lab.clock.now() - start < 1.0
    assert abs(lab.sim.field_Oe("x")) < 5.0


def test_gaussmeter_overload_is_a_one_line_error_naming_the_axis(lab):
    lab.gaussmeter_z.range = 35  # G full scale
    lab.field_z.ramp_to(300.0)
    with pytest.raises(FieldOverRangeError, match=r"^gaussmeter field over range \(reading 'OL'\)"):
        lab.gaussmeter_z.field  # noqa: B018 - reading the property is the test
    with pytest.raises(FieldAxisError) as err:
        lab.field_z.set_field(300.0)
    message = str(err.value)
    assert message.startswith("axis Hz: gaussmeter field over range") and "\n" not in message
    assert isinstance(err.value.__cause__, FieldOverRangeError)
    lab.gaussmeter_z.auto_range()
    assert lab.field_z.set_field(300.0) == pytest.approx(300.0, abs=5.0)
