"""The Lab over the simulated instruments: identities, limits, and leaving the stage safe."""

import pytest

from dwlab.lab import Lab, LimitError
from dwlab.setup import load_setup, parse_setup


@pytest.fixture
def lab():
    with Lab.open("sim") as lab:
        yield lab


def test_every_instrument_answers_with_its_maker_and_model(lab):
    report = lab.probe()
    assert all(ok for _, _, ok in report.values())
    ids = {role: identity for role, (_, identity, _) in report.items()}
    assert "MODEL 6221" in ids["source"] and "MODEL 2182A" in ids["voltmeter"]
    assert ids["magnet_z"].startswith("KEPCO") and "MODEL643" in ids["magnet_x"]
    assert "MODEL425" in ids["gaussmeter_z"]


def test_current_limit_and_density_limit_are_named(lab):
    lab.check_current("write current", 0.020)  # 4e11 A/m², within both limits
    with pytest.raises(LimitError, match=r"write current = 30 mA exceeds .*max_current_mA = 25"):
        lab.check_current("write current", 0.030)


def test_density_limit_of_a_narrow_bar():
    raw = dict(load_setup("sim").raw)
    raw["device"] = {**raw["device"], "width_um": 2.0}  # 20 mA in 2 µm x 10 nm = 1e12 A/m²
    with Lab(parse_setup(raw)) as lab:
        with pytest.raises(LimitError, match=r"20 mA is 10e11 A/m².*max_current_density_1e11_A_m2 = 5"):
            lab.check_current("write current", 0.020)


def test_field_beyond_the_axis_limit_is_refused(lab):
    with pytest.raises(LimitError, match=r"Hz = -4500 Oe exceeds .*field\.z\.max_field_Oe = 4000"):
        lab.check_field("z", -4500)


def test_make_safe_turns_source_off_and_brings_both_fields_to_zero(lab):
    lab.field_z.set_field(-1725)
    lab.field_x.set_field(1000)
    lab.source.source_current = 0.001
    lab.source.enable_source()
    assert lab.sim.safe_state()["source_output_on"]
    assert lab.make_safe() == []
    state = lab.sim.safe_state()
    assert not state["source_output_on"]
    tolerance = {axis: lab.setup.fields[axis].remanence_Oe + lab.setup.fields[axis].tolerance_Oe
                 for axis in "zx"}
    assert abs(state["field_z_Oe"]) <= tolerance["z"]
    assert abs(state["field_x_Oe"]) <= tolerance["x"]


def test_make_safe_reconnects_a_lost_source_link(lab):
    lab.source.source_current = 0.001
    lab.source.enable_source()
    lab.source.adapter.inject_fault("disconnect")
    assert lab.make_safe() == []
    assert not lab.sim.safe_state()["source_output_on"]


def test_snapshot_records_identities_calibration_and_sim_truth(lab):
    snap = lab.snapshot()
    assert "MODEL 6221" in snap["identities"]["source"]
    assert snap["fields"]["z"]["oe_per_amp"] == 500.0
    assert snap["sim"]["device_params"]["H_ex_Oe"] == 1150.0


def test_check_errors_reports_what_an_instrument_refused(lab):
    from dwlab.lab import InstrumentError

    lab.clear_errors()
    lab.check_errors()  # nothing refused yet
    lab.source.write("SOUR:CURR 2")  # beyond ±105 mA: refused by the instrument
    with pytest.raises(InstrumentError, match=r"source: -222"):
        lab.check_errors()
    lab.check_errors()  # reading the queue emptied it


def test_a_current_the_bar_cannot_take_within_the_compliance_is_refused():
    raw = dict(load_setup("sim").raw)
    raw["limits"] = {**raw["limits"], "compliance_V": 8.0}  # 20 mA x 500 Ω needs 10 V
    with Lab(parse_setup(raw)) as lab:
        lab.check_current("write current", 0.015)  # 7.5 V: fits
        with pytest.raises(LimitError, match=r"write current = -20 mA needs 10 V across the "
                                             r"500 Ω bar, .*compliance_V = 8 V"):
            lab.check_current("write current", -0.020)
