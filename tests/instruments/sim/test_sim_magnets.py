"""Simulated magnet supplies and gaussmeters: current regulation within the voltage limit,
the 643's ramp and its status registers, the readback."""

import math

import pytest

from dwlab.instruments.sim.lab import SimLab

TAU = 0.25  # L/R of the simulated coils: the current's time constant at the voltage rail


@pytest.fixture
def lab():
    return SimLab(seed=2)


def test_idn_strings(lab):
    r = lab.responders()
    assert r["magnet_z"].handle("*IDN?").startswith("KEPCO,BIT 4886 20-20")
    assert r["magnet_x"].handle("*IDN?").startswith("LSCI,MODEL643,")
    assert r["gaussmeter_z"].handle("*IDN?").startswith("LSCI,MODEL425,")


def test_bop_step_slews_within_its_voltage_limit_then_regulates(lab):
    bop, gauss = lab.responders()["magnet_z"], lab.responders()["gaussmeter_z"]
    gauss.handle("UNIT 3;ZPROBE")  # Oe; zero at the remanent field
    remanent = lab.field_Oe("z")
    bop.handle("FUNC:MODE CURR;:VOLT 20;:CURR 2;:OUTP ON")
    assert float(bop.handle("MEAS:CURR?")) == 0.0  # no time has passed
    assert float(bop.handle("MEAS:VOLT?")) == pytest.approx(20.0)  # slewing at the limit
    lab.run_until(0.02)
    # at the rail the current heads for V/R = 10 A with L/R: 1.48 A after 20 ms
    assert float(bop.handle("MEAS:CURR?")) == pytest.approx(10 * (1 - math.exp(-0.02 / TAU)), rel=1e-4)
    lab.run_until(0.1)  # an L/R lag would still be 1.1 A short; the regulated supply is there
    assert float(bop.handle("MEAS:CURR?")) == pytest.approx(2.0, abs=1e-6)
    assert float(bop.handle("MEAS:VOLT?")) == pytest.approx(2.0 * 2.0)  # I R
    assert float(gauss.handle("RDGFIELD?")) == pytest.approx(1000.0, abs=8)  # + remanence change
    assert lab.field_Oe("z") - remanent == pytest.approx(1000.0, abs=7)


def test_bop_in_current_mode_drives_no_more_than_its_voltage_limit_allows(lab):
    """VOLT is the complementary limit in current mode and 0 after *RST: the coil gets no
    current until the driver sets it (the old simulator ignored it)."""
    bop = lab.responders()["magnet_z"]
    bop.handle("*RST;FUNC:MODE CURR;:CURR 2;:OUTP ON")
    lab.run_until(1.0)
    assert float(bop.handle("MEAS:CURR?")) == 0.0
    bop.handle("VOLT 3")  # 3 V / 2 ohm: 1.5 A at most
    lab.run_until(7.0)
    assert float(bop.handle("MEAS:CURR?")) == pytest.approx(1.5, abs=1e-4)
    assert float(bop.handle("MEAS:VOLT?")) == pytest.approx(3.0)


def test_bop_refuses_the_self_test_and_out_of_range_values(lab):
    bop = lab.responders()["magnet_z"]
    bop.handle("FUNC:MODE CURR;:CURR 1;:OUTP ON")
    assert bop.handle("DIAG:TST?") is None
    assert bop.handle("SYST:ERR?").startswith("-221")
    bop.handle("CURR 25")
    assert bop.handle("SYST:ERR?").startswith("-222")
    assert float(bop.handle("CURR?")) == 1.0
    assert lab.supplies["z"].target_A == 1.0


def test_bop_output_off_drives_zero(lab):
    bop = lab.responders()["magnet_z"]
    bop.handle("FUNC:MODE CURR;:VOLT 20;:CURR 1;:OUTP ON")
    lab.run_until(3.0)
    assert lab.safe_state()["supply_z_current_A"] == 1.0
    bop.handle("OUTP OFF")
    lab.run_until(6.0)
    state = lab.safe_state()
    assert state["supply_z_output_on"] is False and abs(state["supply_z_current_A"]) < 1e-4


def test_643_ramps_internally_at_its_rate(lab):
    ls = lab.responders()["magnet_x"]
    ls.handle("RATE 0.5")
    ls.handle("SETI 2")
    assert float(ls.handle("SETI?")) == 2.0
    lab.run_until(2.0)
    assert int(ls.handle("OPSTR?")) == 0  # still ramping, within compliance
    # the regulated coil follows the ramp itself, not a lag behind it
    assert float(ls.handle("RDGI?")) == pytest.approx(1.0, abs=1e-9)
    assert float(ls.handle("RDGV?")) == pytest.approx(0.5 * 0.5 + 1.0 * 2.0, abs=1e-3)  # L dI/dt + IR
    lab.run_until(8.0)
    assert int(ls.handle("OPSTR?")) == 2
    assert float(ls.handle("RDGI?")) == pytest.approx(2.0, abs=1e-9)
    assert lab.field_Oe("x") == pytest.approx(800, abs=5)
    assert ls.handle("ERST?") == "0,0"


def test_643_opst_latches_events_and_clears_on_read_while_opstr_is_live(lab):
    """What the old simulator got wrong: OPST? answered as a live condition, so a wait for
    "ramp done" on it passed after a no-op SETI, as the real 643 never does."""
    ls = lab.responders()["magnet_x"]
    ls.handle("OPST?")  # whatever power-up left
    ls.handle("RATE 1;SETI 1")
    lab.run_until(0.5)
    assert int(ls.handle("OPST?")) == 0 and int(ls.handle("OPSTR?")) == 0
    lab.run_until(2.0)
    assert int(ls.handle("OPST?")) == 2  # the ramp arrived: latched ...
    assert int(ls.handle("OPST?")) == 0  # ... and cleared by reading it
    assert int(ls.handle("OPSTR?")) == 2  # the condition stays
    ls.handle("SETI 1")  # a no-op: already there
    lab.run_until(3.0)
    assert int(ls.handle("OPST?")) == 0  # no new "ramp done" event
    assert int(ls.handle("OPSTR?")) == 2  # but the live bit says done at once


def test_643_ramp_beyond_its_voltage_reports_compliance(lab):
    ls = lab.responders()["magnet_x"]
    ls.handle("OPST?")
    ls.handle("RATE 50;SETI 8")  # L dI/dt + I R = 25 V + 2 I: beyond 35 V above 5 A
    lab.run_until(0.08)
    assert int(ls.handle("OPSTR?")) == 0  # 4 A: following the ramp
    lab.run_until(0.14)
    assert int(ls.handle("OPSTR?")) & 1 == 1  # 7 A asked; the coil falls behind at 35 V
    assert float(ls.handle("RDGV?")) == 35.0
    assert float(ls.handle("RDGI?")) < 7.0
    lab.run_until(2.0)
    assert int(ls.handle("OPSTR?")) == 2 and float(ls.handle("RDGI?")) == pytest.approx(8.0)
    assert int(ls.handle("OPST?")) == 3  # both events latched


def test_643_stop_holds_the_present_output(lab):
    ls = lab.responders()["magnet_x"]
    ls.handle("RATE 1;SETI 5")
    lab.run_until(2.0)
    ls.handle("STOP")
    lab.run_until(10.0)
    assert float(ls.handle("RDGI?")) == pytest.approx(2.0, abs=0.02)


def test_gaussmeter_units_and_noise(lab):
    ls, gauss = lab.responders()["magnet_x"], lab.responders()["gaussmeter_x"]
    ls.handle("RATE 10;SETI 2.5")
    lab.run_until(5.0)
    gauss.handle("ZPROBE")  # zeroing in a field absorbs it, as on the real probe
    assert abs(float(gauss.handle("RDGFIELD?"))) < 0.5
    gauss.handle("*RST")
    field = lab.field_Oe("x")
    readings = [float(gauss.handle("RDGFIELD?")) for _ in range(200)]
    offset = gauss.probe_offset_Oe
    mean = sum(readings) / len(readings)
    assert mean == pytest.approx(field + offset, abs=0.05)
    assert 0.07 < (sum((r - mean) ** 2 for r in readings) / 199) ** 0.5 < 0.13
    gauss.handle("UNIT 2")
    assert float(gauss.handle("RDGFIELD?")) == pytest.approx((field + offset) * 1e-4, abs=1e-4)
    assert gauss.handle("UNIT?") == "2"
    gauss.handle("RANGE 1")  # 35 G full scale
    assert gauss.handle("RDGFIELD?") == "OL"
    gauss.handle("UNIT 7")
    assert int(gauss.handle("*ESR?")) == 16 and gauss.handle("UNIT?") == "2"


def test_gaussmeter_autorange_never_overloads_near_a_range_edge(lab):
    """Autorange follows the probe's own reading: a field just under a full scale, with the
    probe's offset pushing the reading over it, still reads (the next range up), never OL."""
    gauss = lab.responders()["gaussmeter_z"]
    gauss.probe_offset_Oe = 2.0
    lab.supplies["z"].output_on = True
    bop = lab.responders()["magnet_z"]
    bop.handle("FUNC:MODE CURR;:VOLT 20")
    target_A = (350.0 - 1.0 - lab.magnets["z"].params.remanence_Oe) / 500.0  # true field ~349 Oe
    bop.handle(f"CURR {target_A}")
    lab.run_until(5.0)
    assert 345 < lab.field_Oe("z") < 350
    readings = [gauss.handle("RDGFIELD?") for _ in range(50)]
    assert "OL" not in readings
    assert all(float(r) > 350 for r in readings)  # the offset put the reading over 350 G
