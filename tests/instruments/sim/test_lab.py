"""The lab's event engine and clock: events in time order, sub-steps while a coil settles."""

import threading

import pytest

from dwlab.clock import RealClock, VirtualClock
from dwlab.instruments.sim.lab import SimLab


def test_a_600_s_virtual_wait_is_a_handful_of_model_steps():
    lab = SimLab(seed=1)
    calls = []
    step = lab.device.step
    lab.device.step = lambda *a: (calls.append(a), step(*a))
    lab.run_until(600.0)
    assert lab.clock.now() == 600.0 and lab.t == 600.0
    assert len(calls) < 10  # nothing settling: one exact step, not 60000 small ones
    # the wall at rest with no field or current stays home
    assert lab.device.x_um == 0.0


def test_events_fire_in_time_order_after_the_lab_evolved_to_their_time():
    lab = SimLab(seed=1)
    fired = []
    for t in (0.3, 0.1, 0.2):
        lab.schedule(t, lambda now: fired.append((now, lab.t)))
    lab.run_until(0.25)
    assert fired == [(0.1, 0.1), (0.2, 0.2)]
    lab.run_until(1.0)
    assert [f[0] for f in fired] == [0.1, 0.2, 0.3]
    assert lab.next_event_time() == float("inf")


def test_a_slewing_magnet_is_sub_stepped_so_the_wall_sees_the_field_change():
    lab = SimLab(seed=1)
    fields = []
    step = lab.device.step
    lab.device.step = lambda dt, hz, hx, i: (fields.append((dt, hz)), step(dt, hz, hx, i))
    lab.responders()["magnet_z"].handle("FUNC:MODE CURR;:VOLT 20;:CURR -2;:OUTP ON")
    lab.run_until(1.0)
    # -2 A at the 20 V rail takes L/R ln(10/8) = 56 ms: six sub-steps, then one plain step
    # (the regulated current has arrived: no L/R tail to follow)
    assert [dt for dt, _ in fields[:6]] == pytest.approx([0.01] * 5 + [0.01])
    assert len(fields) == 7 and fields[-1][0] == pytest.approx(0.94)
    hz = [h for _, h in fields]
    assert hz[0] > -110 and hz[-1] < -990 and all(b <= a for a, b in zip(hz, hz[1:]))


def test_safe_state_reports_the_instruments_own_outputs():
    lab = SimLab(seed=1)
    r = lab.responders()
    assert set(r) == {"source", "voltmeter", "magnet_z", "magnet_x", "gaussmeter_z", "gaussmeter_x"}
    r["source"].handle("SOUR:CURR 1e-3;:OUTP ON")
    r["magnet_z"].handle("FUNC:MODE CURR;:VOLT 20;:CURR 1;:OUTP ON")
    lab.run_until(3.0)
    state = lab.safe_state()
    assert state["source_output_on"] and state["source_current_A"] == 1e-3
    assert state["supply_z_output_on"] and state["supply_z_current_A"] == 1.0
    assert state["field_z_Oe"] == pytest.approx(lab.field_Oe("z"))
    with pytest.raises(ValueError, match="axis"):
        lab.field_Oe("y")


def test_seeded_labs_replay_identically():
    def run(seed):
        lab = SimLab(seed=seed)
        r = lab.responders()
        r["source"].handle("SOUR:CURR 1e-4;:OUTP ON")
        r["voltmeter"].handle("INIT:CONT OFF")  # READ? needs it (continuous after *RST)
        return [r["voltmeter"].handle("READ?") for _ in range(5)]
    assert run(11) == run(11) and run(11) != run(12)


def test_clients_on_several_threads_share_one_lab():
    lab = SimLab(seed=1, clock=VirtualClock())
    r = lab.responders()
    errors = []

    def poll(name, query):
        for _ in range(200):
            if r[name].handle(query) is None:
                errors.append(name)

    threads = [threading.Thread(target=poll, args=a) for a in
               (("gaussmeter_z", "RDGFIELD?"), ("magnet_x", "RDGI?"), ("source", "OUTP?"))]
    for t in threads:
        t.start()
    for _ in range(100):
        lab.clock.sleep(0.01)
        r["magnet_z"].handle("MEAS:CURR?")
    for t in threads:
        t.join()
    assert errors == []


def test_a_real_clock_lab_evolves_with_wall_time():
    lab = SimLab(seed=1, clock=RealClock(speed=1000.0), device_overrides={"H_ex_Oe": 1200.0})
    assert lab.device.params.H_ex_Oe == 1200.0
    t0 = lab.clock.now()
    lab.clock.sleep(0.5)  # 0.5 ms of wall time
    lab.advance()
    assert lab.t >= t0 + 0.5


def _wall_path(poll_s: float) -> list[float]:
    """rv-1220 saturated to P, then an opposing field that returns the wall (~1 µm/s); the
    wall's position each second while the gaussmeter is read every ``poll_s``."""
    lab = SimLab(preset="rv-1220", seed=5)
    magnet, probe = lab.responders()["magnet_z"], lab.responders()["gaussmeter_z"]
    magnet.handle("FUNC:MODE CURR;:VOLT 20;:CURR -5;:OUTP ON")  # -2500 Oe: P, wall at the notch
    lab.run_until(3.0)
    magnet.handle("CURR -1.56")  # -780 Oe: h - H_ex = -440 Oe, the coil slews there
    path = []
    for second in range(1, 61):
        while lab.t < 3.0 + second - 1e-9:
            lab.clock.sleep(poll_s)
            probe.handle("RDGFIELD?")
        path.append(lab.device.x_um)
    return path


def test_the_wall_moves_on_the_lab_clock_however_often_instruments_are_read():
    """A procedure that polls 20 times as often sees the same wall: the device's randomness is
    its own, hops are a Poisson process in lab time, and sub-steps lie on a fixed grid."""
    slow, fast = _wall_path(1.0), _wall_path(0.05)
    assert slow[-1] < slow[0] - 20.0  # the wall returned a good part of its way
    assert fast == pytest.approx(slow, abs=1e-9)
