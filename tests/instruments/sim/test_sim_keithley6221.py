"""The simulated 6221 really drives the device: pulse delta, delta, sweeps, waveforms, compliance."""

import numpy as np
import pytest

from dwlab.instruments.sim.lab import SimLab

PERIOD_5PLC = 5 / 60.0


def set_fields(lab, hz_coil_A, hx_coil_A):
    """x by the 643's own ramp, then z by a BOP step; wait until both coils have settled
    (the regulated z coil slews there in ~0.1 s)."""
    r = lab.responders()
    r["magnet_x"].handle(f"RATE 10;SETI {hx_coil_A}")
    lab.run_until(lab.clock.now() + 2.0)
    r["magnet_z"].handle(f"FUNC:MODE CURR;:VOLT 20;:CURR {hz_coil_A};:OUTP ON")
    lab.run_until(lab.clock.now() + 0.15)


def buffer(src):
    values = np.array([float(v) for v in src.handle("TRAC:DATA?").split(",")])
    return values[0::2], values[1::2]  # FORM:ELEM READ,TST


def pulse_train(lab, high_A, count):
    src = lab.responders()["source"]
    src.handle(f"SOUR:PDEL:HIGH {high_A};LOW 0;WIDT 500us;SDEL 100us;COUN {count};INT 5")
    src.handle("SOUR:PDEL:ARM")
    src.handle("INIT:IMM")
    assert src.handle("SOUR:PDEL:ARM?") == "1"
    lab.run_until(lab.clock.now() + count * PERIOD_5PLC + 0.1)
    assert src.handle("SOUR:PDEL:ARM?") == "0"  # the finite train has ended
    return buffer(src)


def test_pulse_delta_train_integrates_the_wall():
    """20 mA at Hx = 1000 Oe, Hz = -1725 Oe: the wall runs to the notch in ~10 pulses (on a
    bar with the return-velocity samples' faster creep law)."""
    lab = SimLab(seed=3, device_overrides={"ln_v0": 29.77, "alpha300": 136.4})
    set_fields(lab, -3.456, 2.5)
    assert lab.field_Oe("z") == pytest.approx(-1725, abs=40)
    assert lab.field_Oe("x") == pytest.approx(1000, abs=10)
    x_start = lab.device.x_um
    readings, stamps = pulse_train(lab, 0.02, 10)
    assert len(readings) == 10 == int(lab.source.handle("TRAC:POIN:ACT?"))
    assert np.all(np.diff(stamps) == pytest.approx(PERIOD_5PLC))
    # V_AHE at 20 mA: from the AP level (-15 mV) towards the P level (-24 mV) as P grows
    assert readings[0] > -17e-3 and readings[-1] < -22e-3
    assert np.all(np.diff(readings) < 0)
    assert lab.device.x_um >= 18.0 > x_start + 15.0


def test_without_current_the_same_wait_only_creeps():
    lab = SimLab(seed=3)
    set_fields(lab, -3.456, 2.5)
    readings, _ = pulse_train(lab, 0.0, 10)
    assert np.all(np.abs(readings) < 2e-6)
    assert lab.device.x_um < 10.0


def ideal_signal(lab, current_A):
    """The model's noiseless Hall signal without offset or thermal EMF."""
    t = lab.clock.now()
    return (lab.device.v_ahe_V(current_A, t, noise=False) - lab.device.v_ahe_V(0.0, t, noise=False))


def test_pulse_delta_and_delta_cancel_the_thermal_emf_but_a_dc_reading_does_not():
    lab = SimLab(seed=5)  # no field: the wall rests at x = 0
    src, vm = lab.responders()["source"], lab.responders()["voltmeter"]
    ideal = ideal_signal(lab, 100e-6)
    assert ideal == pytest.approx(-75e-6, rel=1e-6)
    emf = lab.device.thermo_emf_V(lab.clock.now())
    assert abs(emf) > 0.5e-6

    pulsed, _ = pulse_train(lab, 100e-6, 100)
    assert np.mean(pulsed) == pytest.approx(ideal, abs=0.1e-6)

    src.handle("SOUR:DELT:HIGH 100e-6;LOW -100e-6;DEL 2e-3;COUN 50")
    src.handle("SOUR:DELT:ARM")
    src.handle("INIT")
    src.handle("*OPC?")
    assert src.handle("TRAC:DATA:TYPE?") == "DELT"
    delta, _ = buffer(src)
    assert len(delta) == 50
    # delta reads (V_high - V_low)/2 = I R for LOW = -HIGH
    assert np.mean(delta) == pytest.approx(ideal, abs=0.1e-6)

    src.handle("SOUR:CURR 100e-6;:OUTP ON")
    dc = float(vm.handle("INIT:CONT OFF;:READ?"))
    assert dc - ideal == pytest.approx(lab.device.thermo_emf_V(lab.clock.now()), abs=0.1e-6)
    assert abs(dc - ideal) > 0.5e-6


def test_list_sweep_triggers_the_2182a_into_its_buffer():
    lab = SimLab(seed=7)
    src, vm = lab.responders()["source"], lab.responders()["voltmeter"]
    currents = [100e-6, 200e-6, 300e-6, -100e-6]
    vm.handle(":INIT:CONT OFF;:SENS:VOLT:NPLC 1;:SENS:VOLT:DFIL OFF;:TRAC:CLE;:TRAC:POIN 4;"
              ":TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    vm.handle(":TRIG:SOUR EXT;:TRIG:COUN 4;:INIT")
    src.handle("SOUR:LIST:CURR " + ",".join(f"{c:g}" for c in currents))
    src.handle("SOUR:LIST:DEL 0.1,0.1,0.1,0.1")
    assert src.handle("SOUR:LIST:CURR:POIN?") == "4"
    src.handle(":SOUR:SWE:SPAC LIST;:SOUR:SWE:COUN 1;:TRIG:OLIN 2;:TRIG:OUTP DEL")
    src.handle(":OUTP ON;:SOUR:SWE:ARM;:INIT")
    assert vm.handle("TRAC:POIN:ACT?") == "0"  # nothing yet: the clock has not moved
    lab.run_until(lab.clock.now() + 1.0)
    data = np.array([float(v) for v in vm.handle("TRAC:DATA?").split(",")])
    assert len(data) == 4
    expected = np.array(currents) * -0.75  # R_h m_h + R_s m_s with the wall at rest
    assert data == pytest.approx(expected + lab.device.params.thermo_emf_V, abs=0.5e-6)
    assert int(vm.handle("*STB?")) & 1 == 0  # buffer-full not enabled in STAT:MEAS:ENAB
    vm.handle("STAT:MEAS:ENAB 512;*SRE 1")
    assert int(vm.handle("*STB?")) & 65 == 65  # PyMeasure's is_buffer_full()
    assert src.handle("SOUR:SWE:ARM?") == "0"  # the sweep ended ...
    assert lab.source_current_A == 0.0  # ... back at the DC level


def test_settings_are_refused_while_a_test_runs_and_abort_stops_it():
    lab = SimLab(seed=1)
    src = lab.responders()["source"]
    src.handle("SOUR:PDEL:HIGH 1e-3;COUN INF;:SOUR:PDEL:ARM;:INIT")
    lab.run_until(1.0)
    src.handle("SOUR:PDEL:WIDT 1e-3")
    assert src.handle("SYST:ERR?").startswith("-221")
    n = int(src.handle("TRAC:POIN:ACT?"))
    assert n == pytest.approx(1.0 / PERIOD_5PLC, abs=1)
    src.handle("SOUR:SWE:ABOR")
    lab.run_until(2.0)
    assert int(src.handle("TRAC:POIN:ACT?")) == n
    assert src.handle("SOUR:PDEL:ARM?") == "0"


def test_arm_refuses_a_sense_delay_longer_than_the_pulse():
    src = SimLab(seed=1).responders()["source"]
    src.handle("SOUR:PDEL:WIDT 100us;SDEL 200us;ARM")
    assert src.handle("SYST:ERR?").startswith("-221")
    assert src.handle("SOUR:PDEL:ARM?") == "0"


def test_compliance_limits_the_current_through_the_bar():
    lab = SimLab(seed=1)  # R_bar = 500 ohm
    src = lab.responders()["source"]
    src.handle("SOUR:CURR:COMP 5;:SOUR:CURR 20e-3;:OUTP ON")
    assert lab.source_current_A == pytest.approx(5 / 500)
    src.handle("SOUR:CURR:COMP 15")
    assert lab.source_current_A == pytest.approx(20e-3)
    src.handle("SOUR:CLE")
    assert lab.safe_state()["source_output_on"] is False and lab.source_current_A == 0.0


def test_serial_pass_through_reaches_the_2182a():
    lab = SimLab(seed=1)
    src = lab.responders()["source"]
    src.handle('SYST:COMM:SER:SEND "*IDN?"')
    lab.run_until(lab.clock.now() + 0.1)  # the reply crosses the RS-232 line
    assert "MODEL 2182A" in src.handle("SYST:COMM:SER:ENT?")
    src.handle('SYST:COMM:SER:SEND ":SENS:VOLT:NPLC 2"')
    assert float(lab.voltmeter.handle("SENS:VOLT:NPLC?")) == 2.0
    assert src.handle("SOUR:PDEL:NVPR?") == "1"


def test_format_elements_lay_out_the_buffer():
    lab = SimLab(seed=1)
    src = lab.responders()["source"]
    pulse_train(lab, 1e-3, 3)
    src.handle("FORM:ELEM READ,TST,RNUM")
    values = src.handle("TRAC:DATA?").split(",")
    assert len(values) == 9 and values[2::3] == ["0", "1", "2"]


# ---- waveform mode ----

def load_arb(src, points):
    """ARB:DATA the first 100 points, ARB:APP the rest, as the 6221 takes them."""
    for start in range(0, len(points), 100):
        head = "DATA" if start == 0 else "APP"
        src.handle(f"SOUR:WAVE:ARB:{head} " + ",".join(f"{p:g}" for p in points[start:start + 100]))


def write_read_waveform(lab, write_A, read_A, cycles, marker_deg=36.0):
    """The paper's cycle: 0.5 ms write then 9.5 ms read, 1000 points of 10 µs, 100 Hz;
    the phase marker triggers one 2182A reading per cycle, inside the read part."""
    src, vm = lab.source, lab.voltmeter
    load_arb(src, [1.0] * 50 + [read_A / write_A] * 950)
    vm.handle(":INIT:CONT OFF;:SENS:VOLT:NPLC 0.2;:SENS:VOLT:DFIL OFF;:SENS:VOLT:CHAN1:RANG 0.1")
    vm.handle(":TRAC:CLE")
    vm.handle(f":TRAC:POIN {cycles};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    vm.handle(f":TRIG:SOUR EXT;:TRIG:DEL 0;:TRIG:COUN {cycles};:INIT")
    src.handle(":TRIG:OLIN 4")  # out of the way: the marker may not share its line
    for command in ("FUNC ARB0", "FREQ 100", f"AMPL {write_A}", "OFFS 0", "RANG BEST",
                    "PMAR:STAT ON", f"PMAR {marker_deg}", "PMAR:OLIN 2", f"DUR:CYCL {cycles}"):
        src.handle(":SOUR:WAVE:" + command)
    src.handle(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")
    assert src.handle("SYST:ERR?") == '0,"No error"'


def voltmeter_buffer(vm):
    return np.array([float(v) for v in vm.handle("TRAC:DATA?").split(",")])


def test_waveform_write_pulses_integrate_the_wall_and_the_marker_reads_each_cycle():
    lab = SimLab(seed=3)
    set_fields(lab, -3.456, 2.5)  # Hz = -1725 Oe, Hx = 1000 Oe
    write_read_waveform(lab, 20e-3, 100e-6, cycles=30)
    assert lab.source.handle("OUTP?") == "1"
    lab.source.handle("*OPC?")  # the clock runs until the 30 cycles are done
    assert lab.clock.now() == pytest.approx(2.15 + 0.3)
    assert lab.source.handle("OUTP?") == "0" and lab.source_current_A == 0.0
    volts = voltmeter_buffer(lab.voltmeter)
    assert len(volts) == 30  # one reading per cycle, at the read current
    v_uV = (volts - lab.device.thermo_emf_V(lab.clock.now())) * 1e6
    assert v_uV[0] > -85 and v_uV[-1] == pytest.approx(-120, abs=0.5)
    fired = int(np.argmax(v_uV < -75 - 0.9 * 45))
    assert 10 <= fired <= 24  # docs/physics.md: 16-20 pulses of 0.5 ms
    assert lab.device.x_um == lab.device.params.x_notch_um


def test_waveform_current_follows_the_points_and_moves_only_during_writes():
    lab = SimLab(seed=4)
    write_read_waveform(lab, 20e-3, 100e-6, cycles=5)
    t0 = lab.clock.now()
    lab.run_until(t0 + 0.25e-3)
    assert lab.source_current_A == pytest.approx(20e-3)
    lab.run_until(t0 + 5e-3)
    assert lab.source_current_A == pytest.approx(100e-6)
    lab.run_until(t0 + 10.2e-3)
    assert lab.source_current_A == pytest.approx(20e-3)  # the next cycle's write
    # two current changes per cycle and one marker: the 1000 points cost 3 events, not 1000
    assert len(lab._events) <= 6


def test_square_wave_swings_offset_plus_minus_amplitude():
    lab = SimLab(seed=1)
    src = lab.source
    for command in ("FUNC SQU", "FREQ 10", "AMPL 1e-3", "OFFS 2e-3", "DCYC 20", "DUR:TIME 1"):
        src.handle(":SOUR:WAVE:" + command)
    src.handle(":SOUR:WAVE:ARM;:SOUR:WAVE:INIT")
    lab.run_until(0.01)
    assert lab.source_current_A == pytest.approx(3e-3)
    lab.run_until(0.05)
    assert lab.source_current_A == pytest.approx(1e-3)
    lab.run_until(2.0)
    assert src.handle("OUTP?") == "0" and lab.source_current_A == 0.0


def test_waveform_abort_stops_and_turns_the_output_off():
    lab = SimLab(seed=1)
    src = lab.source
    src.handle(":SOUR:CURR 1e-3;:OUTP ON")
    write_read_waveform(lab, 20e-3, 100e-6, cycles=100)
    lab.run_until(0.109)  # the 11th reading (marker at 103.6 ms) is stored at 107.9 ms
    src.handle(":SOUR:WAVE:FREQ 50")
    assert src.handle("SYST:ERR?").startswith("-221")  # settings are locked while it runs
    n = int(lab.voltmeter.handle("TRAC:POIN:ACT?"))
    assert n == 11
    src.handle(":SOUR:WAVE:ABOR")
    assert src.handle("OUTP?") == "0" and lab.source_current_A == 0.0
    assert float(src.handle(":SOUR:CURR?")) == pytest.approx(1e-3)  # the DC level is kept
    lab.run_until(1.0)
    assert int(lab.voltmeter.handle("TRAC:POIN:ACT?")) == n
    assert src.handle(":SOUR:WAVE:ARM?") == "0"


@pytest.mark.parametrize("commands, code", [
    (["FREQ 2e5"], "-222"),
    (["AMPL 0.2"], "-222"),
    (["ARB:DATA 0,1.5"], "-222"),
    (["ARB:DATA " + ",".join(["0"] * 101)], "-222"),  # at most 100 points per command
    (["PMAR 400"], "-222"),
    (["PMAR:OLIN 7"], "-222"),
    (["FUNC SIN", "ARM"], "-221"),  # not simulated: refused, not faked
    (["FUNC ARB1", "ARM"], "-221"),  # ARB1 never loaded
    (["ARB:DATA 1,0", "FUNC ARB0", "AMPL 0.1", "OFFS 0.01", "ARM"], "-221"),  # 110 mA peak
    (["INIT"], "-221"),  # INIT before ARM
    (["ARB:DATA 1,0", "FUNC ARB0", "ARM", ":INIT"], "-221"),  # a waveform starts with WAVE:INIT
])
def test_waveform_settings_beyond_the_manual_are_refused(commands, code):
    lab = SimLab(seed=1)
    src = lab.source
    for command in commands:
        src.handle(command if command.startswith(":") else ":SOUR:WAVE:" + command)
    assert src.handle("SYST:ERR?").startswith(code)
    assert lab.source_current_A == 0.0 and src.running is None


def test_arb_holds_at_most_65535_points():
    src = SimLab(seed=1).source
    load_arb(src, [0.5] * 65535)
    assert src.handle(":SOUR:WAVE:ARB:POIN?") == "65535"
    src.handle(":SOUR:WAVE:ARB:APP 0.5")
    assert src.handle("SYST:ERR?").startswith("-222")
    assert src.handle(":SOUR:WAVE:ARB:POIN?") == "65535"
    src.handle(":SOUR:WAVE:ARB:COPY 4;:SOUR:WAVE:FUNC ARB4")
    assert src.handle("SYST:ERR?") == '0,"No error"'


def test_delta_high_also_sets_low_to_minus_high_as_the_manual_says():
    src = SimLab(seed=0).responders()["source"]
    src.handle("SOUR:DELT:HIGH 2e-4")
    assert float(src.handle("SOUR:DELT:LOW?")) == pytest.approx(-2e-4)
    src.handle("SOUR:DELT:LOW -1e-4")  # LOW can still be set on its own afterwards
    assert float(src.handle("SOUR:DELT:LOW?")) == pytest.approx(-1e-4)
    assert float(src.handle("SOUR:DELT:HIGH?")) == pytest.approx(2e-4)


def test_delta_readings_come_in_the_unit_chosen():
    lab = SimLab(seed=0)
    src = lab.responders()["source"]
    src.handle("UNIT OHMS")
    assert src.handle("UNIT?") == "OHMS"
    src.handle("UNIT VOLT")  # not one of V, OHMS, W, SIEM
    assert src.handle("SYST:ERR?").startswith("-224")
    means = {}
    for unit in ("V", "OHMS"):
        src.handle(f"UNIT {unit};:TRAC:CLE")
        src.handle("SOUR:DELT:HIGH 1e-3;:SOUR:DELT:COUN 4;:TRAC:POIN 4;:SOUR:DELT:ARM;:INIT")
        src.handle("*OPC?")
        means[unit] = np.mean([float(v) for v in src.handle("TRAC:DATA?").split(",")[::2]])
    assert means["OHMS"] == pytest.approx(means["V"] / 1e-3, rel=0.05)


# ---- as strict as the real one (INSTRUMENTS.md, settled facts) ----

def test_phase_marker_may_not_share_the_trigger_output_line_and_keeps_its_old_one():
    src = SimLab(seed=1).source
    assert src.handle(":TRIG:OLIN?") == "2" and src.handle(":SOUR:WAVE:PMAR:OLIN?") == "3"
    src.handle(":SOUR:WAVE:PMAR:OLIN 2")
    assert src.handle("SYST:ERR?") == '-221,"Settings conflict"'
    assert src.handle(":SOUR:WAVE:PMAR:OLIN?") == "3"
    src.handle(":TRIG:OLIN 4;:SOUR:WAVE:PMAR:OLIN 2")  # move TRIG:OLIN out of the way first
    assert src.handle("SYST:ERR?") == '0,"No error"'
    assert src.handle(":SOUR:WAVE:PMAR:OLIN?") == "2"


@pytest.mark.parametrize("command", [":TRIG:OLIN 3", ":TRIG:ILIN 2"])
def test_trigger_output_line_may_not_share_the_marker_or_input_line(command):
    """(unconfirmed: stricter reading) TRIG:OLIN onto the marker's or TRIG:ILIN's line."""
    src = SimLab(seed=1).source
    src.handle(command)
    assert src.handle("SYST:ERR?") == '-221,"Settings conflict"'
    assert (src.handle(":TRIG:OLIN?"), src.handle(":TRIG:ILIN?")) == ("2", "1")


def test_a_marker_on_a_line_the_2182a_does_not_listen_to_triggers_nothing():
    """The issue's bench failure: PMAR:OLIN 2 refused, the marker stays on line 3."""
    lab = SimLab(seed=1)
    src, vm = lab.source, lab.voltmeter
    load_arb(src, [1.0, 0.5])
    vm.handle(":INIT:CONT OFF;:SENS:VOLT:NPLC 0.2;:SENS:VOLT:DFIL OFF;:TRAC:CLE;:TRAC:POIN 5")
    vm.handle(":TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;:TRIG:SOUR EXT;:TRIG:COUN 5;:INIT")
    for command in ("FUNC ARB0", "FREQ 100", "AMPL 1e-4", "PMAR:STAT ON", "PMAR 180",
                    "PMAR:OLIN 2", "DUR:CYCL 5", "ARM", "INIT"):
        src.handle(":SOUR:WAVE:" + command)
    src.handle("*OPC?")
    lab.run_until(lab.clock.now() + 0.1)
    assert vm.handle("TRAC:POIN:ACT?") == "0"


def test_list_values_go_100_per_command_then_append():
    src = SimLab(seed=1).source
    src.handle("SOUR:LIST:CURR " + ",".join(["1e-4"] * 101))
    assert src.handle("SYST:ERR?").startswith("-222")
    src.handle("SOUR:LIST:CURR " + ",".join(["1e-4"] * 100))
    src.handle("SOUR:LIST:CURR:APP " + ",".join(["2e-4"] * 50))
    assert src.handle("SYST:ERR?") == '0,"No error"'
    assert src.handle("SOUR:LIST:CURR:POIN?") == "150"


def test_a_pass_through_reply_exists_only_after_the_2182a_has_measured():
    lab = SimLab(seed=1)
    src = lab.source
    src.handle('SYST:COMM:SER:SEND ":INIT:CONT OFF;:SENS:VOLT:NPLC 6;:SENS:VOLT:DFIL OFF"')
    t0 = lab.clock.now()
    src.handle('SYST:COMM:SER:SEND ":READ?"')
    assert lab.clock.now() == t0  # the 6221 does not wait for the 2182A
    assert src.handle("SYST:COMM:SER:ENT?") == ""  # nothing has come back yet
    lab.run_until(t0 + 0.09)
    assert src.handle("SYST:COMM:SER:ENT?") == ""  # 0.1 s aperture still running
    lab.run_until(t0 + 0.12)
    assert float(src.handle("SYST:COMM:SER:ENT?")) == pytest.approx(0.0, abs=1e-5)
    assert src.handle("SYST:COMM:SER:ENT?") == ""  # read once
    assert src.handle("SYST:ERR?") == '0,"No error"'


@pytest.mark.parametrize("command", [
    "SOUR:DEL 0.5e-3", "SOUR:LIST:DEL 0.5e-3", "SOUR:DELT:DEL 0.5e-3", "SOUR:SWE:POIN 65536",
    "SOUR:SWE:POIN 0", "TRAC:POIN 65537", "TRAC:POIN 0", "SOUR:PDEL:WIDT 40e-6",
    "SOUR:PDEL:WIDT 13e-3", "SOUR:PDEL:SDEL 15e-6", "SOUR:PDEL:COUN 65537", "SOUR:PDEL:INT 4",
    "SOUR:DELT:LOW 1e-4", "STAT:OPER:ENAB 65536", "SOUR:CURR:RANG -1e-3",
])
def test_delays_points_and_pulse_delta_beyond_the_manual_are_refused(command):
    """Already enforced before the strictness work; kept as a regression table."""
    src = SimLab(seed=1).source
    src.handle(command)
    assert src.handle("SYST:ERR?").startswith("-222")
