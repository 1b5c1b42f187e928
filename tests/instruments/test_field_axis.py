"""FieldAxis against a fake magnet: first-order field lag on a VirtualClock.

The fake supply records every current it is given with the clock time, so the test can check
the ramp rate between any two writes; the fake gaussmeter reads the lagging field.
"""

import math

import numpy as np
import pytest

from dwlab.clock import VirtualClock
from dwlab.instruments.field_axis import (
    FieldAxis,
    FieldAxisError,
    FieldCalibration,
    FieldLimits,
    MagnetSupply,
)

TAU_S = 0.2           # magnet field lag
TRUE_OE_PER_A = 100.0
LIMITS = FieldLimits(max_field_Oe=1000.0, max_ramp_rate_Oe_s=200.0, max_current_A=12.0)


class FakeMagnet:
    """Supply + magnet + probe: field relaxes to k*I + offset with time constant TAU_S.

    With ``ramps_internally`` the output walks to the setpoint at the programmed rate (643);
    otherwise it jumps (BOP).
    """

    def __init__(self, clock, ramps_internally=False, oe_per_amp=TRUE_OE_PER_A, offset_Oe=0.0):
        self.clock = clock
        self.ramps_internally = ramps_internally
        self.k = oe_per_amp
        self.offset_Oe = offset_Oe
        self.enabled = False
        self.rate = None
        self.output_A = 0.0
        self.target_A = 0.0
        self.field_Oe = offset_Oe
        self.t = clock.now()
        self.writes = [(self.t, 0.0)]  # (time, current) as the output follows
        self.log = []                   # every call, in order

    def _advance(self):
        now = self.clock.now()
        dt = 1e-3
        while self.t < now - 1e-12:
            h = min(dt, now - self.t)
            if self.ramps_internally and self.output_A != self.target_A:
                step = math.copysign(min(self.rate * h, abs(self.target_A - self.output_A)),
                                     self.target_A - self.output_A)
                self.output_A += step
            goal = self.k * self.output_A + self.offset_Oe
            self.field_Oe = goal + (self.field_Oe - goal) * math.exp(-h / TAU_S)
            self.t += h

    def set_current(self, amps):
        self._advance()
        self.log.append(("set_current", amps))
        if self.ramps_internally:
            self.target_A = amps
        else:
            self.output_A = amps
            self.writes.append((self.clock.now(), amps))

    @property
    def measured_current(self):
        self._advance()
        return self.output_A

    @property
    def output_setpoint(self):
        self._advance()
        return self.output_A

    def enable(self):
        self.log.append(("enable",))
        self.enabled = True

    def disable(self):
        self.log.append(("disable",))
        self.enabled = False

    def set_ramp_rate(self, amps_per_s):
        self.log.append(("set_ramp_rate", amps_per_s))
        self.rate = amps_per_s

    @property
    def ramp_done(self):
        self._advance()
        self.writes.append((self.clock.now(), self.output_A))
        return self.output_A == self.target_A

    @property
    def field(self):
        self._advance()
        return self.field_Oe


def axis(magnet, clock, calibration=FieldCalibration(TRUE_OE_PER_A), **kwargs):
    return FieldAxis("z", magnet, magnet, calibration, LIMITS, clock, **kwargs)


def max_rate_A_s(writes):
    t, i = np.array(writes).T
    dt = np.diff(t)
    di = np.abs(np.diff(i))
    moving = di > 0
    assert np.all(dt[moving] > 0), "current changed with no time passing"
    return float(np.max(di[moving] / dt[moving]))


def test_fake_magnet_is_a_magnet_supply():
    assert isinstance(FakeMagnet(VirtualClock()), MagnetSupply)


@pytest.mark.parametrize("internal", [False, True])
def test_set_field_reaches_target_without_exceeding_ramp_rate(internal):
    clock = VirtualClock()
    magnet = FakeMagnet(clock, ramps_internally=internal)
    z = axis(magnet, clock)
    measured = z.set_field(500.0)
    assert measured == pytest.approx(500.0, abs=z.tolerance_Oe)
    assert z.target_Oe == 500.0
    assert magnet.enabled
    limit_A_s = LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A
    assert max_rate_A_s(magnet.writes) <= limit_A_s * (1 + 1e-6)
    assert clock.now() >= 500.0 / LIMITS.max_ramp_rate_Oe_s  # it took the time a ramp takes


def test_slower_rate_is_honoured_and_sign_change_passes_through_zero_gently():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    z.set_field(300.0)
    z.set_field(-300.0, rate_Oe_s=50.0)
    t, i = np.array(magnet.writes).T
    later = t > t[np.argmax(i)]
    assert max_rate_A_s(list(zip(t[later], i[later]))) <= 0.5 * (1 + 1e-6)
    assert z.field == pytest.approx(-300.0, abs=z.tolerance_Oe)


@pytest.mark.parametrize("call, words", [
    (lambda z: z.set_field(1500.0), ["axis z", "1500", "1000"]),
    (lambda z: z.set_field(-1000.1), ["axis z", "-1000.1"]),
    (lambda z: z.set_field(100.0, rate_Oe_s=500.0), ["axis z", "rate", "500", "200"]),
    (lambda z: z.set_field(math.nan), ["axis z", "nan"]),
])
def test_limits_refused_before_any_output(call, words):
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    with pytest.raises(ValueError) as err:
        call(z)
    for word in words:
        assert word in str(err.value)
    assert magnet.log == []
    assert clock.now() == 0.0


def test_current_limit_refused_before_any_output():
    # a weak calibration makes 900 Oe need 18 A, beyond the 12 A the magnet may take
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock, calibration=FieldCalibration(50.0))
    with pytest.raises(ValueError, match="axis z current = 18 A"):
        z.set_field(900.0)
    assert magnet.log == []


def test_miscalibration_is_corrected_from_the_measured_error():
    # the axis thinks 100 Oe/A, the magnet gives 90 Oe/A: 400 Oe lands at 360 Oe, then corrects
    clock = VirtualClock()
    magnet = FakeMagnet(clock, oe_per_amp=90.0)
    z = axis(magnet, clock)
    measured = z.set_field(400.0)
    assert measured == pytest.approx(400.0, abs=z.tolerance_Oe)
    currents = [c[1] for c in magnet.log if c[0] == "set_current"]
    assert currents[-1] == pytest.approx(4.0 + 40.0 / 100.0, abs=0.1)


def test_still_off_after_one_correction_is_a_clear_error():
    # the magnet gives half what it should: one correction from the error is not enough
    clock = VirtualClock()
    magnet = FakeMagnet(clock, oe_per_amp=50.0)
    z = axis(magnet, clock)
    with pytest.raises(FieldAxisError, match="axis z.*after one correction.*target 400"):
        z.set_field(400.0)
    assert z.target_Oe is None


def test_remanence_follows_the_sign_of_the_last_excursion():
    cal = FieldCalibration(oe_per_amp=100.0, remanence_Oe=8.0)
    assert cal.current_A(508.0, +1) == pytest.approx(5.0)
    assert cal.current_A(-508.0, -1) == pytest.approx(-5.0)
    assert cal.field_Oe(0.0, +1) == 8.0
    assert cal.field_Oe(0.0, -1) == -8.0
    assert cal.field_Oe(0.0, 0) == 0.0
    assert cal.current_A(cal.field_Oe(2.5, -1), -1) == pytest.approx(2.5)


def test_zero_field_after_positive_excursion_cancels_remanence():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock, calibration=FieldCalibration(TRUE_OE_PER_A, remanence_Oe=20.0))
    magnet.offset_Oe = 20.0  # the iron now remembers the positive side
    z.set_field(300.0)
    z.set_field(0.0)
    assert magnet.output_A == pytest.approx(-0.2)  # -remanence / k
    assert z.field == pytest.approx(0.0, abs=z.tolerance_Oe)


@pytest.mark.parametrize("internal", [False, True])
def test_ramp_to_zero_is_bounded_and_ends_with_output_off(internal):
    clock = VirtualClock()
    magnet = FakeMagnet(clock, ramps_internally=internal)
    z = axis(magnet, clock)
    z.set_field(800.0)
    t0 = clock.now()
    z.ramp_to_zero()
    assert magnet.output_A == 0.0
    assert magnet.log[-1] == ("disable",)
    assert not magnet.enabled
    assert z.target_Oe is None
    assert clock.now() - t0 >= 800.0 / LIMITS.max_ramp_rate_Oe_s * (1 - 1e-6)
    assert max_rate_A_s(magnet.writes) <= LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * (1 + 1e-6)


def test_ramp_to_zero_from_an_unknown_state_starts_from_the_measured_current():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    magnet.output_A = 6.0  # left on by a crashed run
    magnet.writes = [(0.0, 6.0)]
    z = axis(magnet, clock)
    z.ramp_to_zero()
    assert magnet.output_A == 0.0
    assert max_rate_A_s(magnet.writes) <= 2.0 * (1 + 1e-6)
    assert clock.now() >= 3.0 * (1 - 1e-6)


def test_ramp_to_zero_after_lost_setpoints_ramps_from_what_the_supply_really_carries():
    """A hung link swallowed the last ramp's writes: the axis's memory of the current is
    wrong, so the shutdown ramp must start from the supply's own reading."""
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    z.set_field(800.0)
    real_set = magnet.set_current
    magnet.set_current = lambda amps: None  # writes lost
    z._ramp_current(0.0, LIMITS.max_ramp_rate_Oe_s)  # a ramp whose writes never arrived
    magnet.set_current = real_set  # the link is back (reopened)
    assert magnet.output_A == pytest.approx(8.0)
    z.ramp_to_zero()
    assert magnet.output_A == 0.0 and not magnet.enabled
    assert max_rate_A_s(magnet.writes) <= LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * (1 + 1e-6)


def test_coil_current_that_never_decays_is_an_error_and_the_output_stays_on():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    z.set_field(500.0)
    stuck = magnet.output_A
    magnet.set_current = lambda amps: magnet.log.append(("set_current", amps))  # ignores us
    with pytest.raises(FieldAxisError, match=r"axis z: coil current still 5 A .*output left on"):
        z.ramp_to_zero()
    assert magnet.output_A == stuck and magnet.enabled


def test_ramp_to_returns_when_the_supply_arrives_without_waiting_for_the_field():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    z.ramp_to(600.0)
    assert magnet.output_A == pytest.approx(6.0)  # the supply is there at once ...
    assert magnet.field_Oe < 600.0 - 5 * z.tolerance_Oe  # ... the lagging field is not yet
    assert max_rate_A_s(magnet.writes) <= LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * (1 + 1e-6)
    with pytest.raises(ValueError, match="axis z field"):
        z.ramp_to(5000.0)
    assert magnet.output_A == pytest.approx(6.0)  # refused before any output


def test_on_step_sees_every_step_and_a_stop_mid_ramp_leaves_no_jump():
    clock = VirtualClock()
    magnet = FakeMagnet(clock)
    z = axis(magnet, clock)
    seen = []

    def stop_halfway():
        seen.append(magnet.output_A)
        if magnet.output_A >= 4.0:
            raise KeyboardInterrupt  # an operator's Ctrl-C in the middle of a sweep

    with pytest.raises(KeyboardInterrupt):
        z.set_field(800.0, on_step=stop_halfway)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(4.0)
    z.ramp_to_zero()  # must walk down from 4 A, not from 0 A or 8 A
    assert magnet.output_A == 0.0
    assert max_rate_A_s(magnet.writes) <= LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * (1 + 1e-6)


def test_ramp_to_zero_starts_from_the_supply_output_not_the_lagging_coil():
    """Right after a fast ramp the coil current lags the supply by L/R; a shutdown ramp that
    started from the coil's reading would first jump the supply down by the lag."""

    class LaggingCoil(FakeMagnet):
        @property
        def measured_current(self):
            self._advance()
            return self.field_Oe / self.k  # the coil, which the field follows

    clock = VirtualClock()
    magnet = LaggingCoil(clock)
    z = axis(magnet, clock)
    z.ramp_to(800.0)
    step_A = LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * z.step_s
    assert magnet.measured_current < magnet.output_A - 1.5 * step_A  # behind by > a step
    z.ramp_to_zero()
    assert magnet.output_A == 0.0
    assert max_rate_A_s(magnet.writes) <= LIMITS.max_ramp_rate_Oe_s / TRUE_OE_PER_A * (1 + 1e-6)


def test_internal_ramp_that_never_finishes_raises():
    clock = VirtualClock()
    magnet = FakeMagnet(clock, ramps_internally=True)
    magnet.set_ramp_rate = lambda amps_per_s: setattr(magnet, "rate", 1e-6)  # stuck supply
    z = axis(magnet, clock)
    with pytest.raises(FieldAxisError, match="axis z: supply ramp not done"):
        z.set_field(200.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(max_field_Oe=0, max_ramp_rate_Oe_s=1, max_current_A=1), "max_field_Oe"),
    (dict(max_field_Oe=1, max_ramp_rate_Oe_s=-1, max_current_A=1), "max_ramp_rate_Oe_s"),
    (dict(max_field_Oe=1, max_ramp_rate_Oe_s=1, max_current_A=math.inf), "max_current_A"),
])
def test_limits_must_be_positive(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FieldLimits(**kwargs)


class LateWrites(FakeMagnet):
    """A supply whose writes take effect only when its own link is next asked something (a
    write is queued; a query is answered after it), while the probe has a link of its own."""

    def __init__(self, clock):
        super().__init__(clock)
        self.queued = []

    def set_current(self, amps):
        self.queued.append(amps)

    def _deliver(self):
        for amps in self.queued:
            super().set_current(amps)
        self.queued.clear()

    @property
    def measured_current(self):
        self._deliver()
        return super().measured_current

    @property
    def output_setpoint(self):
        self._deliver()
        return super().output_setpoint


def test_the_field_is_read_only_after_the_supply_confirms_its_setpoint():
    """Without asking the supply first, the probe sees the old field hold still, takes it for
    settled and 'corrects' by the whole step (on the served lab under load: -1916 Oe after one
    correction for -1725 Oe)."""
    clock = VirtualClock()
    magnet = LateWrites(clock)
    z = axis(magnet, clock)
    assert z.set_field(500.0) == pytest.approx(500.0, abs=5.0)
    assert ("set_current", 5.0) in magnet.log and not magnet.queued
