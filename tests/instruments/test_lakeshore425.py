"""Lake Shore 425 gaussmeter driver, byte for byte."""

import pytest
from pymeasure.test import expected_protocol

from dwlab.instruments.lakeshore425 import LakeShore425


@pytest.mark.parametrize("reply, field", [
    ("+123.456E+00", 123.456),
    ("-012.345E+02", -1234.5),
    ("+000.000E+00", 0.0),
    ("+1.50000E-03", 1.5e-3),
    (" -35.000E+03 ", -35000.0),
])
def test_field_parses_the_425_format(reply, field):
    with expected_protocol(LakeShore425, [("RDGFIELD?", reply)]) as g:
        assert g.field == pytest.approx(field)


def test_unit_range_mode_and_probe_commands():
    with expected_protocol(LakeShore425, [
        ("UNIT 3", None), ("UNIT?", "3"),
        ("RANGE 3", None), ("RANGE?", "4"),
        ("AUTO", None),
        ("RDGMODE 1,0,1", None),
        ("ZPROBE", None),
    ]) as g:
        g.unit = "Oe"
        assert g.unit == "Oe"
        g.range = 3500
        assert g.range == 35000
        g.auto_range()
        g.dc_mode()
        g.zero_probe()


@pytest.mark.parametrize("prop, value, words", [
    ("range", 400, ["range", "400", "350", "3500"]),  # PyMeasure rounded this up to 3500
    ("unit", "mT", ["unit", "mT", "Oe"]),
])
def test_bad_value_raises_before_anything_is_sent(prop, value, words):
    with expected_protocol(LakeShore425, []) as g:
        with pytest.raises(ValueError) as err:
            setattr(g, prop, value)
    for word in words:
        assert word in str(err.value)
