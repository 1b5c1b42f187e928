"""The setup file: the built-in sim setup loads, and every bad file names its key and problem."""

import tomllib

import pytest

from dwlab.setup import SIM_SETUP, SetupError, load_setup


def sim_text() -> str:
    return SIM_SETUP.read_text()


def write(tmp_path, text):
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def test_builtin_sim_setup_is_complete_and_simulated():
    setup = load_setup("sim")
    assert setup.simulated
    assert set(setup.instruments) == {"source", "voltmeter", "magnet_z", "magnet_x",
                                      "gaussmeter_z", "gaussmeter_x"}
    assert setup.fields["z"].oe_per_amp == 500.0
    assert setup.limits.max_current_mA == 25.0
    # 20 mA in a 5 µm x 10 nm bar is 4e11 A/m² (docs/physics.md §3)
    assert setup.device.current_density_A_m2(0.020) == pytest.approx(4e11)
    assert setup.raw == tomllib.loads(sim_text())


def test_misspelt_key_is_refused_with_its_name(tmp_path):
    path = write(tmp_path, sim_text().replace("max_current_mA", "max_curent_mA"))
    with pytest.raises(SetupError, match=r"limits\.max_curent_mA: unknown key") as err:
        load_setup(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("old, new, message", [
    ("compliance_V = 20.0\n", "", r"limits\.compliance_V: missing"),
    ('[instruments.gaussmeter_x]\nresource = "sim"\n', "",
     r"instruments\.gaussmeter_x: missing"),
    ("oe_per_amp = 500.0", 'oe_per_amp = "500"',
     r"field\.z\.oe_per_amp: must be a number, got '500'"),
    ("max_current_mA = 25.0", "max_current_mA = 150.0",
     r"limits\.max_current_mA: 150\.0 .*\(0, 105\] mA"),
    ("max_field_Oe = 4000.0", "max_field_Oe = 9000.0",  # beyond what the supply can reach
     r"field\.z\.max_field_Oe: 9000\.0 .*<= 5000 Oe"),
    ('driver = "kepco_bop"', 'driver = "kepco"', r"instruments\.magnet_z\.driver: 'kepco'"),
], ids=["missing key", "missing table", "wrong type", "out of range", "beyond the supply",
        "unknown driver"])
def test_a_bad_setup_names_the_key_and_the_problem(tmp_path, old, new, message):
    text = sim_text()
    assert old in text
    with pytest.raises(SetupError, match=message):
        load_setup(write(tmp_path, text.replace(old, new)))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(SetupError, match="not valid TOML"):
        load_setup(write(tmp_path, "[limits\nmax = 1"))
    with pytest.raises(SetupError, match="does not exist"):
        load_setup(tmp_path / "nope.toml")
