"""The simulated electromagnet on a current-regulated supply: slew limit, then regulation."""

import math

import numpy as np
import pytest

from dwlab.instruments.sim.magnet import MAGNET_PRESETS, Electromagnet, MagnetParams

P = MAGNET_PRESETS["z"]  # L = 0.5 H, R = 2 ohm


def make_magnet(axis="z", compliance_V=20.0, seed=0):
    magnet = Electromagnet(MAGNET_PRESETS[axis], np.random.default_rng(seed))
    magnet.compliance_V = compliance_V
    return magnet


def test_a_step_slews_at_the_voltage_limit_then_is_held_exactly():
    magnet = make_magnet()
    magnet.set_supply_current(2.0)
    assert magnet.coil_voltage_V == 20.0  # the whole compliance across the coil
    magnet.step(0.001)
    assert magnet.coil_current_A == pytest.approx(20.0 / P.inductance_H * 0.001, rel=0.01)  # 40 A/s
    # at the rail: I -> V/R with L/R; it meets 2 A at tau ln(V/R / (V/R - 2 A)), 55.8 ms
    arrival_s = P.tau_s * math.log(10.0 / 8.0)
    magnet.step(arrival_s - 0.001 - 1e-4)
    assert magnet.coil_current_A < 2.0 and not magnet.locked
    magnet.step(2e-4)
    assert magnet.coil_current_A == 2.0 and magnet.locked  # regulated, no L/R tail
    assert magnet.coil_voltage_V == pytest.approx(2.0 * P.coil_resistance_ohm)


def test_one_long_step_equals_many_short_ones():
    a, b = make_magnet(), make_magnet()
    for m in (a, b):
        m.set_supply_current(-3.0)
    a.step(0.04)
    for _ in range(40):
        b.step(0.001)
    assert a.coil_current_A == pytest.approx(b.coil_current_A)
    a.step(1.0)
    assert a.coil_current_A == -3.0


def test_a_setpoint_beyond_the_compliance_is_never_reached():
    magnet = make_magnet(compliance_V=10.0)  # 10 V / 2 ohm = 5 A at most
    magnet.set_supply_current(8.0)
    magnet.step(5.0)
    assert magnet.coil_current_A == pytest.approx(5.0, abs=1e-6)
    assert not magnet.locked and not magnet.settling  # in compliance, no longer moving
    assert magnet.coil_voltage_V == 10.0


def test_zero_compliance_drives_no_current():
    magnet = make_magnet(compliance_V=0.0)
    magnet.set_supply_current(1.0)
    magnet.step(10.0)
    assert magnet.coil_current_A == 0.0


def test_a_slow_setpoint_ramp_is_tracked_with_the_inductive_voltage():
    magnet = make_magnet()
    for k in range(1, 101):  # 5 A/s for 0.5 s, in 5 ms steps
        magnet.step(0.005, 5.0 * 0.005 * k)
    assert magnet.coil_current_A == pytest.approx(2.5) and magnet.locked
    assert magnet.coil_voltage_V == pytest.approx(P.inductance_H * 5.0 + 2.5 * P.coil_resistance_ohm)


def test_a_ramp_faster_than_the_slew_limit_leaves_the_coil_behind():
    magnet = make_magnet()
    magnet.step(0.1, 8.0)  # 80 A/s asked; at most 40 A/s at 0 A
    assert magnet.coil_current_A == pytest.approx(10.0 * (1 - math.exp(-0.1 / P.tau_s)))
    assert not magnet.locked and magnet.coil_voltage_V == 20.0


def test_field_is_k_times_current_plus_remanence_of_last_excursion_sign():
    magnet = make_magnet("x")
    magnet.set_supply_current(2.5)
    magnet.step(1.0)
    assert magnet.field_Oe == pytest.approx(400.0 * 2.5 + 3.0)
    magnet.set_supply_current(0.0)
    magnet.step(1.0)
    assert magnet.field_Oe == pytest.approx(+3.0, abs=1e-6)
    magnet.set_supply_current(-2.5)
    magnet.step(1.0)
    magnet.set_supply_current(0.0)
    magnet.step(1.0)
    assert magnet.field_Oe == pytest.approx(-3.0, abs=1e-6)


def test_limits_are_refused():
    magnet = make_magnet()
    with pytest.raises(ValueError, match="11.0 A exceeds the limit"):
        magnet.set_supply_current(11.0)
    with pytest.raises(ValueError, match="11.0 A exceeds the limit"):
        magnet.step(0.1, 11.0)
    with pytest.raises(ValueError, match="inductance_H"):
        MagnetParams(inductance_H=0.0)
