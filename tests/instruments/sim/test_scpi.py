"""The SCPI parser and error queue, exercised through the simulated 6221 and a Lake Shore."""

import pytest

from dwlab.instruments.sim.lab import SimLab
from dwlab.instruments.sim.scpi import Num, ScpiError, parse_pattern, split_args


@pytest.fixture
def src():
    return SimLab(seed=1).responders()["source"]


def test_long_short_and_any_case_address_the_same_setting(src):
    src.handle("SOURce:PDELta:WIDTh 0.0005")
    assert float(src.handle("sour:pdel:widt?")) == pytest.approx(5e-4)
    src.handle(":source:pdelta:width 0.001")
    assert float(src.handle("SOUR:PDEL:WIDT?")) == pytest.approx(1e-3)
    assert src.handle("SYST:ERR?") == '0,"No error"'


def test_optional_nodes_may_be_given_or_left_out(src):
    src.handle("OUTPut:STATe ON")
    assert src.handle("OUTP?") == "1"
    src.handle("OUTP OFF")
    assert src.handle("OUTPUT:STATE?") == "0"
    src.handle("CURR 2e-3")  # [SOURce:]CURRent[:LEVel]
    assert float(src.handle("SOUR:CURR:LEV:IMM:AMPL?")) == pytest.approx(2e-3)


def test_semicolons_join_commands_and_a_bare_header_is_relative_to_the_last_path(src):
    reply = src.handle("SOUR:PDEL:HIGH 0.01;LOW -0.001;:SOUR:PDEL:HIGH?;LOW?")
    assert [float(v) for v in reply.split(";")] == pytest.approx([0.01, -0.001])
    # OUTP relative to SOUR: is SOUR:OUTP, which does not exist (as on the real instrument)
    src.handle("SOUR:CURR 1e-3;OUTP ON")
    assert src.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert src.handle("OUTP?") == "0"


def test_units_min_max_def_and_inf():
    assert Num(50e-6, 12e-3, unit="S").parse("500us") == pytest.approx(5e-4)
    assert Num(-0.105, 0.105, unit="A").parse("20 mA") == pytest.approx(0.02)
    assert Num(1, 65536, 10, integer=True, inf=True).parse("INF") == float("inf")
    assert Num(0.1, 105, 10).parse("MAX") == 105 and Num(0.1, 105, 10).parse("def") == 10
    with pytest.raises(ScpiError) as err:
        Num(0, 1, unit="A").parse("1 V")
    assert err.value.code == -104


def test_quoted_strings_keep_their_commas_and_semicolons():
    assert split_args('"a,b;c", 2') == ['"a,b;c"', "2"]
    nodes = parse_pattern("[SENSe:]VOLTage[:DC]:NPLCycles")
    assert [(n.short, n.optional) for n in nodes] == [("SENS", True), ("VOLT", False),
                                                      ("DC", True), ("NPLC", False)]


def test_undefined_header_posts_113_and_changes_nothing(src):
    src.handle("SOUR:PDEL:WIDT 0.001")
    src.handle("SOUR:PDEL:WIDTHX 0.002")
    assert src.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert float(src.handle("SOUR:PDEL:WIDT?")) == pytest.approx(1e-3)


@pytest.mark.parametrize("command, code", [
    ("SOUR:PDEL:WIDT 0.02", -222),  # 20 ms > 12 ms
    ("SOUR:PDEL:WIDT 10e-6", -222),  # < 50 us
    ("SOUR:CURR 0.2", -222),  # > 105 mA
    ("SOUR:CURR:COMP 200", -222),
    ("SOUR:PDEL:COUN 70000", -222),
    ("SOUR:PDEL:WIDT fast", -104),
    ("OUTP maybe", -104),
    ("SOUR:PDEL:COUN 2.5", -104),
])
def test_bad_values_are_refused_never_clipped(src, command, code):
    before = {q: src.handle(q) for q in ("SOUR:PDEL:WIDT?", "SOUR:CURR?", "SOUR:CURR:COMP?",
                                          "SOUR:PDEL:COUN?", "OUTP?")}
    src.handle(command)
    assert src.handle("SYST:ERR?").startswith(f"{code},")
    assert src.handle("SYST:ERR?") == '0,"No error"'
    assert {q: src.handle(q) for q in before} == before


def test_an_error_discards_the_rest_of_the_message(src):
    src.handle(":SOUR:CURR 1e-3;:SOUR:CURR 1;:SOUR:CURR 2e-3")
    assert float(src.handle("SOUR:CURR?")) == pytest.approx(1e-3)


def test_error_queue_is_first_in_first_out_and_cleared_by_cls(src):
    src.handle("BOGUS")
    src.handle("SOUR:CURR 5")
    assert int(src.handle("*STB?")) & 4  # error available
    assert int(src.handle("*ESR?")) & 48 == 48  # command error and execution error
    assert src.handle("SYST:ERR?").startswith("-113")
    assert src.handle("SYST:ERR?").startswith("-222")
    src.handle("BOGUS")
    src.handle("*CLS")
    assert src.handle("SYST:ERR?") == '0,"No error"'


def test_common_commands(src):
    src.handle("SOUR:CURR 3e-3")
    src.handle("*RST")
    assert float(src.handle("SOUR:CURR?")) == 0.0
    assert src.handle("*OPC?") == "1"


def test_lake_shore_errors_set_status_bits_and_change_nothing():
    ls = SimLab(seed=1).responders()["magnet_x"]
    ls.handle("SETI 1.5")
    ls.handle("SETI 500")  # beyond the limit: refused, not clipped
    assert int(ls.handle("*ESR?")) == 16  # execution error
    assert float(ls.handle("SETI?")) == pytest.approx(1.5)
    ls.handle("FLY 1")
    assert int(ls.handle("*ESR?")) == 32  # command error
    assert ls.handle("SYST:ERR?") is None  # not SCPI: that is just another unknown command
    assert int(ls.handle("*ESR?")) == 32
