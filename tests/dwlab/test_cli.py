"""The command line as a user meets it: check a setup, serve the simulated lab."""

import re
import subprocess
import sys

import pyvisa

from dwlab.cli import main
from dwlab.setup import SIM_SETUP


def test_check_sim_prints_every_instruments_maker_and_model(capsys):
    assert main(["check", "--setup", "sim"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ok\s+source\s+sim\s+KEITHLEY INSTRUMENTS INC\.,MODEL 6221", out)
    assert re.search(r"ok\s+voltmeter\s+sim\s+KEITHLEY INSTRUMENTS INC\.,MODEL 2182A", out)
    assert re.search(r"ok\s+magnet_z\s+sim\s+KEPCO", out)
    assert re.search(r"ok\s+gaussmeter_x\s+sim\s+LSCI,MODEL425", out)


def test_check_with_a_bad_setup_names_the_problem(tmp_path, capsys):
    bad = tmp_path / "lab.toml"
    bad.write_text("[limits]\nmax_current_mA = 10\n")
    assert main(["check", "--setup", str(bad)]) == 2
    assert "instruments: missing" in capsys.readouterr().err


def test_sim_serve_prints_resources_a_pyvisa_client_can_open(tmp_path):
    setup_file = tmp_path / "served.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dwlab.cli", "sim", "serve", "--write-setup", str(setup_file)],
        stdout=subprocess.PIPE, text=True)
    try:
        resources = {}
        for line in proc.stdout:
            match = re.match(r"\s+(\w+)\s+(TCPIP::127\.0\.0\.1::\d+::SOCKET)", line)
            if match:
                resources[match.group(1)] = match.group(2)
            if line.startswith("Ctrl-C"):
                break
        assert set(resources) == {"source", "voltmeter", "magnet_z", "magnet_x",
                                  "gaussmeter_z", "gaussmeter_x"}
        rm = pyvisa.ResourceManager("@py")
        source = rm.open_resource(resources["source"], read_termination="\n",
                                  write_termination="\n", timeout=5000)
        assert "MODEL 6221" in source.query("*IDN?")
        source.write("SOUR:CURR 2")  # beyond ±105 mA: refused, not clipped
        assert source.query("SYST:ERR?").startswith("-222")
        source.close()
        rm.close()
        # the written setup points a Lab at the served instruments, marked simulated: data
        # measured on them is never stored as real
        assert main(["check", "--setup", str(setup_file)]) == 0
        from dwlab.setup import load_setup

        served = load_setup(setup_file)
        assert served.simulated and served.instruments["source"].resource.startswith("TCPIP")
        proc.terminate()  # a service stop: the ports close and it says so, like Ctrl-C
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped (SIGTERM)." in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_check_reports_every_unreachable_instrument_and_fails(tmp_path, capsys):
    """A port nobody listens on: each instrument is named with its resource and the reason."""
    import socket

    with socket.socket() as s:  # a free loopback port, closed again: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    text = (SIM_SETUP.read_text().replace('resource = "sim"', f'resource = "{resource}"')
            .replace('driver = "sim"\npixel_um', 'driver = "none"\npixel_um'))
    setup = tmp_path / "lab.toml"
    setup.write_text(text)
    assert main(["check", "--setup", str(setup)]) == 1
    out = capsys.readouterr().out
    for role in ("source", "voltmeter", "magnet_z", "magnet_x", "gaussmeter_z", "gaussmeter_x"):
        assert re.search(rf"FAIL {role}\s+{re.escape(resource)}\s+\S*(Error|refused)", out), out


def test_opening_a_lab_with_an_unreachable_instrument_names_it(tmp_path):
    import pytest

    from dwlab.lab import InstrumentError, Lab
    from dwlab.setup import load_setup, parse_setup

    raw = dict(load_setup("sim").raw)
    raw["instruments"] = {**raw["instruments"],
                          "voltmeter": {"resource": "TCPIP::127.0.0.1::9::SOCKET"}}
    with pytest.raises(InstrumentError, match=r"voltmeter: cannot open TCPIP::127.0.0.1::9::SOCKET"):
        Lab(parse_setup(raw))
