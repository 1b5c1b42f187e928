"""The simulated 2182A: reading time on the clock, range overflow, buffer, statistics, triggers."""

import numpy as np
import pytest

from dwlab.instruments.sim.lab import SimLab


@pytest.fixture
def lab():
    return SimLab(seed=4)


def test_read_takes_nplc_over_line_frequency_of_clock_time(lab):
    vm = lab.responders()["voltmeter"]
    vm.handle(":SENS:VOLT:NPLC 6;:SENS:VOLT:DFIL OFF")
    vm.handle("READ?")
    assert lab.clock.now() == pytest.approx(0.1)
    vm.handle(":SENS:VOLT:DFIL:TCON REP;:SENS:VOLT:DFIL:COUN 5;:SENS:VOLT:DFIL ON")
    vm.handle("READ?")
    assert lab.clock.now() == pytest.approx(0.6)


def test_readings_sample_the_hall_voltage_with_noise_scaling_as_one_over_root_nplc(lab):
    src, vm = lab.responders()["source"], lab.responders()["voltmeter"]
    src.handle("SOUR:CURR 1e-4;:OUTP ON")
    vm.handle(":SENS:VOLT:DFIL OFF;:SENS:VOLT:NPLC 1")
    fast = np.array([float(vm.handle("READ?")) for _ in range(300)])
    vm.handle(":SENS:VOLT:NPLC 16")
    slow = np.array([float(vm.handle("READ?")) for _ in range(300)])
    assert np.mean(fast) == pytest.approx(-75e-6 + 1e-6, abs=0.4e-6)  # + thermal EMF
    # successive differences: the thermal EMF drifts over the 80 s the slow readings take
    assert np.std(np.diff(fast)) / np.std(np.diff(slow)) == pytest.approx(4.0, rel=0.2)


def test_a_reading_beyond_a_fixed_range_is_overflow(lab):
    src, vm = lab.responders()["source"], lab.responders()["voltmeter"]
    src.handle("SOUR:CURR 20e-3;:OUTP ON")  # -15 mV
    vm.handle(":SENS:VOLT:CHAN1:RANG 0.01")
    assert vm.handle(":SENS:VOLT:CHAN1:RANG:AUTO?") == "0"
    assert float(vm.handle("READ?")) == 9.9e37
    vm.handle(":SENS:VOLT:CHAN1:RANG 0.1")
    assert float(vm.handle("READ?")) == pytest.approx(-15e-3, abs=1e-5)


def test_buffer_fills_with_immediate_triggers_and_gives_statistics(lab):
    vm = lab.responders()["voltmeter"]
    vm.handle(":TRAC:CLE;:TRAC:POIN 20;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    vm.handle(":TRIG:SOUR IMM;:TRIG:COUN 20;:SENS:VOLT:NPLC 1;:SENS:VOLT:DFIL OFF;:INIT")
    assert vm.handle("TRAC:POIN:ACT?") == "0"
    assert vm.handle("*OPC?") == "1"
    assert lab.clock.now() >= 20 / 60
    data = np.array([float(v) for v in vm.handle("TRAC:DATA?").split(",")])
    assert len(data) == 20
    mean = float(vm.handle(":CALC2:FORM MEAN;:CALC2:STAT ON;:CALC2:IMM?;"))
    assert mean == pytest.approx(np.mean(data), rel=1e-6)
    assert float(vm.handle(":CALC2:FORM SDEV;:CALC2:IMM?")) == pytest.approx(np.std(data, ddof=1), rel=1e-5)
    assert float(vm.handle(":CALC2:FORM PKPK;:CALC2:IMM?")) == pytest.approx(np.ptp(data), rel=1e-5)


def test_read_with_an_external_trigger_source_is_a_deadlock_not_a_hang(lab):
    vm = lab.responders()["voltmeter"]
    vm.handle(":TRIG:SOUR EXT")
    assert vm.handle("READ?") is None
    assert vm.handle("SYST:ERR?").startswith("-214")
    assert vm.handle("FETC?") is None
    assert vm.handle("SYST:ERR?").startswith("-230")


def test_pymeasure_style_setup_is_accepted(lab):
    vm = lab.responders()["voltmeter"]
    vm.handle(":SENS:CHAN 1;:SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 5;")
    vm.handle(":SENS:VOLT:RANG:AUTO 1")
    vm.handle("status:queue:clear;*RST;:stat:pres;:*CLS;")
    assert vm.handle("SYST:ERR?") == '0,"No error"'
    assert vm.handle(":SENS:FUNC?") == '"VOLT:DC"'
    vm.handle(":SENS:FUNC 'TEMP'")  # not simulated: refused, not pretended
    assert vm.handle("SYST:ERR?").startswith("-224")
