"""The command line as a user meets it: check a setup, serve the simulated lab."""

import re
import subprocess
import sys

import pyvisa

from dwlab.cli import main


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
        # the written setup points a Lab at the served instruments
        assert main(["check", "--setup", str(setup_file)]) == 0
    finally:
        proc.terminate()
        proc.wait(10)
