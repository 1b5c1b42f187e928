"""One process owns a setup's instruments: the lock refuses a second process and names the
holder; it goes when the holder exits, however it exits; an in-process simulation needs none."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dwlab.cli import main
from dwlab.lab_lock import LabBusyError, LabLock, hold
from dwlab.setup import SIM_SETUP, load_setup


@pytest.fixture
def hardware_setup(tmp_path, monkeypatch):
    """A setup file naming real resources (nothing answers there: the lock comes first)."""
    monkeypatch.setenv("DWLAB_LOCK_DIR", str(tmp_path / "locks"))
    text = SIM_SETUP.read_text(encoding="utf-8").replace(
        'resource = "sim"', 'resource = "TCPIP::127.0.0.1::9::SOCKET"')
    path = tmp_path / "stage.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def holder(hardware_setup, tmp_path):
    """Another process holding the setup's lock until it is killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from dwlab.lab_lock import hold
        lock = hold({str(hardware_setup)!r})
        print("held", flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code, "--night-batch"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_holder_is_refused_with_the_holders_pid_and_command(hardware_setup, holder):
    with pytest.raises(LabBusyError) as refused:
        hold(hardware_setup)
    message = str(refused.value)
    assert f"pid {holder.pid}" in message and "--night-batch" in message
    assert "stage" in message


@pytest.mark.parametrize("command", [["run", "hysteresis"], ["batch", "SEQ"]])
def test_run_and_batch_refuse_a_setup_in_use(hardware_setup, holder, tmp_path, capsys, command):
    sequence = tmp_path / "seq.toml"
    sequence.write_text(f'setup = {str(hardware_setup)!r}\n[[run]]\nprocedure = "hysteresis"\n',
                        encoding="utf-8")
    command = [str(sequence) if c == "SEQ" else c for c in command]
    code = main(["--db", f"sqlite:///{tmp_path}/runs.sqlite", *command,
                 "--setup", str(hardware_setup)])
    err = capsys.readouterr().err
    assert code == 1, err  # the input is fine; the lab is busy
    assert f"in use by pid {holder.pid}" in err


def test_the_gui_refuses_a_setup_in_use(qtbot, hardware_setup, holder, tmp_path, capsys,
                                        monkeypatch):
    monkeypatch.setenv("DWLAB_SETTINGS", str(tmp_path / "settings.ini"))
    code = main(["--db", f"sqlite:///{tmp_path}/runs.sqlite", "gui", "--setup",
                 str(hardware_setup)])
    assert code == 1
    assert f"in use by pid {holder.pid}" in capsys.readouterr().err


def test_the_lock_goes_with_its_holder_however_it_ends(hardware_setup, holder):
    holder.kill()  # no chance to clean up
    holder.wait()
    lock = hold(hardware_setup)
    assert isinstance(lock, LabLock)
    lock.release()
    with LabLock(load_setup(hardware_setup)):  # and again: released means free
        pass


def test_an_in_process_simulated_lab_needs_no_lock():
    assert hold("sim") is None
