"""field-integrate on the simulated lab: real drivers, the Runner and a SQLite store."""

import numpy as np
import pytest

from dwlab.db.store import RunStore
from dwlab.lab import Lab, LimitError
from dwlab.listener import ListenerBase
from dwlab.procedures.base import ParameterError
from dwlab.procedures.field_integrate import FieldIntegrate
from dwlab.procedures.runner import Runner

BASELINE, WRITE, RESET = 0, 1, 2


def levels(lab):
    """V_AP (rest) and V_P (fired) at 100 µA from the hidden device, hard layer down."""
    p = lab.sim.device.params
    return -100.0 * (p.R_h_ohm - p.R_s_ohm), -100.0 * (p.R_h_ohm + p.R_s_ohm)


def record_supply_setpoints(lab) -> list[float]:
    """Every current the z magnet supply is told, in order (wraps the real supply)."""
    supply, log = lab.field_z.supply, []
    send = supply.set_current
    supply.set_current = lambda amps: (log.append(amps), send(amps))[1]
    return log


def assert_left_safe(lab):
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["source_current_A"] == 0.0
    assert not state["supply_z_output_on"] and abs(state["field_z_Oe"]) < 10
    assert state["supply_x_current_A"] == 0.0


def write_levels(df, cycle):
    return df[(df["cycle"] == cycle) & (df["phase"] == WRITE)]["V_uV"].to_numpy()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    lab = Lab.open("sim", preset="field-neuron")
    setpoints = record_supply_setpoints(lab)
    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('fi')}/runs.sqlite")
    outcome = Runner(lab, store).run(FieldIntegrate())
    return lab, store, outcome, setpoints


def test_field_pulses_integrate_stepwise_and_the_saf_resets(default_run):
    lab, store, outcome, _ = default_run
    assert outcome.status == "finished", outcome.error
    v_ap, v_p = levels(lab)  # -75 and -120 µV
    result = outcome.analysis.cycles
    assert result.n_cycles == 3 and result.n_fired == 3
    assert result.V_rest_uV == pytest.approx(v_ap, abs=0.5)
    assert result.V_fire_uV == pytest.approx(v_p, abs=0.5)
    df = store.dataframe(outcome.run_id)
    for cycle in range(3):
        v = write_levels(df, cycle)
        # each pulse moves the wall forward (never back), by a step, not all at once
        assert np.all(np.diff(v) < 0.5)
        assert v_ap - 20.0 < v[0] < v_ap - 3.0
        assert v[-1] == pytest.approx(v_p, abs=0.5)  # pinned at the notch
    # 1 s at h - H_ex = 575 Oe (~17 µm/s on the field neuron) is ~10 µm per pulse of 60 µm
    assert 3 <= result.pulses_to_fire_mean <= 8
    # removing Hz lets the exchange field pull the wall home: back at rest, every cycle
    reset_end = df[df["phase"] == RESET].groupby("cycle")["V_uV"].apply(lambda v: v.iloc[-10:].mean())
    assert np.allclose(reset_end, v_ap, atol=0.5)
    assert lab.sim.device.x_um == 0.0
    assert_left_safe(lab)


def test_points_carry_the_integrate_reset_columns(default_run):
    _, store, outcome, _ = default_run
    df = store.dataframe(outcome.run_id)
    counts = df.groupby(["cycle", "phase"]).size().unstack()
    assert (counts[BASELINE] == 10).all() and (counts[WRITE] == 10).all()
    assert (counts[RESET] > 100).all()  # 3 s of delta readings at ~19 ms
    assert (df["I_write_mA"] == 0.0).all() and (df["Hx_Oe"] == 0.0).all()
    writes = df[df["phase"] == WRITE]
    assert (writes["write_width_ms"] == 1000.0).all()
    assert (df.loc[df["phase"] != WRITE, "write_width_ms"] == 0.0).all()
    # the gaussmeter at the end of each 1 s hold: the coil (L/R 0.25 s) is within 10 Oe
    assert writes["Hz_Oe"].between(-1725.0, -1710.0).all()
    assert df.loc[df["phase"] == BASELINE, "Hz_Oe"].abs().max() < 10.0
    reset = df[df["phase"] == RESET]
    assert reset["Hz_Oe"].min() < -1000.0 and abs(reset["Hz_Oe"].iloc[-1]) < 10.0


def test_no_write_current_means_no_energy_and_the_summary_says_so(default_run):
    _, _, outcome, _ = default_run
    summary = outcome.analysis.summary()
    assert summary["energy_mJ"] == 0.0
    assert "no current" in summary["energy_note"] and "Hz" in summary["drive"]


def test_the_magnet_is_never_stepped_faster_than_its_ramp_limit(default_run):
    lab, _, _, setpoints = default_run
    axis = lab.field_z
    max_step_A = axis.limits.max_ramp_rate_Oe_s * axis.step_s * axis.amps_per_oe
    steps = np.abs(np.diff(np.r_[0.0, setpoints]))
    assert steps.max() <= max_step_A * (1 + 1e-9)
    # the pulses reach the drive current: -1725 Oe with 3 Oe remanence at 500 Oe/A
    assert min(setpoints) == pytest.approx((-1725.0 + 3.0) / 500.0)


def test_more_pulses_integrate_more_and_shorter_pulses_less(default_run, tmp_path):
    _, store_1s, outcome_1s, _ = default_run
    lab = Lab.open("sim", preset="field-neuron")
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    v_ap, v_p = levels(lab)
    outcome = Runner(lab, store).run(
        FieldIntegrate(cycles=1, pulse_width_s=0.1, full_swing_uV=v_ap - v_p))
    assert outcome.status == "finished", outcome.error
    assert outcome.analysis.cycles.n_fired == 0  # 90 % of the -75 -> -120 µV swing not reached
    df = store.dataframe(outcome.run_id)
    short = write_levels(df, 0)
    long = write_levels(store_1s.dataframe(outcome_1s.run_id), 0)
    assert np.all(np.diff(short) < 0.5)
    assert short[9] < short[4] - 5.0 < short[0] - 10.0  # more pulses, further along
    assert short[9] > v_p + 2.0  # ten 0.1 s pulses do not reach the notch; 1 s pulses do
    # per pulse, 0.1 s holds move the wall much less than 1 s holds (the regulated coil
    # follows the supply's ramp: the drive lasts the hold plus the ramps)
    assert (v_ap - short[3]) < 0.6 * (v_ap - long[3])
    # the regulated coil is at the drive field when the hold ends (no L/R lag short of it)
    assert df.loc[df["phase"] == WRITE, "Hz_Oe"].between(-1730.0, -1720.0).all()


class AbortOnWritePoint(ListenerBase):
    """Abort once the second pulse's read is in: the next sleep is the third pulse's hold."""

    def __init__(self, runner):
        self.runner = runner

    def on_points(self, points):
        if any(p["phase"] == WRITE and p["pulse"] == 1 for p in points):
            self.runner.abort()


def test_abort_during_a_pulse_ramps_back_and_leaves_the_lab_safe(tmp_path):
    lab = Lab.open("sim", preset="field-neuron")
    setpoints = record_supply_setpoints(lab)
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    runner = Runner(lab, store)
    runner.listeners.append(AbortOnWritePoint(runner))
    outcome = runner.run(FieldIntegrate())
    assert outcome.status == "aborted"
    assert store.get_run(outcome.run_id).status == "aborted"
    axis = lab.field_z
    max_step_A = axis.limits.max_ramp_rate_Oe_s * axis.step_s * axis.amps_per_oe
    assert np.abs(np.diff(np.r_[0.0, setpoints])).max() <= max_step_A * (1 + 1e-9)
    assert setpoints[-1] == 0.0
    assert_left_safe(lab)


class LateStart:
    """The lab's 6221 as a served lab under load drives it: INIT takes effect ``late_s`` of lab
    time after it is sent (or when the next command, in order, stops the run first)."""

    def __init__(self, source, clock, late_s: float):
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_clock", clock)
        object.__setattr__(self, "_late_s", late_s)
        object.__setattr__(self, "_due", None)
        object.__setattr__(self, "late_starts", 0)

    def start(self):
        object.__setattr__(self, "_due", self._clock.now() + self._late_s)

    def _deliver(self, now: bool = False):
        if self._due is not None and (now or self._clock.now() >= self._due):
            object.__setattr__(self, "_due", None)
            object.__setattr__(self, "late_starts", self.late_starts + 1)
            self._source.start()

    def abort(self):
        self._deliver(now=True)
        self._source.abort()

    def __getattr__(self, name):
        self._deliver()
        return getattr(self._source, name)

    def __setattr__(self, name, value):
        setattr(self._source, name, value)


def test_reads_wait_for_a_delta_run_that_starts_late(tmp_path):
    """Seen on the served lab at 20x under load: the 6221 handled INIT just before the stop and
    the read found 0 of 3 readings. A read waits for its readings; each point still has them."""
    lab = Lab.open("sim", preset="field-neuron")
    lab.source = LateStart(lab.source, lab.clock, late_s=0.3)
    store = RunStore(f"sqlite:///{tmp_path}/runs.sqlite")
    outcome = Runner(lab, store).run(FieldIntegrate(cycles=1, baseline_reads=2, field_pulses=3,
                                                    pulse_width_s=0.1, reset_time_s=1.0))
    assert outcome.status == "finished", outcome.error
    assert lab.source.late_starts == 1 + 3 + 1  # baseline, each pulse's read, the reset
    df = store.dataframe(outcome.run_id)
    assert (df["phase"] == BASELINE).sum() == 2 and (df["phase"] == WRITE).sum() == 3
    assert df["V_uV"].notna().all()
    assert_left_safe(lab)


def test_fields_beyond_the_limits_are_refused_before_any_output(tmp_path):
    lab = Lab.open("sim", preset="field-neuron")
    setpoints = record_supply_setpoints(lab)
    runner = Runner(lab, RunStore(f"sqlite:///{tmp_path}/runs.sqlite"))
    with pytest.raises(LimitError, match="max_field_Oe = 4000"):
        runner.run(FieldIntegrate(Hz_drive_Oe=-4500.0))
    with pytest.raises(LimitError, match="Hz = -4100 Oe"):
        runner.run(FieldIntegrate(Hz_hold_Oe=-4100.0, Hz_drive_Oe=-4200.0))
    assert setpoints == []  # the magnet was never told anything
    state = lab.sim.safe_state()
    assert not state["source_output_on"] and state["supply_z_current_A"] == 0.0
    assert lab.sim.device.x_um == 0.0


@pytest.mark.parametrize("params, message", [
    ({"Hz_drive_Oe": -1000.0}, "Hz_drive_Oe = -1000 Oe must lie beyond Hz_hold_Oe = -1150"),
    ({"Hz_hold_Oe": 1150.0}, "same sign"),
    ({"pulse_width_s": 0.0}, r"pulse_width_s .*\[0.1, 600\]"),
])
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ParameterError, match=message):
        FieldIntegrate(**params)


def test_figure_shows_v_against_pulse_for_every_cycle(default_run, tmp_path):
    lab, store, outcome, _ = default_run
    df = store.dataframe(outcome.run_id)
    fig = FieldIntegrate().figure(df, outcome.analysis, lab.setup.device)
    per_pulse = fig.axes[0]
    assert [line.get_label() for line in per_pulse.get_lines()
            if line.get_label().startswith("cycle")] == ["cycle 1", "cycle 2", "cycle 3"]
    fig.savefig(tmp_path / "field_integrate.png", dpi=90)
