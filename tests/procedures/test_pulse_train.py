"""The waveform pulse train on the simulated lab: shape, timing and the offset cancellation."""

import types

import numpy as np
import pytest

from dwlab.clock import RealClock
from dwlab.instruments.keithley2182 import Keithley2182A
from dwlab.instruments.keithley6221 import Keithley6221
from dwlab.instruments.sim.lab import SimLab
from dwlab.instruments.sim.server import SimServer
from dwlab.lab import Lab
from dwlab.procedures.pulse_train import (
    APERTURE_MAX_S,
    READING_OVERHEAD_S,
    SEGMENT_S,
    START_MARGIN_S,
    PulseTrain,
    PulseTrainError,
    TrainTiming,
)
from dwlab.setup import load_setup

from .simlab import OvertakenSource


def test_one_period_is_the_write_then_the_read_in_10_us_points():
    timing = TrainTiming(10e-3, 0.5e-3, 1e-3)
    amplitude, points = timing.waveform(20e-3, 100e-6)
    assert amplitude == 20e-3 and len(points) == 1000
    assert points[:50] == [1.0] * 50 and points[50:] == [0.005] * 950
    assert timing.read_time_s == pytest.approx(1.5e-3)  # the marker: 1 ms after the write
    amplitude, points = TrainTiming(10e-3, 0.0).waveform(0.0, 100e-6)
    assert amplitude == 100e-6 and set(points) == {1.0}


@pytest.mark.parametrize("args, message", [
    ((10e-3, 0.505e-3), "not a whole number of 10 µs"),
    ((5e-3, 0.5e-3, 1.5e-3), "leaves 3 ms .* needs 4 ms"),
    ((2e3, 0.5e-3), "outside the 6221 waveform's"),
    # the 2182A's reading (4 ms aperture + 2 ms) must end before the next period's trigger
    ((5e-3, 0.0, 0.0), "period = 5 ms is shorter than one 2182A reading, 6 ms"),
])
def test_timing_the_instruments_cannot_run_is_refused(args, message):
    with pytest.raises(PulseTrainError, match=message):
        TrainTiming(*args)


def test_reads_are_v_ahe_at_the_read_current_with_the_thermal_emf_removed():
    lab = Lab.open("sim")  # no field: the wall rests at x = 0, V_AHE = -75 µV at 100 µA
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    device = lab.sim.device
    emf_uV = device.thermo_emf_V(lab.clock.now()) * 1e6
    assert abs(emf_uV) > 0.5  # a plain one-polarity reading would be off by this much
    t0 = lab.clock.now()
    t, v_uV = trains.run(50, TrainTiming(10e-3, 0.0), 0.0, 100e-6)
    assert len(v_uV) == 50 and np.mean(v_uV) == pytest.approx(-75.0, abs=0.05)
    # the instrument's schedule: 5 segments of 10 periods (0.1 s), a pause between them
    steps, between = np.diff(t), np.arange(9, 49, 10)
    assert np.allclose(np.delete(steps, between), 10e-3) and t[0] > t0
    assert np.all(steps[between] > 10e-3)
    # the write current never enters a reading: writes at zero field do not move the wall
    t, v_uV = trains.run(20, TrainTiming(10e-3, 0.5e-3), 20e-3, 100e-6)
    assert np.mean(v_uV) == pytest.approx(-75.0, abs=0.05) and device.x_um == 0.0
    assert lab.sim.safe_state()["source_output_on"] is False  # the waveform's end: output off


def test_a_train_is_read_segment_by_segment_while_it_runs():
    """Each reading reaches ``on_readings`` within a segment (0.1 s) plus one reading of its
    moment, numbered in order; a train longer than the 2182A's buffer runs too."""
    lab = Lab.open("sim")
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    seen = []
    t, v_uV = trains.run(1100, TrainTiming(10e-3, 0.5e-3), 20e-3, 100e-6,
                         lambda first, t, v: seen.append((lab.clock.now(), first, t, v)))
    assert len(v_uV) == 1100 and lab.sim.voltmeter.lost_triggers == 0
    assert [first for _, first, _, _ in seen] == list(range(0, 1100, 10))
    lag = np.concatenate([now - t for now, _, t, _ in seen])
    assert lag.min() > 0 and lag.max() <= SEGMENT_S + APERTURE_MAX_S + READING_OVERHEAD_S + 1e-3
    assert lab.sim.safe_state()["source_output_on"] is False


def no_query_while_triggers_may_come(lab) -> list:
    """Spy on the simulated 2182A: every query it answers while readings are armed on
    external triggers and the 6221's waveform runs (the design rule says: none)."""
    vm, source, broken = lab.sim.voltmeter, lab.sim.source, []
    handle = vm.handle

    def spied(message):
        with lab.sim.lock:
            lab.sim.advance()
            if ("?" in message and vm.s["trig_source"] == "EXT" and vm.pending > 0
                    and source.running is not None):
                broken.append((lab.sim.t, message))
        return handle(message)
    vm.handle = spied
    return broken


@pytest.mark.parametrize("periods, period_s, width_s", [
    (25, 10e-3, 0.5e-3),  # 10 + 10 + 5
    (11, 9.5e-3, 0.0),  # 10 + 1
    (3, 0.25, 0.0),  # periods longer than a segment: read before each period ends
    (1, 10e-3, 0.0),
])
def test_every_period_is_read_and_the_2182a_is_never_asked_while_a_trigger_may_come(
        periods, period_s, width_s):
    lab = Lab.open("sim")
    broken = no_query_while_triggers_may_come(lab)
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    seen = []
    t, v_uV = trains.run(periods, TrainTiming(period_s, width_s), 20e-3 if width_s else 0.0,
                         100e-6, lambda first, t, v: seen.append((lab.clock.now(), t)))
    assert len(v_uV) == periods and lab.sim.voltmeter.lost_triggers == 0 and broken == []
    lag = np.concatenate([now - t for now, t in seen])
    # each reading is read within a segment (0.1 s) plus the re-arming of its moment; an
    # early read within the margin after its reading is due
    assert lag.max() <= max(SEGMENT_S, START_MARGIN_S + APERTURE_MAX_S + READING_OVERHEAD_S) + 0.01


def test_a_6221_that_starts_its_waveform_late_loses_no_period(monkeypatch):
    """The 6221's latency from SOUR:WAVE:INIT to its waveform is not in its manual: a
    segment is read only once the 6221 says its waveform has ended, so a late start (8 ms
    here) cannot make the 2182A be asked before its last trigger."""
    from dwlab.instruments.sim.keithley6221 import Keithley6221Sim

    begin = Keithley6221Sim._begin

    def late(self, mode):
        begin(self, mode)
        self.t_start = self.lab.t + 8e-3

    monkeypatch.setattr(Keithley6221Sim, "_begin", late)
    lab = Lab.open("sim")
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    _, v_uV = trains.run(40, TrainTiming(10e-3, 0.5e-3), 20e-3, 100e-6)
    assert len(v_uV) == 40 and lab.sim.voltmeter.lost_triggers == 0


def test_the_simulated_2182a_loses_a_trigger_that_comes_while_it_answers_a_query():
    """The stricter reading of an unsettled fact, which is why a train never asks the 2182A
    while a trigger may come: a query 0.5 ms before a marker costs that period's reading."""
    lab = Lab.open("sim")
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    train = trains.start(10, TrainTiming(10e-3, 0.0), 0.0, 100e-6)  # markers 1 ms into periods
    lab.clock.sleep(train.t0_s + 10.5e-3 - lab.clock.now())  # 0.5 ms before the second one
    lab.voltmeter.buffer_points_actual  # noqa: B018 - TRAC:POIN:ACT?, as a drain would ask
    with pytest.raises(RuntimeError, match="buffer holds 9 readings after a segment of 10"):
        trains.finish(train)
    assert lab.sim.voltmeter.lost_triggers == 1


def test_the_offset_pair_reads_only_once_the_6221_has_its_level():
    """Seen on the served lab under load: after a train the output is off, and the reading at
    +I_read came before the 6221 had the current (the pair then read 38 µV, not 0.7)."""
    lab = Lab.open("sim")
    lab.source = OvertakenSource(lab.source, lab.clock)
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    emf_uV = lab.sim.device.thermo_emf_V(lab.clock.now()) * 1e6
    for _ in range(3):
        trains.run(3, TrainTiming(10e-3, 0.0), 0.0, 100e-6)  # ends with the output off
        assert trains.offset_V(100e-6) * 1e6 == pytest.approx(emf_uV, abs=0.5)


def test_prepare_sets_up_the_2182a_and_the_trigger_lines_as_the_manuals_require():
    lab = Lab.open("sim")
    lab.sim.voltmeter.handle("*RST")  # continuous initiation, as after a reset
    PulseTrain(lab, lab.clock.sleep).prepare(lab.setup.limits.compliance_V)
    vm, src = lab.sim.voltmeter, lab.sim.source
    assert [vm.handle(q) for q in ("INIT:CONT?", "SYST:FAZ?", "SYST:LSYNC?", "SYST:AZER?")] \
        == ["0", "0", "0", "0"]
    assert (src.handle("TRIG:OLIN?"), src.handle("SOUR:WAVE:PMAR:OLIN?")) == ("4", "2")
    assert vm.handle("SYST:ERR?") == src.handle("SYST:ERR?") == '0,"No error"'


def test_one_reading_per_period_when_the_lab_runs_in_real_time():
    """As over ``dwlab sim serve``: the instruments time the train, the clock is the wall's."""
    lab = Lab(load_setup("sim"), sim=SimLab(seed=0, clock=RealClock()))
    trains = PulseTrain(lab, lab.clock.sleep)
    trains.prepare(lab.setup.limits.compliance_V)
    _, v_uV = trains.run(12, TrainTiming(10e-3, 0.5e-3), 20e-3, 100e-6)
    assert len(v_uV) == 12 and lab.sim.voltmeter.lost_triggers == 0
    assert np.mean(v_uV) == pytest.approx(-75.0, abs=0.1)


def test_one_reading_per_period_over_tcp_at_real_time_train_after_train():
    """Through pyvisa-py, as ``dwlab sim serve`` clients do: the 6221 and the 2182A are on two
    links, so the train must not start before the 2182A has parsed its INIT (a reused ARB
    makes the 6221's commands few, and its start used to overtake the 2182A's arming)."""
    sim = SimLab(seed=0, clock=RealClock())
    with SimServer(sim.responders()) as server:
        res, clock = server.resources(), RealClock()
        source = Keithley6221(res["source"], clock=clock, visa_library="@py")
        meter = Keithley2182A(res["voltmeter"], visa_library="@py")
        lab = types.SimpleNamespace(source=source, voltmeter=meter, clock=clock)
        try:
            trains = PulseTrain(lab, clock.sleep)
            trains.prepare(20.0)
            counts = [len(trains.run(10, TrainTiming(10e-3, 0.0), 0.0, 100e-6)[1])
                      for _ in range(3)]
        finally:
            source.adapter.close()
            meter.adapter.close()
    assert counts == [10, 10, 10] and sim.voltmeter.lost_triggers == 0
