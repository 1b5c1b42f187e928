"""The simulated electromagnet: L/R lag, remanence sign, coil voltage, limits."""

import math

import numpy as np
import pytest

from dwlab.instruments.sim.magnet import MAGNET_PRESETS, Electromagnet, MagnetParams


def make_magnet(axis="z", seed=0):
    return Electromagnet(MAGNET_PRESETS[axis], np.random.default_rng(seed))


def test_coil_current_reaches_63_percent_after_tau():
    magnet = make_magnet()
    magnet.set_supply_current(2.0)
    magnet.step(MAGNET_PRESETS["z"].tau_s)
    assert magnet.coil_current_A == pytest.approx(2.0 * (1 - math.exp(-1)))
    magnet.step(10.0)
    assert magnet.coil_current_A == pytest.approx(2.0)


def test_one_long_step_equals_many_short_ones():
    a, b = make_magnet(), make_magnet()
    for m in (a, b):
        m.set_supply_current(-3.0)
    a.step(0.4)
    for _ in range(40):
        b.step(0.01)
    assert a.coil_current_A == pytest.approx(b.coil_current_A)


def test_field_is_k_times_current_plus_remanence_of_last_excursion_sign():
    magnet = make_magnet("x")
    magnet.set_supply_current(2.5)
    magnet.step(10.0)
    assert magnet.field_Oe == pytest.approx(400.0 * 2.5 + 3.0)
    magnet.set_supply_current(0.0)
    magnet.step(10.0)
    assert magnet.field_Oe == pytest.approx(+3.0, abs=1e-6)
    magnet.set_supply_current(-2.5)
    magnet.step(10.0)
    magnet.set_supply_current(0.0)
    magnet.step(10.0)
    assert magnet.field_Oe == pytest.approx(-3.0, abs=1e-6)


def test_coil_voltage_has_inductive_part_while_ramping():
    p = MAGNET_PRESETS["z"]
    magnet = make_magnet()
    magnet.set_supply_current(4.0)
    magnet.step(0.1)
    di_dt = (4.0 - magnet.coil_current_A) / p.tau_s
    assert magnet.coil_voltage_V == pytest.approx(
        p.tau_s * p.coil_resistance_ohm * di_dt + magnet.coil_current_A * p.coil_resistance_ohm)
    magnet.step(20.0)
    assert magnet.coil_voltage_V == pytest.approx(4.0 * p.coil_resistance_ohm)


def test_field_during_previews_a_step_without_changing_state():
    magnet = make_magnet()
    magnet.set_supply_current(1.0)
    start, end = magnet.field_during(0.25)
    assert magnet.coil_current_A == 0.0
    magnet.step(0.25)
    assert abs(start) == pytest.approx(MAGNET_PRESETS["z"].remanence_Oe)  # remanence only
    assert end == pytest.approx(magnet.field_Oe)


def test_limits_are_refused():
    magnet = make_magnet()
    with pytest.raises(ValueError, match="11.0 A exceeds the limit"):
        magnet.set_supply_current(11.0)
    with pytest.raises(ValueError, match="tau_s"):
        MagnetParams(tau_s=0.0)
