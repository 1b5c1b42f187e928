"""Keithley 6221 driver, byte for byte (pymeasure.test.expected_protocol)."""

import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from dwlab.clock import VirtualClock
from dwlab.instruments.keithley6221 import Keithley6221


@pytest.mark.parametrize("prop, value, sent", [
    ("pulse_delta_high", 5e-3, "SOUR:PDEL:HIGH 0.005"),
    ("pulse_delta_low", -1e-4, "SOUR:PDEL:LOW -0.0001"),
    ("pulse_delta_width", 50e-6, "SOUR:PDEL:WIDT 5e-05"),
    ("pulse_delta_width", 12e-3, "SOUR:PDEL:WIDT 0.012"),
    ("pulse_delta_source_delay", 16e-6, "SOUR:PDEL:SDEL 1.6e-05"),
    ("pulse_delta_source_delay", 11.966e-3, "SOUR:PDEL:SDEL 0.011966"),
    ("pulse_delta_count", 65536, "SOUR:PDEL:COUN 65536"),
    ("pulse_delta_count", 10.0, "SOUR:PDEL:COUN 10"),
    ("pulse_delta_count", "inf", "SOUR:PDEL:COUN INF"),
    ("pulse_delta_range", "BEST", "SOUR:PDEL:RANG BEST"),
    ("pulse_delta_range", "FIX", "SOUR:PDEL:RANG FIX"),
    ("pulse_delta_interval", 5, "SOUR:PDEL:INT 5"),
    ("pulse_delta_interval", 999999, "SOUR:PDEL:INT 999999"),
    ("pulse_delta_sweep_enabled", True, "SOUR:PDEL:SWE ON"),
    ("pulse_delta_sweep_enabled", False, "SOUR:PDEL:SWE OFF"),
    ("pulse_delta_low_measurements", 2, "SOUR:PDEL:LME 2"),
    ("buffer_points", 65536, "TRAC:POIN 65536"),
    ("delta_buffer_points", 1, "TRAC:POIN 1"),
    ("data_elements", ["READ", "TST"], "FORM:ELEM READ,TST"),
    ("data_elements", ("TST", "READ", "RNUM"), "FORM:ELEM TST,READ,RNUM"),
    ("sweep_spacing", "LIN", "SOUR:SWE:SPAC LIN"),
    ("sweep_start", -1e-3, "SOUR:CURR:STAR -0.001"),
    ("sweep_stop", 1e-3, "SOUR:CURR:STOP 0.001"),
    ("sweep_step", 1e-4, "SOUR:CURR:STEP 0.0001"),
    ("sweep_points", 21, "SOUR:SWE:POIN 21"),
    ("sweep_ranging", "BEST", "SOUR:SWE:RANG BEST"),
    ("sweep_count", "INF", "SOUR:SWE:COUN INF"),
    ("sweep_count", 3, "SOUR:SWE:COUN 3"),
    ("trigger_output_line", 2, "TRIG:OLIN 2"),
    ("trigger_input_line", 1, "TRIG:ILIN 1"),
    ("trigger_output_event", "DEL", "TRIG:OUTP DEL"),
    ("source_current", -0.105, ":SOUR:CURR -0.105"),
    ("source_compliance", 10, ":SOUR:CURR:COMP 10"),
    ("source_delay", 1e-3, ":SOUR:DEL 0.001"),
    ("source_delay", 999999.999, ":SOUR:DEL 999999.999"),  # PyMeasure's %g sent 1e+06
    ("standard_event_enabled", 36, "*ESE 36"),  # PyMeasure sent "ESE 36"
    ("delta_cycles", 10.0, ":SOUR:DELT:COUN 10"),
    ("delta_cycles", "INF", ":SOUR:DELT:COUN INF"),
])
def test_setting_sends_exact_command(prop, value, sent):
    with expected_protocol(Keithley6221, [(sent, None)]) as k:
        setattr(k, prop, value)


@pytest.mark.parametrize("prop, reply, value", [
    ("pulse_delta_high", "5.000000E-03", 5e-3),
    ("pulse_delta_width", "1.000000E-03", 1e-3),
    ("pulse_delta_count", "INF", "INF"),
    ("pulse_delta_count", "+9.9E37", "INF"),
    ("pulse_delta_count", "1.000000E+01", 10),
    ("pulse_delta_interval", "5", 5),
    ("pulse_delta_sweep_enabled", "1", True),
    ("pulse_delta_sweep_enabled", "0", False),
    ("pulse_delta_sweep_enabled", "ON", True),
    ("pulse_delta_low_measurements", "2", 2),
    ("pulse_delta_connected", "1", True),
    ("pulse_delta_connected", "0", False),
    ("pulse_delta_armed", "1", True),
    ("buffer_points_actual", "42", 42),
    ("data_elements", "READ,TST", ["READ", "TST"]),
    ("data_elements", "READ", ["READ"]),
    ("data_elements", "ALL", ["READ", "TST", "RNUM", "SOUR", "COMP", "AVOL"]),
    ("trigger_output_line", "2", 2),
])
def test_query_parses_reply(prop, reply, value):
    query = {"pulse_delta_connected": "SOUR:PDEL:NVPR?", "pulse_delta_armed": "SOUR:PDEL:ARM?",
             "buffer_points_actual": "TRAC:POIN:ACT?", "data_elements": "FORM:ELEM?",
             "trigger_output_line": "TRIG:OLIN?", "pulse_delta_high": "SOUR:PDEL:HIGH?",
             "pulse_delta_width": "SOUR:PDEL:WIDT?", "pulse_delta_count": "SOUR:PDEL:COUN?",
             "pulse_delta_interval": "SOUR:PDEL:INT?", "pulse_delta_sweep_enabled":
             "SOUR:PDEL:SWE?", "pulse_delta_low_measurements": "SOUR:PDEL:LME?"}[prop]
    with expected_protocol(Keithley6221, [(query, reply)]) as k:
        assert getattr(k, prop) == value


@pytest.mark.parametrize("prop, value, words", [
    ("source_current", 0.2, ["source_current", "0.2", "0.105"]),  # PyMeasure truncated this
    ("source_compliance", 200, ["source_compliance", "200", "105"]),
    ("source_delay", 1e-4, ["source_delay", "0.0001", "0.001"]),
    ("waveform_amplitude", 0.5, ["waveform_amplitude", "0.5", "0.105"]),
    ("pulse_delta_high", 0.106, ["pulse_delta_high", "0.106", "0.105"]),
    ("pulse_delta_low", -0.2, ["pulse_delta_low", "-0.2", "-0.105"]),
    ("pulse_delta_width", 49e-6, ["pulse_delta_width", "4.9e-05", "5e-05"]),
    ("pulse_delta_width", 13e-3, ["pulse_delta_width", "0.013", "0.012"]),
    ("pulse_delta_source_delay", 12e-3, ["pulse_delta_source_delay", "0.012", "0.011966"]),
    ("pulse_delta_count", 0, ["pulse_delta_count", "65536", "INF"]),
    ("pulse_delta_count", 65537, ["pulse_delta_count", "65537"]),
    ("pulse_delta_count", 2.5, ["pulse_delta_count", "2.5"]),
    ("pulse_delta_count", "ALL", ["pulse_delta_count", "ALL"]),
    ("pulse_delta_range", "AUTO", ["pulse_delta_range", "AUTO", "BEST", "FIX"]),
    ("pulse_delta_interval", 4, ["pulse_delta_interval", "4", "5", "999999"]),
    ("pulse_delta_low_measurements", 3, ["pulse_delta_low_measurements", "3"]),
    ("buffer_points", 1e6, ["buffer_points", "1e+06", "65536"]),  # PyMeasure allowed 1e6
    ("delta_buffer_points", 0, ["buffer_points", "0", "1"]),
    ("data_elements", ["READ", "UNIT"], ["data_elements", "UNIT"]),
    ("sweep_points", 65536, ["sweep_points", "65536", "65535"]),
    ("sweep_count", 10000, ["sweep_count", "10000", "9999"]),
    ("trigger_output_line", 7, ["trigger_output_line", "7"]),
    ("source_current", math.nan, ["source_current", "nan"]),
])
def test_out_of_range_raises_before_anything_is_sent(prop, value, words):
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError) as err:
            setattr(k, prop, value)
    for word in words:
        assert word in str(err.value)


def test_pulse_delta_run_sequence():
    with expected_protocol(Keithley6221, [
        ("SOUR:PDEL:NVPR?", "1"),
        ("SOUR:PDEL:ARM", None),
        ("SOUR:PDEL:ARM?", "1"),
        ("INIT:IMM", None),
        ("SOUR:SWE:ABOR", None),
        ("SOUR:SWE:ARM", None),
        ("TRAC:CLE", None),
        ("SOUR:CLE", None),
    ]) as k:
        assert k.pulse_delta_connected
        k.pulse_delta_arm()
        assert k.pulse_delta_armed
        k.start()
        k.abort()
        k.sweep_arm()
        k.clear_buffer()
        k.clear_source()


def test_buffer_pairs_default_layout_and_overflow():
    with expected_protocol(Keithley6221, [
        ("FORM:ELEM?", "READ,TST"),
        ("TRAC:DATA?", "1.234E-04,0.000E+00,+9.9E37,1.6E-02,-2.5E-05,3.2E-02"),
    ]) as k:
        readings, times = k.buffer_pairs()
    assert np.allclose(readings[[0, 2]], [1.234e-4, -2.5e-5])
    assert math.isnan(readings[1])
    np.testing.assert_allclose(times, [0.0, 0.016, 0.032])


def test_buffer_pairs_honours_element_order_and_extra_elements():
    # TST first, then READ, then the reading number: the columns must not be confused
    with expected_protocol(Keithley6221, [
        ("FORM:ELEM?", "TST,READ,RNUM"),
        ("TRAC:DATA?", "0.5,1e-6,0,0.6,2e-6,1"),
    ]) as k:
        readings, times = k.buffer_pairs()
    np.testing.assert_allclose(readings, [1e-6, 2e-6])
    np.testing.assert_allclose(times, [0.5, 0.6])


def test_buffer_pairs_refuses_layout_without_timestamps():
    with expected_protocol(Keithley6221, [("FORM:ELEM?", "READ")]) as k:
        with pytest.raises(ValueError, match="TST"):
            k.buffer_pairs()


def test_buffer_pairs_refuses_ragged_data():
    with expected_protocol(Keithley6221, [("FORM:ELEM?", "READ,TST"),
                                          ("TRAC:DATA?", "1,2,3")]) as k:
        with pytest.raises(ValueError, match="multiple"):
            k.buffer_pairs()


def test_delta_values_come_back_as_pairs():
    with expected_protocol(Keithley6221, [("FORM:ELEM?", "READ,TST"),
                                          ("TRAC:DATA?", "1e-3,0.1,2e-3,0.2")]) as k:
        pairs = k.delta_values
    np.testing.assert_allclose(pairs, [[1e-3, 0.1], [2e-3, 0.2]])


def test_list_sweep_writes_lists():
    with expected_protocol(Keithley6221, [
        ("SOUR:SWE:SPAC LIST", None),
        ("SOUR:LIST:CURR 0.001,-0.002,0.0005", None),
        ("SOUR:LIST:DEL 0.001,0.01,1", None),
        ("SOUR:LIST:COMP 10,10,10", None),
        ("SOUR:LIST:CURR:POIN?", "3"),
        ("SOUR:LIST:DEL:POIN?", "3"),
        ("SOUR:LIST:COMP:POIN?", "3"),
    ]) as k:
        k.list_sweep([1e-3, -2e-3, 5e-4], [1e-3, 1e-2, 1.0], compliance=10)


def test_list_sweep_goes_in_chunks_of_100_and_is_read_back():
    with expected_protocol(Keithley6221, [
        ("SOUR:SWE:SPAC LIST", None),
        ("SOUR:LIST:CURR " + ",".join(["0.001"] * 100), None),
        ("SOUR:LIST:CURR:APP " + ",".join(["0.001"] * 50), None),
        ("SOUR:LIST:DEL " + ",".join(["0.1"] * 100), None),
        ("SOUR:LIST:DEL:APP " + ",".join(["0.1"] * 50), None),
        ("SOUR:LIST:CURR:POIN?", "150"),
        ("SOUR:LIST:DEL:POIN?", "100"),  # a refused APP: the list is short
    ]) as k:
        with pytest.raises(RuntimeError, match="sent 150 SOUR:LIST:DEL points, it holds 100"):
            k.list_sweep([1e-3] * 150, [0.1] * 150)


def test_list_sweep_without_compliance_leaves_it_alone():
    with expected_protocol(Keithley6221, [
        ("SOUR:SWE:SPAC LIST", None),
        ("SOUR:LIST:CURR 0.001", None),
        ("SOUR:LIST:DEL 0.1", None),
        ("SOUR:LIST:CURR:POIN?", "1"),
        ("SOUR:LIST:DEL:POIN?", "1"),
    ]) as k:
        k.list_sweep([1e-3], [0.1])


@pytest.mark.parametrize("currents, delays, compliance, words", [
    ([1e-3, 0.2], [1e-3, 1e-3], None, ["currents[1]", "0.2", "0.105"]),
    ([1e-3], [1e-4], None, ["delays[0]", "0.0001", "0.001"]),
    ([1e-3, 2e-3], [1e-3], None, ["2 currents", "1 delays"]),
    ([1e-3], [1e-3], 200, ["compliance[0]", "200", "105"]),
    ([1e-3] * 65536, [1e-3] * 65536, None, ["points", "65536", "65535"]),
    ([], [], None, ["points", "0"]),
])
def test_list_sweep_checks_everything_before_sending(currents, delays, compliance, words):
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError) as err:
            k.list_sweep(currents, delays, compliance)
    for word in words:
        assert word in str(err.value)


def test_nanovoltmeter_pass_through_quotes_the_command():
    with expected_protocol(Keithley6221, [
        ('SYST:COMM:SER:SEND "SENS:FUNC \'VOLT\'"', None),
        ('SYST:COMM:SER:SEND "*IDN?"', None),
        ("SYST:COMM:SER:ENT?", "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,1234,C02"),
        ('SYST:COMM:SER:SEND "SYST:KEY ""A"""', None),
    ]) as k:
        k.nanovoltmeter_send("SENS:FUNC 'VOLT'")
        assert k.nanovoltmeter_query("*IDN?") == "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,1234,C02"
        k.nanovoltmeter_send('SYST:KEY "A"')


def test_nanovoltmeter_refuses_multi_line_command():
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError, match="one line"):
            k.nanovoltmeter_send("*RST\nINIT")


def test_shutdown_aborts_clears_and_turns_output_off():
    with expected_protocol(Keithley6221, [
        ("SOUR:SWE:ABOR", None), (":SOUR:WAVE:ABOR", None), ("SOUR:CLE", None),
        ("OUTP OFF", None),
    ]) as k:
        k.shutdown()
        assert k.isShutdown


@pytest.mark.parametrize("failing", ["abort", "waveform_abort", "clear_source"])
def test_shutdown_turns_output_off_even_if_a_step_fails(failing):
    sent = [("SOUR:SWE:ABOR", None), (":SOUR:WAVE:ABOR", None), ("SOUR:CLE", None),
            ("OUTP OFF", None)]
    skipped = {"abort": "SOUR:SWE:ABOR", "waveform_abort": ":SOUR:WAVE:ABOR",
               "clear_source": "SOUR:CLE"}[failing]
    with expected_protocol(Keithley6221, [p for p in sent if p[0] != skipped]) as k:
        def broken():
            raise ConnectionError("serial glitch")
        setattr(k, failing, broken)
        with pytest.raises(ConnectionError):
            k.shutdown()
        assert k.isShutdown


def test_socket_connection_gets_newline_terminations(monkeypatch):
    seen = {}

    class RecordingAdapter:
        def __init__(self, resource, **kwargs):
            seen.update(kwargs)

    monkeypatch.setattr("pymeasure.instruments.instrument.VISAAdapter", RecordingAdapter)
    Keithley6221("TCPIP::127.0.0.1::1394::SOCKET")
    assert seen["tcpip"] == {"read_termination": "\n", "write_termination": "\n"}


# ---- waveforms ----

@pytest.mark.parametrize("prop, value, sent", [
    ("waveform_function", "arbitrary0", ":SOUR:WAVE:FUNC ARB0"),
    ("waveform_function", "square", ":SOUR:WAVE:FUNC SQU"),
    ("waveform_frequency", 100, ":SOUR:WAVE:FREQ 100"),
    ("waveform_frequency", 1e5, ":SOUR:WAVE:FREQ 100000"),
    ("waveform_amplitude", 0.02, ":SOUR:WAVE:AMPL 0.02"),
    ("waveform_offset", -1e-4, ":SOUR:WAVE:OFFS -0.0001"),
    ("waveform_dutycycle", 5, ":SOUR:WAVE:DCYC 5"),
    ("waveform_duration_cycles", 20, ":SOUR:WAVE:DUR:CYCL 20"),
    ("waveform_duration_cycles", "inf", ":SOUR:WAVE:DUR:CYCL INF"),
    ("waveform_duration_time", 0.25, ":SOUR:WAVE:DUR:TIME 0.25"),
    ("waveform_ranging", "best", ":SOUR:WAVE:RANG BEST"),
    ("waveform_use_phasemarker", True, ":SOUR:WAVE:PMAR:STAT 1"),
    ("waveform_phasemarker_phase", 36, ":SOUR:WAVE:PMAR 36"),
    ("waveform_phasemarker_line", 3, ":SOUR:WAVE:PMAR:OLIN 3"),
])
def test_waveform_setting_sends_exact_command(prop, value, sent):
    with expected_protocol(Keithley6221, [(sent, None)]) as k:
        setattr(k, prop, value)


@pytest.mark.parametrize("prop, value, words", [
    ("waveform_frequency", 2e5, ["waveform_frequency", "200000", "100000"]),  # PyMeasure clamped
    ("waveform_frequency", 0, ["waveform_frequency", "0.001"]),
    ("waveform_amplitude", 0.2, ["waveform_amplitude", "0.2", "0.105"]),
    ("waveform_offset", -0.2, ["waveform_offset", "-0.2"]),
    ("waveform_duration_cycles", 0, ["waveform_duration_cycles", "INF"]),
    ("waveform_phasemarker_phase", 400, ["waveform_phasemarker_phase", "400", "360"]),
    ("waveform_phasemarker_line", 7, ["waveform_phasemarker_line", "7"]),
    ("waveform_function", "arbitrary5", ["waveform_function", "arbitrary5"]),
])
def test_waveform_out_of_range_raises_before_anything_is_sent(prop, value, words):
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError) as err:
            setattr(k, prop, value)
    for word in words:
        assert word in str(err.value)


def test_duration_reads_back_inf():
    with expected_protocol(Keithley6221, [(":SOUR:WAVE:DUR:CYCL?", "9.9E37"),
                                          (":SOUR:WAVE:DUR:TIME?", "+2.000000E-01")]) as k:
        assert k.waveform_duration_cycles == "INF"
        assert k.waveform_duration_time == pytest.approx(0.2)


def test_arbitrary_waveform_goes_in_chunks_of_100_and_is_selected():
    points = [1.0] * 50 + [0.005] * 200
    with expected_protocol(Keithley6221, [
        (":SOUR:WAVE:ARB:DATA " + ",".join(["1"] * 50 + ["0.005"] * 50), None),
        (":SOUR:WAVE:ARB:APP " + ",".join(["0.005"] * 100), None),
        (":SOUR:WAVE:ARB:APP " + ",".join(["0.005"] * 50), None),
        (":SOUR:WAVE:FUNC ARB0", None),
    ]) as k:
        k.define_arbitrary_waveform(np.array(points))


def test_arbitrary_waveform_copy_to_a_slot_and_pymeasure_spelling():
    with expected_protocol(Keithley6221, [
        (":SOUR:WAVE:ARB:DATA -1,1", None), (":SOUR:WAVE:ARB:COPY 2", None),
        (":SOUR:WAVE:FUNC ARB2", None),
    ]) as k:
        k.define_arbitary_waveform([-1, 1], location=2)


def test_pymeasure_spelling_keeps_pymeasure_default_slot_arb1():
    with expected_protocol(Keithley6221, [
        (":SOUR:WAVE:ARB:DATA -1,1", None), (":SOUR:WAVE:ARB:COPY 1", None),
        (":SOUR:WAVE:FUNC ARB1", None),
    ]) as k:
        k.define_arbitary_waveform([-1, 1])


@pytest.mark.parametrize("points, location, words", [
    ([0.0, 1.5], 0, ["points[1]", "1.5"]),
    ([0.0, math.nan], 0, ["points[1]", "nan"]),
    ([1.0], 0, ["number of points", "1", "2"]),
    ([0.5] * 65536, 0, ["number of points", "65536", "65535"]),
    ([0.0, 1.0], 5, ["location", "5"]),
])
def test_bad_arbitrary_waveform_is_refused_before_anything_is_sent(points, location, words):
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError) as err:
            k.define_arbitrary_waveform(points, location)
    for word in words:
        assert word in str(err.value)


# ---- pass-through polling and trigger lines (INSTRUMENTS.md, settled facts) ----

def test_nanovoltmeter_query_polls_until_the_2182a_reply_arrives():
    clock = VirtualClock()
    with expected_protocol(Keithley6221, [
        ('SYST:COMM:SER:SEND ":READ?"', None),
        ("SYST:COMM:SER:ENT?", ""), ("SYST:COMM:SER:ENT?", ""),
        ("SYST:COMM:SER:ENT?", "+1.2345670E-05"),
    ], clock=clock) as k:
        assert k.nanovoltmeter_query(":READ?", poll_s=0.05) == "+1.2345670E-05"
    assert clock.now() == pytest.approx(0.1)  # two waits on the lab clock, not time.sleep


def test_nanovoltmeter_query_gives_up_after_its_timeout_on_the_lab_clock():
    clock = VirtualClock()
    with expected_protocol(Keithley6221, [('SYST:COMM:SER:SEND "*IDN?"', None)]
                           + [("SYST:COMM:SER:ENT?", "")] * 4, clock=clock) as k:
        with pytest.raises(TimeoutError, match="no reply to '\\*IDN\\?' within 0.3 s"):
            k.nanovoltmeter_query("*IDN?", timeout_s=0.3, poll_s=0.1)


@pytest.mark.parametrize("now, wanted, sent", [
    # from the defaults (output 2, marker 3): TRIG:OLIN first, then the marker onto line 2
    ((2, 3), (4, 2), [":TRIG:OLIN 4", ":SOUR:WAVE:PMAR:OLIN 2"]),
    # output onto the marker's line: the marker moves first
    ((2, 3), (3, 5), [":SOUR:WAVE:PMAR:OLIN 5", ":TRIG:OLIN 3"]),
    # a swap goes through a spare line
    ((2, 3), (3, 2), [":SOUR:WAVE:PMAR:OLIN 6", ":TRIG:OLIN 3", ":SOUR:WAVE:PMAR:OLIN 2"]),
    ((4, 2), (4, 2), []),
])
def test_set_trigger_lines_orders_the_writes_so_the_6221_never_sees_a_conflict(now, wanted, sent):
    comms = [("TRIG:OLIN?", str(now[0])), (":SOUR:WAVE:PMAR:OLIN?", str(now[1]))]
    comms += [(c.lstrip(":") if c.startswith(":TRIG") else c, None) for c in sent]
    comms += [("TRIG:OLIN?", str(wanted[0])), (":SOUR:WAVE:PMAR:OLIN?", str(wanted[1]))]
    with expected_protocol(Keithley6221, comms) as k:
        k.set_trigger_lines(*wanted)


def test_set_trigger_lines_says_when_the_6221_kept_another_line():
    with expected_protocol(Keithley6221, [
        ("TRIG:OLIN?", "2"), (":SOUR:WAVE:PMAR:OLIN?", "3"), ("TRIG:OLIN 4", None),
        (":SOUR:WAVE:PMAR:OLIN 2", None), ("TRIG:OLIN?", "4"), (":SOUR:WAVE:PMAR:OLIN?", "3"),
    ]) as k:
        with pytest.raises(RuntimeError, match="PMAR:OLIN 2, it kept 4 and 3"):
            k.set_trigger_lines(4, 2)


def test_set_trigger_lines_refuses_one_line_for_both_before_sending():
    with expected_protocol(Keithley6221, []) as k:
        with pytest.raises(ValueError, match="both 2"):
            k.set_trigger_lines(2, 2)
