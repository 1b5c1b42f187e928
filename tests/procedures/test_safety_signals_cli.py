"""The real command line in a subprocess, on a lab served by ``dwlab sim serve`` in another
process: SIGTERM, SIGHUP and SIGINT, once or as a storm into the cleanup. Afterwards the served
instruments are asked for their own state (the run's process is gone), the store is read, and
what the command line printed is compared with what the store recorded.

The moments are placed by the served instruments' state, not by wall time: the first signal
goes when the z magnet carries current (the run is under way), the storm once the cleanup has
turned the source off, until the coil current is back at zero.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from dwlab.db.store import RunStore

RUN = ["run", "hysteresis", "--quiet", "--loop", "minor", "--n-loops", "1"]


class Served:
    """``dwlab sim serve`` in its own process, with a raw-socket client per instrument."""

    def __init__(self, tmp_path):
        self.setup = tmp_path / "served.toml"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dwlab.cli", "sim", "serve", "--write-setup",
             str(self.setup)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.ports = {}
        for line in self.proc.stdout:
            if "TCPIP::127.0.0.1::" in line:
                role, resource = line.split()
                self.ports[role] = int(resource.split("::")[2])
            if line.startswith("Ctrl-C to stop"):
                break
        assert len(self.ports) == 6, self.ports
        self.files = {}

    def ask(self, role: str, query: str) -> str:
        if role not in self.files:
            sock = socket.create_connection(("127.0.0.1", self.ports[role]), timeout=20)
            self.files[role] = sock.makefile("rwb")
        f = self.files[role]
        f.write(query.encode() + b"\n")
        f.flush()
        return f.readline().decode().strip()

    def coil_z_A(self) -> float:
        return float(self.ask("magnet_z", "MEAS:CURR?"))

    def stop(self):
        for f in self.files.values():
            f.close()
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lab = Served(tmp_path_factory.mktemp("served"))
    yield lab
    lab.stop()


def wait_until(condition, what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def assert_served_lab_safe(served):
    """The instruments' own answers, asked after the run's process has gone."""
    assert served.ask("source", "OUTP?") == "0"
    assert float(served.ask("source", "SOUR:CURR?")) == 0.0
    assert abs(served.coil_z_A()) < 0.005  # zero band: 0.5 x 5 Oe / 500 Oe/A
    assert abs(float(served.ask("magnet_x", "RDGI?"))) < 0.00625
    for axis in "zx":
        served.ask(f"gaussmeter_{axis}", "UNIT?")
        reading = float(served.ask(f"gaussmeter_{axis}", "RDGFIELD?"))
        assert abs(reading) <= 3.0 + 5.0 + 0.5, (axis, reading)  # remanence + tol + offset


# SIGHUP is in the storm; every signal at every moment of every procedure is in
# test_safety_signals.py (in process, placed by message counts)
@pytest.mark.parametrize("signals,storm", [(["SIGTERM"], True), (["SIGINT", "SIGINT"], False)])
def test_cli_run_stopped_by_signals_cleans_up_and_records_what_it_prints(served, tmp_path,
                                                                        signals, storm):
    db = f"sqlite:///{tmp_path}/runs.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dwlab.cli", "--db", db, *RUN, "--setup", str(served.setup)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until(lambda: abs(served.coil_z_A()) > 1.0, "the run to drive the z magnet")
        for name in signals:
            proc.send_signal(getattr(signal, name))
        if storm:  # every signal, over and over, while the cleanup ramps the field down
            wait_until(lambda: served.ask("source", "OUTP?") == "0", "the cleanup to start")
            sent = 0
            while abs(served.coil_z_A()) > 0.005 and proc.poll() is None:
                proc.send_signal(getattr(signal, ("SIGINT", "SIGTERM", "SIGHUP")[sent % 3]))
                sent += 1
                time.sleep(0.05)
            assert sent >= 3, "the cleanup ended before the storm: no signal during cleanup"
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    first = signals[0]
    assert proc.returncode == 128 + getattr(signal, first), err
    assert f"stopped by {first}" in err
    store = RunStore(db)
    record = store.get_run(1)
    assert (record.status, record.error) == ("aborted", f"aborted: {first}")
    assert f"run 1: aborted (simulated) (aborted: {first})" in out  # printed = recorded
    assert_served_lab_safe(served)
    if storm:
        notes = [m for _, kind, m in store.events(1) if kind == "signal"]
        assert any("while cleanup; the cleanup went on to its end" in n for n in notes)
