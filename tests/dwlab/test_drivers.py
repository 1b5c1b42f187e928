"""The driver table: every row loads, identifies its own simulator and no other, and every
role's setup key is checked against it."""

from __future__ import annotations

import tomllib

import pytest

from dwlab import drivers
from dwlab.setup import SIM_SETUP, SetupError, load_setup, parse_setup

INSTRUMENT_ROWS = [d for d in drivers.DRIVERS.values() if d.interface != "camera"]


@pytest.mark.parametrize("row", INSTRUMENT_ROWS, ids=lambda d: d.name)
def test_each_instrument_row_loads_and_knows_its_simulator_by_identity(row):
    assert row.load().__name__ == row.cls.split(":")[1]
    module, cls = row.simulator.split(":")
    sim_class = getattr(__import__(module, fromlist=[cls]), cls)
    assert row.matches(sim_class.idn)
    assert drivers.identify(sim_class.idn) is row  # and no other row claims that identity
    assert row.interface in drivers.INTERFACES


def test_every_role_has_an_interface_with_at_least_one_driver():
    for role, interface in drivers.ROLE_INTERFACE.items():
        assert drivers.names(interface), role
        if role in drivers.DEFAULT_DRIVER:
            assert drivers.DRIVERS[drivers.DEFAULT_DRIVER[role]].interface == interface


def test_a_driver_of_another_interface_is_refused_for_a_role():
    raw = tomllib.loads(SIM_SETUP.read_text())
    raw["instruments"]["voltmeter"]["driver"] = "keithley6221"
    with pytest.raises(SetupError, match=r"instruments.voltmeter.driver: 'keithley6221' is not "
                                         r"allowed; must be one of keithley2182a \(a voltmeter\)"):
        parse_setup(raw, "lab.toml")
    with pytest.raises(KeyError, match="'lakeshore425' is not a supply driver; supply drivers "
                                       "are kepco_bop, lakeshore643"):
        drivers.driver_for("supply", "lakeshore425")


def test_a_role_left_without_driver_gets_its_only_model():
    setup = load_setup("sim")
    assert setup.instruments["source"].driver == "keithley6221"
    assert setup.instruments["gaussmeter_x"].driver == "lakeshore425"


def test_the_camera_adapter_reads_its_pylablib_classes_from_the_table():
    from dwlab.instruments.camera_pylablib import CAMERA_CLASSES

    assert CAMERA_CLASSES["dcam"] == ("pylablib.devices.DCAM", "DCAMCamera")
    assert set(CAMERA_CLASSES) == {n for n in drivers.names("camera") if n != "sim"}
