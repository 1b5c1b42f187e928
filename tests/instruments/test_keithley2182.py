"""Keithley 2182A driver, byte for byte."""

import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from dwlab.instruments.keithley2182 import Keithley2182A


@pytest.mark.parametrize("prop, value, sent", [
    ("active_channel", 2, ":SENS:CHAN 2"),
    ("voltage_nplc", 0.01, ":SENS:VOLT:NPLC 0.01"),
    ("voltage_nplc", 60, ":SENS:VOLT:NPLC 60"),
    ("auto_zero_enabled", False, ":SYST:AZER:STAT 0"),
    ("analog_filter_enabled", True, "SENS:VOLT:LPAS ON"),
    ("digital_filter_enabled", False, "SENS:VOLT:DFIL OFF"),
    ("digital_filter_count", 100, "SENS:VOLT:DFIL:COUN 100"),
    ("digital_filter_type", "REP", "SENS:VOLT:DFIL:TCON REP"),
    ("buffer_points", 1024, "TRAC:POIN 1024"),
    ("buffer_feed", "SENS", "TRAC:FEED SENS"),
    ("buffer_feed_control", "NEXT", "TRAC:FEED:CONT NEXT"),
    ("trigger_source", "EXT", "TRIG:SOUR EXT"),
    ("trigger_source", "TIM", "TRIG:SOUR TIM"),
    ("trigger_count", 50, ":TRIG:COUN 50"),
    ("trigger_delay", 0.01, ":TRIG:DEL 0.01"),
    ("trigger_delay", 99999.999, ":TRIG:DEL 99999.999"),  # %g sent 100000
    ("continuous_enabled", False, "INIT:CONT OFF"),
    ("front_autozero_enabled", False, "SYST:FAZ OFF"),
    ("line_sync_enabled", False, "SYST:LSYNC OFF"),
])
def test_setting_sends_exact_command(prop, value, sent):
    with expected_protocol(Keithley2182A, [(sent, None)]) as nv:
        setattr(nv, prop, value)


def test_channel_range_goes_to_that_channel():
    with expected_protocol(Keithley2182A, [(":SENS:VOLT:CHAN1:RANG 0.01", None),
                                           (":SENS:VOLT:CHAN2:RANG:AUTO 1", None)]) as nv:
        nv.ch_1.voltage_range = 0.01
        nv.ch_2.voltage_range_auto_enabled = True


@pytest.mark.parametrize("prop, query, reply, value", [
    ("voltage", ":READ?", "+1.234567E-06", 1.234567e-6),
    ("fetch", "FETC?", "-2.5E-06", -2.5e-6),
    ("fresh", "SENS:DATA:FRES?", "3.0E-05", 3e-5),
    ("analog_filter_enabled", "SENS:VOLT:LPAS?", "0", False),
    ("digital_filter_enabled", "SENS:VOLT:DFIL?", "1", True),
    ("digital_filter_count", "SENS:VOLT:DFIL:COUN?", "10", 10),
    ("digital_filter_type", "SENS:VOLT:DFIL:TCON?", "MOV", "MOV"),
    ("trigger_source", "TRIG:SOUR?", "BUS", "BUS"),
    ("continuous_enabled", "INIT:CONT?", "0", False),
    ("mean", ":CALC2:FORM MEAN;:CALC2:STAT ON;:CALC2:IMM?;", "1.5E-06", 1.5e-6),
    ("standard_dev", ":CALC2:FORM SDEV;:CALC2:STAT ON;:CALC2:IMM?;", "2E-08", 2e-8),
])
def test_query_parses_reply(prop, query, reply, value):
    with expected_protocol(Keithley2182A, [(query, reply)]) as nv:
        assert getattr(nv, prop) == pytest.approx(value)


def test_buffer_data_is_an_array_with_overflow_as_nan():
    with expected_protocol(Keithley2182A, [("TRAC:DATA?", "1.0E-06,-2.0E-06,+9.9E37")]) as nv:
        data = nv.buffer_data
    assert isinstance(data, np.ndarray)
    np.testing.assert_allclose(data[:2], [1e-6, -2e-6])
    assert math.isnan(data[2])


def test_buffered_acquisition_sequence():
    with expected_protocol(Keithley2182A, [
        ("TRAC:CLE", None),
        ("TRAC:POIN 10", None),
        ("TRAC:FEED SENS", None),
        ("TRAC:FEED:CONT NEXT", None),
        ("TRIG:SOUR EXT", None),
        (":TRIG:COUN 10", None),
        ("INIT:CONT OFF", None),
        ("INIT", None),
        ("ABOR", None),
    ]) as nv:
        nv.clear_buffer()
        nv.buffer_points = 10
        nv.buffer_feed = "SENS"
        nv.buffer_feed_control = "NEXT"
        nv.trigger_source = "EXT"
        nv.trigger_count = 10
        nv.continuous_enabled = False
        nv.initiate()
        nv.abort()


@pytest.mark.parametrize("prop, value, words", [
    ("buffer_points", 1, ["buffer_points", "1", "2", "1024"]),  # PyMeasure truncated this
    ("buffer_points", 2000, ["buffer_points", "2000", "1024"]),
    ("digital_filter_count", 0, ["digital_filter_count", "0", "100"]),
    ("digital_filter_count", 101, ["digital_filter_count", "101"]),
    ("digital_filter_type", "AVG", ["digital_filter_type", "AVG", "MOV", "REP"]),
    ("trigger_source", "TLIN", ["trigger_source", "TLIN", "EXT"]),
    ("trigger_count", 10000, ["trigger_count", "10000", "9999"]),
    ("trigger_delay", -1, ["trigger_delay", "-1"]),
    ("buffer_feed", "SENSE", ["buffer_feed", "SENSE"]),
])
def test_out_of_range_raises_before_anything_is_sent(prop, value, words):
    with expected_protocol(Keithley2182A, []) as nv:
        with pytest.raises(ValueError) as err:
            setattr(nv, prop, value)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("channel, value", [("ch_2", 15), ("ch_2", 12.5), ("ch_1", 121)])
def test_a_channel_range_beyond_that_channel_is_refused(channel, value):
    """Channel 2 goes to 10 V (12 with over-range); PyMeasure let 15 V through."""
    with expected_protocol(Keithley2182A, []) as nv:
        with pytest.raises(ValueError, match=f"voltage_range = {value:g} V"):
            getattr(nv, channel).voltage_range = value


def test_nplc_refused_outside_range():
    with expected_protocol(Keithley2182A, []) as nv:
        with pytest.raises(ValueError):
            nv.voltage_nplc = 100


def test_terminations_per_interface(monkeypatch):
    seen = {}

    class RecordingAdapter:
        def __init__(self, resource, **kwargs):
            seen.update(kwargs)

    monkeypatch.setattr("pymeasure.instruments.instrument.VISAAdapter", RecordingAdapter)
    Keithley2182A("TCPIP::127.0.0.1::5025::SOCKET")
    assert seen["tcpip"] == {"read_termination": "\n", "write_termination": "\n"}
    assert seen["asrl"] == {"read_termination": "\r"}
    assert "read_termination" not in seen  # would override the socket's "\n"
