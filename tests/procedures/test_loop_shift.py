"""The loop-shift procedure on the simulated lab, through the real drivers, Runner and store.

Ground truth: the simulated device's own SOT field, ``lab.sim.device.h_sot_Oe(I, Hx)``, at
1e11 A/m² and Hx beyond H_DMI (χ_sat), and its hidden H_DMI.
"""

import numpy as np
import pytest

from dwlab.procedures.base import ParameterError
from dwlab.procedures.field_sweep import DcSense
from dwlab.procedures.loop_shift import LoopShift
from dwlab.procedures.runner import Runner

from .simlab import OvertakenSource, make_lab, refused_before_output


def chi_sat_truth(lab) -> float:
    """|H_SOT| of the simulated device per 1e11 A/m² with Hx saturating the wall, in Oe."""
    device = lab.sim.device
    i_1e11 = lab.setup.device.current_for_density(1e11)
    return abs(device.h_sot_Oe(i_1e11, 10 * device.params.H_DMI_Oe))


def test_default_device_chi_hdmi_sign_and_heating(store, tmp_path):
    """Default sot-neuron: χ_sat = 258.5 Oe per 1e11 A/m², H_DMI = 1200 Oe; the loop moves
    towards +Hz under +J at Hx > 0 (hard layer down); Joule heating, even in J, narrows it."""
    lab = make_lab(seed=2)
    procedure = LoopShift()
    outcome = Runner(lab, store).run(procedure)
    assert outcome.status == "finished", outcome.error
    r = outcome.analysis
    assert chi_sat_truth(lab) == pytest.approx(258.5, rel=0.01)
    assert r.chi_sat_Oe_per_1e11_A_m2 == pytest.approx(chi_sat_truth(lab), rel=0.05)
    assert r.H_DMI_Oe == pytest.approx(1200.0, rel=0.15)

    loops = {(round(lp.Hx_Oe, -2), round(lp.J_1e11_A_m2, 1)): lp for lp in r.loops}
    plus, minus = loops[(1800.0, 2.0)], loops[(1800.0, -2.0)]
    assert plus.centre_Oe - minus.centre_Oe == pytest.approx(2 * 2 * chi_sat_truth(lab), rel=0.05)
    # no in-plane field, no chirality set: no shift
    assert abs(loops[(0.0, 2.0)].centre_Oe - loops[(0.0, -2.0)].centre_Oe) < 10.0
    width = {j: np.mean([lp.half_width_Oe for lp in r.loops if abs(abs(lp.J_1e11_A_m2) - j) < 0.1])
             for j in (1.0, 2.0)}
    assert width[2.0] < width[1.0] - 2.0  # 10 mA heats the bar by ~0.75 K: H_c -1 %

    df = store.dataframe(outcome.run_id)
    assert set(df["I_dc_mA"].round(3)) == {-10.0, -5.0, 5.0, 10.0}
    # the DC current is the sense current: V_AHE scales with it (R_AHE = V/I the same)
    r_ahe = (df["V_uV"] * 1e-6 / (df["I_dc_mA"] * 1e-3))
    assert r_ahe.min() == pytest.approx(-1.2, abs=0.01) and r_ahe.max() == pytest.approx(-0.75, abs=0.01)
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert not state["supply_z_output_on"] and abs(state["supply_x_current_A"]) < 1e-3

    fig = procedure.figure(df, r, lab.setup.device)
    fig.savefig(tmp_path / "loop_shift.png")
    ax_loop, ax_shift, ax_chi = fig.axes
    assert len(ax_loop.lines) == 2  # +J and -J loops
    assert ax_chi.get_xlabel() == "Hx (Oe)"
    assert (tmp_path / "loop_shift.png").stat().st_size > 20_000


@pytest.mark.parametrize("seed", [21, 22])
def test_recovers_hidden_chi_and_hdmi(store, seed):
    """Random devices (seeded): ξ in 0.3-0.6 and H_DMI in 800-1600 Oe, hidden from the
    analysis; χ within 5 %, H_DMI within 15 %."""
    rng = np.random.default_rng(seed)
    truth = {"xi_DL": rng.uniform(0.3, 0.6), "H_DMI_Oe": rng.uniform(800, 1600),
             "H_ex_Oe": rng.uniform(1000, 1300), "Hc_soft_Oe": rng.uniform(450, 600)}
    lab = make_lab(seed=seed, device_overrides=truth)
    outcome = Runner(lab, store).run(LoopShift(currents_mA="8",
                                               Hx_list_Oe="0, 400, 800, 1200, 1600, 2000"))
    assert outcome.status == "finished", outcome.error
    r = outcome.analysis
    assert r.chi_sat_Oe_per_1e11_A_m2 == pytest.approx(chi_sat_truth(lab), rel=0.05)
    assert r.H_DMI_Oe == pytest.approx(truth["H_DMI_Oe"], rel=0.15)


@pytest.mark.parametrize("seed", [23, 24])
def test_a_rounded_knee_the_analysis_does_not_assume_still_gives_hdmi(store, seed):
    """The device's χ(Hx) has a rounded knee, x/sqrt(1 + x²) (``sot_knee`` = 2), not the
    analysis's clip: H_DMI within 15 %, χ at each Hx within 5 % of the device's own, and the
    misfit of the clip is reported (a few % of χ_sat)."""
    rng = np.random.default_rng(seed)
    truth = {"xi_DL": rng.uniform(0.3, 0.6), "H_DMI_Oe": rng.uniform(800, 1400),
             "sot_knee": 2.0}
    lab = make_lab(seed=seed, device_overrides=truth)
    outcome = Runner(lab, store).run(LoopShift(currents_mA="8",
                                               Hx_list_Oe="0, 400, 800, 1200, 1600, 2000"))
    assert outcome.status == "finished", outcome.error
    r = outcome.analysis
    assert r.H_DMI_Oe == pytest.approx(truth["H_DMI_Oe"], rel=0.15)
    i_1e11 = lab.setup.device.current_for_density(1e11)
    for shift in r.shifts[1:]:  # χ(Hx) measured against the device's own SOT field
        own = abs(lab.sim.device.h_sot_Oe(i_1e11, shift.Hx_Oe))
        assert shift.chi_Oe_per_1e11_A_m2 == pytest.approx(own, rel=0.05)
    assert 1.0 < r.shape_deviation_pct < 10.0
    assert outcome.analysis.summary()["shape_deviation_pct"] == r.shape_deviation_pct


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ParameterError, match=r"currents_mA .*= 'five' is not allowed \('five' "
                                             r"is not a list of numbers"):
        LoopShift(currents_mA="five")
    with pytest.raises(ParameterError, match=r"currents_mA .*entry -5 is outside \[0.001, 105\]"):
        LoopShift(currents_mA="-5, 10")
    with pytest.raises(ParameterError, match=r"minor_low_Oe = 600 Oe must be below"):
        LoopShift(minor_low_Oe=600.0)
    with pytest.raises(ParameterError, match=r"nplc.*\[0.01, 10\]"):
        LoopShift(nplc=100.0)


@pytest.mark.parametrize("params, changes, message", [
    ({"currents_mA": "5, 15"}, {"limits.max_current_density_1e11_A_m2": 2.0},
     r"currents_mA = 15 mA is 3e11 A/m² .* max_current_density_1e11_A_m2 = 2"),
    ({"currents_mA": "30"}, {}, r"currents_mA = 30 mA exceeds .*max_current_mA = 25"),
    ({"Hx_list_Oe": "0, 1000, 2500"}, {}, r"Hx = 2500 Oe exceeds .*max_field_Oe = 2000"),
    ({"saturate_Oe": -4500.0}, {}, r"Hz = -4500 Oe exceeds .*max_field_Oe = 4000"),
    ({"currents_mA": "10"}, {"limits.compliance_V": 4.0},
     r"10 mA needs 5 V across the 500 Ω bar, .*compliance_V = 4"),
])
def test_setup_limits_are_refused_before_any_output(store, params, changes, message):
    refused_before_output(make_lab(**changes), store, LoopShift(**params), message)


def test_dc_readings_start_only_once_the_6221_has_the_current():
    """The 2182A is on another link: the timer readings of a sweep must not start before the
    6221 has taken the DC current (they would read V_AHE at 0 A, near 0 instead of -0.75 mV)."""
    lab = make_lab()
    lab.source = OvertakenSource(lab.source, lab.clock)
    sense = DcSense(lab.source, lab.voltmeter, nplc=1.0)
    sense.configure(lab.setup.limits.compliance_V)
    sense.set_current(1e-3)
    sense.start(lab.clock, expected_s=1.0)
    lab.clock.sleep(0.2)
    _, volts = sense.stop()
    assert len(volts) >= 5 and volts * 1e3 == pytest.approx(-0.75, abs=0.02)
