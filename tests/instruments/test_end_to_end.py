"""The same drivers, unchanged, against the simulated lab in process and over loopback TCP.

Pulse delta is configured, armed and run through the Keithley6221 driver; the buffer is read
back as (reading, timestamp) pairs; V_AHE comes out at the paper's levels. Over TCP the
instruments are reached by pyvisa-py exactly as a 6221 on its LAN port would be.
"""

import numpy as np
import pytest

from dwlab.clock import RealClock
from dwlab.instruments.sim.lab import SimLab
from dwlab.instruments.sim.server import SimServer
from dwlab.lab import Lab
from dwlab.setup import load_setup, parse_setup


def served_setup(resources):
    raw = dict(load_setup("sim").raw)
    raw["instruments"] = {role: {**raw["instruments"][role], "resource": resource}
                          for role, resource in resources.items()}
    raw["camera"] = {"driver": "none"}
    return parse_setup(raw, "served sim")


@pytest.fixture(params=["in-process", "tcp"])
def lab(request):
    if request.param == "in-process":
        with Lab.open("sim") as lab:
            yield lab
        return
    # Over a socket a write returns before the server has handled it, as with hardware, so
    # the served lab runs on real time (sped up 20x, as `dwlab sim serve --speed 20` does):
    # a virtual clock that the client advances could run ahead of writes still in flight.
    sim = SimLab(preset="sot-neuron", seed=0, clock=RealClock(speed=20))
    with SimServer(sim.responders()) as server:
        setup = served_setup(server.resources())
        assert not setup.simulated  # every role is a TCPIP::127.0.0.1::PORT::SOCKET resource
        with Lab(setup, clock=sim.clock) as lab:
            lab.truth = sim  # the hidden device, for the assertions only
            yield lab


def truth(lab):
    return lab.sim if lab.sim is not None else lab.truth


def pulse_delta(lab, high_A, count, width_s=0.5e-3, interval_plc=5):
    """Configure, arm and run one pulse-delta test; return (readings V, timestamps s)."""
    src = lab.source
    src.clear_buffer()
    src.pulse_delta_high = high_A
    src.pulse_delta_low = 0.0
    src.pulse_delta_width = width_s
    src.pulse_delta_source_delay = 0.1e-3
    src.pulse_delta_count = count
    src.pulse_delta_interval = interval_plc
    src.pulse_delta_low_measurements = 2
    src.buffer_points = count
    assert src.pulse_delta_connected
    src.pulse_delta_arm()
    assert src.pulse_delta_armed
    src.start()
    lab.clock.sleep(count * interval_plc / 60 + 0.2)
    readings, times = src.buffer_pairs()
    src.abort()
    return readings, times


def test_pulse_delta_reads_v_ahe_and_integrates_the_wall(lab):
    device = truth(lab).device
    rest, times = pulse_delta(lab, 100e-6, count=10)
    assert len(rest) == 10 and np.all(np.diff(times) > 0)
    assert np.mean(rest) * 1e6 == pytest.approx(-75.0, abs=0.3)  # AP at 100 µA

    lab.field_x.set_field(1000)
    lab.field_z.set_field(-1725)
    pulse_delta(lab, 20e-3, count=20)  # twenty 20 mA write pulses, timed by the 6221
    assert device.x_um == pytest.approx(device.params.x_notch_um)  # integrated to the notch
    fired, _ = pulse_delta(lab, 100e-6, count=10)
    assert np.mean(fired) * 1e6 == pytest.approx(-120.0, abs=0.3)  # P: the neuron fired

    assert lab.make_safe() == []
    state = truth(lab).safe_state()
    assert not state["source_output_on"] and abs(state["field_z_Oe"]) < 10
    for instrument in (lab.source, lab.voltmeter, lab.supplies["z"]):
        assert instrument.ask("SYST:ERR?").startswith("0,")  # no command was refused
