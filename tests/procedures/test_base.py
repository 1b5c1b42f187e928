"""Procedure parameters as a physicist types them: lists of fields, negative values."""

import pytest

from dwlab.cli_procedures import attach_negative_values, parameter_parser
from dwlab.procedures.base import FloatListParameter, LabProcedure, ParameterError
from dwlab.procedures.parameter_table import rows_of_class


class Visit(LabProcedure):
    NAME = "visit"
    fields_Oe = FloatListParameter("Fields to visit", units="Oe", minimum=-5000, maximum=5000,
                                   default=[-1160.0, -1100.0])


def test_list_parameter_takes_lists_and_comma_separated_text():
    assert Visit().fields_Oe == [-1160.0, -1100.0]
    assert Visit(fields_Oe="-1000, -900,").fields_Oe == [-1000.0, -900.0]
    assert Visit(fields_Oe=[1, 2.5]).fields_Oe == [1.0, 2.5]


@pytest.mark.parametrize("value, words", [
    ("-1000, abc", r"'-1000, abc' is not a list of numbers"),
    ("", r"holds no value"),
    ("-1000, -6000", r"entry -6000 is outside \[-5000, 5000\]"),
])
def test_list_parameter_names_the_bad_entry(value, words):
    with pytest.raises(ParameterError, match=rf"visit: parameter fields_Oe .*{words}"):
        Visit(fields_Oe=value)


def test_command_line_takes_negative_values_without_an_equals_sign():
    parser = parameter_parser("visit", "", rows_of_class(Visit))
    tokens = attach_negative_values(["--fields-Oe", "-1160,-1100"], parser)
    assert vars(parser.parse_args(tokens)) == {"fields_Oe": "-1160,-1100"}
    assert Visit(fields_Oe=parser.parse_args(tokens).fields_Oe).fields_Oe == [-1160.0, -1100.0]
