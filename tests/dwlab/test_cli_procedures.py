"""The command line a researcher scripts overnight: run, batch, analyze, report, Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from dwlab.cli import main
from dwlab.db.store import RunStore

QUICK_NEURON = ["--cycles", "2", "--baseline-pulses", "3", "--reset-reads", "20"]


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path}/runs.sqlite"


def test_run_stores_the_run_and_prints_its_analysis(db, capsys):
    assert main(["--db", db, "run", "integrate-reset", "--setup", "sim", "--quiet",
                 *QUICK_NEURON]) == 0
    out = capsys.readouterr().out
    assert re.search(r"run 1: finished", out)
    assert re.search(r"V_rest_uV\s+-7[45]\.\d", out) and "pulses_to_fire_mean" in out
    record = RunStore(db).get_run(1)
    assert record.status == "finished" and record.parameters["cycles"] == 2
    assert "MODEL 6221" in record.snapshot["identities"]["source"]


def test_run_whose_analysis_fails_says_why(db, capsys):
    # a wall that never returns within max_wait_s: the run is kept, its analysis cannot fit
    assert main(["--db", db, "run", "return-velocity", "--setup", "sim", "--preset", "rv-1504",
                 "--quiet", "--H-ex-Oe", "1504", "--Hc-soft-Oe", "600", "--Hz-list-Oe", "-1100",
                 "--max-wait-s", "5", "--saturate-s", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"run 1: finished", out)
    assert re.search(r"no analysis: AnalysisError: return velocity: 0 of 1 runs crossed", out)


def test_run_lists_procedures_and_their_parameters(capsys):
    assert main(["run"]) == 2
    assert "integrate-reset" in capsys.readouterr().out
    assert main(["run", "return-velocity", "--help"]) == 0
    assert re.search(r"--Hz-list-Oe VALUE\s+Opposing Hz values \[Oe\]", capsys.readouterr().out)


def test_bad_parameter_is_refused_before_anything_runs(db, capsys):
    assert main(["--db", db, "run", "integrate-reset", "--setup", "sim", "--cycles", "0"]) == 2
    assert re.search(r"parameter cycles \(Cycles\) = '0'.*\[1, 100\]", capsys.readouterr().err)
    assert main(["--db", db, "run", "integrate-reset", "--setup", "sim",
                 "--write-current-mA", "40"]) == 2
    assert "max_current_mA = 25" in capsys.readouterr().err
    assert RunStore(db).list_runs() == []


def test_batch_runs_a_grid_in_order_and_summarises(db, tmp_path, capsys):
    sequence = tmp_path / "night.toml"
    sequence.write_text(
        'setup = "sim"\n'
        "[[run]]\n"
        'procedure = "integrate-reset"\n'
        "cycles = 1\nbaseline_pulses = 3\nreset_reads = 20\n"
        "full_swing_uV = 45.0  # V_P - V_AP, as a hysteresis run gives it\n"
        "grid = { Hx_Oe = [1500.0, 300.0] }\n")
    assert main(["--db", db, "batch", str(sequence), "--dry-run"]) == 0
    assert "2 run(s) checked; nothing was run" in capsys.readouterr().out
    assert RunStore(db).list_runs() == []
    assert main(["--db", db, "batch", str(sequence), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "run 1: finished" in out and "run 2: finished" in out
    store = RunStore(db)
    assert [store.get_run(i).parameters["Hx_Oe"] for i in (1, 2)] == [1500.0, 300.0]
    fast, slow = _analyses(db, (1, 2))
    assert fast["n_fired"] == 1 and slow["n_fired"] == 0  # no integration below Hx = 500 Oe


def _analyses(db, runs):
    for run in runs:
        out = subprocess.run([sys.executable, "-m", "dwlab.cli", "--db", db, "analyze",
                              str(run), "--json"], capture_output=True, text=True, check=True)
        document = json.loads(out.stdout)
        assert document["failures"] == [] and document["runs"][0]["simulated"] is True
        yield document["runs"][0]["summary"]


def test_batch_file_errors_name_the_problem(db, tmp_path, capsys):
    sequence = tmp_path / "bad.toml"
    sequence.write_text('setup = "sim"\n[[run]]\nprocedure = "hysteresis"\ngrid = { n_loops = 3 }\n')
    assert main(["--db", db, "batch", str(sequence)]) == 2
    assert "grid.n_loops must be a non-empty list" in capsys.readouterr().err


def test_report_saves_png_and_pdf(db, tmp_path, capsys):
    assert main(["--db", db, "run", "kerr-integrate", "--setup", "sim", "--quiet",
                 "--steps", "3"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "report", "1", "-o", str(tmp_path / "figs")]) == 0
    for ext in ("png", "pdf"):
        path = tmp_path / "figs" / f"run1_kerr-integrate.{ext}"
        assert path.stat().st_size > 10_000


def test_ctrl_c_aborts_safely_and_records_it(db):
    proc = subprocess.Popen(
        [sys.executable, "-m", "dwlab.cli", "--db", db, "run", "hysteresis", "--setup", "sim",
         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 180  # a bound for a hang, not a pace: CPU load slows it
    store, started = None, False
    while not started and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # wait until the run is under way: its first points are stored
        if os.path.exists(db.removeprefix("sqlite:///")):
            store = store or RunStore(db)  # waits while the run's process creates the tables
            runs = store.list_runs()
            started = bool(runs) and runs[0].n_points > 0
    assert started, f"the run did not start: {proc.poll()=}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "stopped by SIGINT" in err
    record = RunStore(db).get_run(1)
    assert record.status == "aborted" and record.error == "aborted: SIGINT"
    assert "run 1: aborted (simulated) (aborted: SIGINT)" in out


def test_the_signal_that_stopped_the_run_is_the_one_reported(db, monkeypatch, capsys):
    """A run stopped by SIGTERM, and a SIGINT arriving just after the run's own handler has
    gone (the last of a storm during the cleanup): the command reports SIGTERM and exits
    128 + 15 (the outer handler had put SIGINT first: a race seen under load)."""
    from dwlab import api
    from dwlab.procedures.runner import Interrupted, RunOutcome

    def stopped_run(lab, procedure, **_):
        os.kill(os.getpid(), signal.SIGINT)  # handled at once, by the command's own handler
        raise Interrupted("SIGTERM", RunOutcome(None, "aborted", "SIGTERM received"))

    monkeypatch.setattr(api, "run", stopped_run)
    assert main(["--db", db, "run", "hysteresis", "--setup", "sim", "--quiet"]) == 128 + 15
    assert "stopped by SIGTERM" in capsys.readouterr().err
