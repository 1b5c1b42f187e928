"""Every error a user can cause on the command line: one line on stderr naming the thing,
the value and what is allowed; exit status 2 (bad input) or 1 (failed work); nothing changed
on disk. The README's troubleshooting table lists these same messages (``CASES``)."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

from dwlab.cli import main
from dwlab.db.store import RunStore
from dwlab.setup import SIM_SETUP

SIM_TEXT = SIM_SETUP.read_text()


def setup_with(old: str, new: str) -> str:
    assert old in SIM_TEXT, old
    return SIM_TEXT.replace(old, new, 1)


def nested(depth: int) -> str:
    return "options = " + "{a = " * depth + "1" + "}" * depth + "\n"

#: id -> (argv with {db}, {dir} and {setup} placeholders, setup file text or None,
#:        exit status, the one line expected on stderr, as a regex)
CASES = {
    "run-without-setup": (["run", "hysteresis"], None, 2,
                          r"dwlab run: --setup is required: a setup file for your stage, or "
                          r"--setup sim for the simulated lab"),
    "check-without-setup": (["check"], None, 2, r"dwlab check: --setup is required"),
    "batch-without-setup": (["batch", "{dir}/night.toml"], None, 2,
                            r"dwlab batch: .*night.toml: 'setup =' is missing; it must name the "
                            r"lab: setup = \"path/to/setup.toml\" or setup = \"sim\""),
    "batch-missing": (["batch", "{dir}/nights.toml"], None, 2,
                      r"dwlab batch: .*nights.toml: the batch file does not exist"),
    "batch-run-single-brackets": (["batch", "{dir}/single.toml"], None, 2,
                                  r"dwlab batch: .*single.toml: 'run' must be \[\[run\]\] tables "
                                  r"\(double brackets\), one per run, not \[run\] or run = ..."),
    "abbreviated-parameter": (["run", "integrate-reset", "--setup", "sim", "--cycle", "4"], None,
                              2, r"dwlab run integrate-reset: unknown parameter --cycle; did you "
                                 r"mean --cycles\? \(see dwlab run integrate-reset --help; no "
                                 r"abbreviations\)"),
    "amps-typed-as-mA": (["run", "integrate-reset", "--setup", "sim", "--write-current-mA",
                          "0.018"], None, 2,
                         r"integrate-reset: parameter write_current_mA \(Write current\) = 0.018 "
                         r"mA is far outside the usual 0.5 to 105 mA; did you type A instead of "
                         r"mA\? add --allow-unusual to run it as given"),
    "unit-in-value": (["run", "integrate-reset", "--setup", "sim", "--write-current-mA", "18mA"],
                      None, 2, r"integrate-reset: parameter write_current_mA \(Write current\) = "
                               r"'18mA' is not allowed \(not a number\); allowed range is "
                               r"\[-105, 105\] mA"),
    "nan-parameter": (["run", "integrate-reset", "--setup", "sim", "--full-swing-uV", "nan"],
                      None, 2, r"parameter full_swing_uV .* = 'nan' is not allowed \(not a finite "
                               r"number\)"),
    "unknown-procedure": (["run", "hysteresys", "--setup", "sim"], None, 2,
                          r"dwlab run: unknown procedure 'hysteresys'; did you mean hysteresis\? "
                          r"procedures are hysteresis, "),
    "limit-exceeded": (["run", "integrate-reset", "--setup", "sim", "--write-current-mA", "40"],
                       None, 2, r"integrate-reset: .*max_current_mA = 25"),
    "db-folder-missing": (["runs", "list", "--db", "sqlite:///{dir}/nonexistent_dir/x.sqlite"],
                          None, 2, r"database URL .*: the folder .*nonexistent_dir does not exist"),
    "db-not-a-database": (["runs", "list", "--db", "sqlite:///{dir}/notes.txt"], None, 2,
                          r"cannot open the run database .*notes.txt: file is not a database"),
    "db-without-value": (["runs", "list", "--db"], None, 2, r"dwlab: --db needs a database URL"),
    "db-unknown-dialect": (["runs", "list", "--db", "nosuchdb://host/x"], None, 2,
                           r"database URL 'nosuchdb://host/x': .*; use sqlite:///FILE or "
                           r"postgresql://USER@HOST/DB"),
    "run-id-too-large": (["runs", "show", "99999999999999999999999"], None, 2,
                         r"dwlab runs show: argument run: run id must be from 1 to 2147483647, "
                         r"got 99999999999999999999999"),
    "no-such-run": (["runs", "show", "5"], None, 1, r"dwlab: no run with id 5 in sqlite:///"),
    "bad-status": (["runs", "list", "--status", "done"], None, 2,
                   r"status 'done' is not one of running, finished, aborted, failed, interrupted"),
    "export-folder-missing": (["runs", "export", "1", "-o", "{dir}/missing/a.csv"], None, 2,
                              r"export to .*missing/a.csv: the folder .*missing does not exist"),
    "export-exists": (["runs", "export", "1", "-o", "{dir}/notes.txt.csv"], None, 2,
                      r"export to .*notes.txt.csv: .*notes.txt.csv already exist\(s\); choose "
                      r"another name or add --force to overwrite"),
    "export-bad-format": (["runs", "export", "1", "-o", "{dir}/a.xlsx"], None, 2,
                          r"runs export: format 'xlsx' is not allowed"),
    "delete-without-terminal": (["runs", "delete", "1"], None, 2,
                                r"runs delete: not deleting run 1 \(hysteresis on S1, .*\) "
                                r"without confirmation: no terminal to ask on; add --yes"),
    "report-into-a-file": (["report", "1", "-o", "{dir}/notes.txt"], None, 2,
                           r"report: -o .*notes.txt is a file; give a folder"),
    "setup-missing": (["check", "--setup", "{dir}/nowhere.toml"], None, 2,
                      r"setup file .*nowhere.toml does not exist"),
    "sim-preset-unknown": (["check", "--setup", "{setup}"],
                           setup_with('preset = "sot-neuron"', 'preset = "sot_neuron"'), 2,
                           r"sim.preset: 'sot_neuron' is not allowed; must be one of sot-neuron"),
    "sim-seed-negative": (["check", "--setup", "{setup}"], setup_with("seed = 0", "seed = -1"),
                          2, r"sim.seed: -1 is not allowed; must be a whole number from 0"),
    "remanence-negative": (["check", "--setup", "{setup}"],
                           setup_with("remanence_Oe = 3.0", "remanence_Oe = -1"), 2,
                           r"field.z.remanence_Oe: -1.0 is not allowed; must be >= 0"),
    "pixel-zero": (["check", "--setup", "{setup}"], setup_with("pixel_um = 1.0", "pixel_um = 0"),
                   2, r"camera.pixel_um: 0.0 is not allowed; must be > 0"),
    "width-denormal": (["check", "--setup", "{setup}"],
                       setup_with("width_um = 5.0", "width_um = 1e-320"), 2,
                       r"device.width_um: 1e-320 is not allowed; must be from 0.01 to 10000"),
    "setup-nan": (["check", "--setup", "{setup}"],
                  setup_with("max_current_mA = 25.0", "max_current_mA = nan"), 2,
                  r"limits.max_current_mA: must be finite, got nan"),
    "options-nested": (["check", "--setup", "{setup}"],
                       setup_with("x0_um = 0.0", "x0_um = 0.0\n" + nested(40)), 2,
                       r"camera.options: '\(nested 4 deep\)' is not allowed; must be nested at "
                       r"most 3 deep"),
    "options-nested-beyond-toml": (["check", "--setup", "{setup}"],
                                   setup_with("x0_um = 0.0", "x0_um = 0.0\n" + nested(5000)), 2,
                                   r"setup file .*: tables or lists nested too deeply"),
    "driver-unknown": (["check", "--setup", "{setup}"],
                       setup_with('[instruments.source]          # Keithley 6221 current source\n'
                                  'resource = "sim"',
                                  '[instruments.source]\nresource = "sim"\ndriver = "keithley2400"'),
                       2, r"instruments.source.driver: 'keithley2400' is not allowed; must be one "
                          r"of keithley6221 \(a source\)"),
    "driver-wrong-model": (["run", "hysteresis", "--setup", "{setup}", "--sample", "T1"],
                           setup_with('driver = "kepco_bop"', 'driver = "lakeshore643"'), 2,
                           r"magnet_z: the setup's driver is 'lakeshore643' but the instrument at "
                           r"sim answers 'KEPCO,.*' \(a kepco_bop\); set "
                           r"instruments.magnet_z.driver to match"),
    "camera-none": (["run", "kerr-integrate", "--setup", "{setup}", "--sample", "T1"],
                    setup_with('driver = "sim"\npixel_um', 'driver = "none"\npixel_um'), 2,
                    r"kerr-integrate needs a Kerr camera: the setup's camera.driver is 'none'"),
    "camera-sdk-missing": (["run", "kerr-integrate", "--setup", "{setup}", "--sample", "T1"],
                           setup_with('driver = "sim"\npixel_um', 'driver = "andor_sdk3"\npixel_um'),
                           1, r"cannot open a 'andor_sdk3' camera"),
    "simulated-on-real-sample": (["run", "hysteresis", "--setup", "sim", "--sample", "S1"], None,
                                 2, r"sample 'S1' has real runs in .* \(run 1\); simulated data is "
                                    r"not stored under a real sample's name: give another "
                                    r"--sample, or --force"),
    "sim-serve-preset": (["sim", "serve", "--preset", "sot_neuron"], None, 2,
                         r"dwlab sim serve: --preset 'sot_neuron' is not allowed; presets are"),
    "sim-serve-speed-zero": (["sim", "serve", "--speed", "0"], None, 2,
                             r"dwlab sim serve: --speed 0 is not allowed; give a finite number > 0"),
    "sim-serve-port-beyond": (["sim", "serve", "--port", "65535"], None, 2,
                              r"dwlab sim serve: --port 65535 is not allowed; give 0 \(free ports\) "
                              r"or a first port from 1 to 65530"),
    "unknown-option": (["runs", "list", "--sampel", "S1"], None, 2,
                       r"dwlab runs list: unknown option --sampel; did you mean --sample\? "
                       r"\(see dwlab runs list --help; no abbreviations\)"),
    "option-typo": (["analyze", "1", "--jsn"], None, 2,
                    r"dwlab analyze: unknown option --jsn; did you mean --json\? \(see dwlab "
                    r"analyze --help; no abbreviations\)"),
    "option-unlike-any": (["runs", "list", "--limt", "5"], None, 2,
                          r"dwlab runs list: unknown option --limt; its options are "
                          r"--procedure, --sample, --since, --status, --until \(see dwlab runs "
                          r"list --help; no abbreviations\)"),
    "stray-argument": (["runs", "list", "S1"], None, 2,
                       r"dwlab runs list: unexpected argument\(s\) S1 \(see dwlab runs list "
                       r"--help\)"),
    "batch-unknown-parameter": (["batch", "{dir}/typo.toml"], None, 2,
                                r"dwlab batch: .*typo.toml: \[\[run\]\] 2 \(integrate-reset\): "
                                r"unknown parameter cycls; did you mean cycles\? \(its "
                                r"parameters: dwlab run integrate-reset --help, with _ for - in "
                                r"batch files\)"),
    "batch-grid-value": (["batch", "{dir}/grid.toml"], None, 2,
                         r"dwlab batch: .*grid.toml: \[\[run\]\] 1 \(integrate-reset\), grid "
                         r"point 2 of 2: parameter write_current_mA \(Write current\) = 200.0 mA "
                         r"is not allowed \(out of range\); allowed range is \[-105, 105\] mA"),
    "batch-unknown-procedure": (["batch", "{dir}/procname.toml"], None, 2,
                                r"dwlab batch: .*procname.toml: \[\[run\]\] 2 \(hysterisis\): "
                                r"unknown procedure 'hysterisis'; did you mean hysteresis\? "
                                r"procedures are hysteresis, "),
}


#: batch files with a mistake in a later [[run]]: the refusal must name the file, the run
#: (and the grid point), the key and what was meant
BATCH_FILES = {
    "typo.toml": 'setup = "sim"\n[[run]]\nprocedure = "hysteresis"\nn_loops = 1\n'
                 '[[run]]\nprocedure = "integrate-reset"\ncycls = 2\n',
    "grid.toml": 'setup = "sim"\n[[run]]\nprocedure = "integrate-reset"\n'
                 'grid = { write_current_mA = [20.0, 200.0] }\n',
    "procname.toml": 'setup = "sim"\n[[run]]\nprocedure = "hysteresis"\n'
                     '[[run]]\nprocedure = "hysterisis"\n',
}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """A database with one real run (sample S1), as a lab's own measurements would be."""
    path = tmp_path_factory.mktemp("base") / "runs.sqlite"
    store = RunStore(f"sqlite:///{path}")
    writer = store.begin_run("hysteresis", {"Hz_Oe": "Oe", "V_uV": "uV"}, {"n_loops": 1},
                             sample="S1", simulated=False)
    writer.append({"Hz_Oe": 0.0, "V_uV": 1.0})
    writer.finish()
    store.close()
    return path


def _disk(folder):
    """Every file under ``folder`` with its content: what a refused command must not change.
    A database counts by what it holds (its SQL dump, read through SQLite's write-ahead log),
    so the log files that merely opening it creates are no change."""
    state = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.endswith(("-wal", "-shm")):
            continue
        if p.suffix == ".sqlite":
            with sqlite3.connect(p) as conn:
                content = "\n".join(conn.iterdump()).encode()
        else:
            content = p.read_bytes()
        state[str(p.relative_to(folder))] = hashlib.sha256(content).hexdigest()
    return state


@pytest.mark.parametrize("case", list(CASES))
def test_one_line_error_and_nothing_changed(case, base_db, tmp_path, capsys, monkeypatch):
    argv, setup_text, status, expected = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(base_db, work / "runs.sqlite")
    (work / "notes.txt").write_text("not a database\n")
    (work / "notes.txt.csv").write_text("an earlier export\n")
    (work / "night.toml").write_text('[[run]]\nprocedure = "hysteresis"\n')
    (work / "single.toml").write_text('setup = "sim"\n[run]\nprocedure = "hysteresis"\n')
    for name, text in BATCH_FILES.items():
        (work / name).write_text(text)
    if setup_text is not None:
        (work / "lab.toml").write_text(setup_text)
    db = f"sqlite:///{work / 'runs.sqlite'}"
    argv = [a.format(dir=work, setup=work / "lab.toml") for a in argv]
    if "--db" not in argv:
        argv = ["--db", db, *argv]
    monkeypatch.setattr(sys, "stdin", open(__file__))  # not a terminal
    before = _disk(work)

    assert main(argv) == status

    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(expected, err), err
    assert "Traceback" not in err and "pymeasure" not in err.lower()
    assert "FloatParameter" not in err and "IntegerParameter" not in err
    assert _disk(work) == before


def test_verbose_adds_the_traceback(tmp_path, capsys):
    assert main(["-v", "check", "--setup", str(tmp_path / "nowhere.toml")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1].endswith("does not exist (give a setup "
                                                                 "file, or 'sim' for the "
                                                                 "simulated lab)")


def test_ctrl_c_in_a_command_is_one_line(tmp_path, capsys, monkeypatch, base_db):
    import dwlab.db.replay

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dwlab.db.replay, "replay", interrupted)
    assert main(["--db", f"sqlite:///{base_db}", "replay", "1"]) == 130
    assert capsys.readouterr().err == "dwlab: interrupted (Ctrl-C)\n"


def test_db_option_is_accepted_after_any_command(base_db, capsys):
    db = f"sqlite:///{base_db}"
    for argv in (["runs", "list", "--db", db], ["runs", "show", "1", "--db", db],
                 ["analyze", "1", "--db", db, "--json"], [f"--db={db}", "runs", "list"]):
        assert main(argv) in (0, 1), argv
        out = capsys.readouterr().out
        assert "S1" in out or '"run": 1' in out, argv
    assert main(["--db", db, "runs", "list", "--db", "sqlite:///other.sqlite"]) == 2
    assert "--db given twice" in capsys.readouterr().err


def test_runs_delete_asks_and_keeps_the_run_unless_told_yes(base_db, tmp_path, capsys,
                                                            monkeypatch):
    db_file = tmp_path / "runs.sqlite"
    shutil.copy(base_db, db_file)
    db = f"sqlite:///{db_file}"
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["--db", db, "runs", "delete", "1"]) == 1
    assert "nothing deleted" in capsys.readouterr().out
    assert RunStore(db).get_run(1).procedure == "hysteresis"
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["--db", db, "runs", "delete", "1"]) == 0
    assert main(["--db", db, "runs", "show", "1"]) == 1


def test_analyze_json_is_one_document_listing_failures(base_db, capsys):
    import json

    assert main(["--db", f"sqlite:///{base_db}", "analyze", "1", "7", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [f["run"] for f in document["failures"]] == [1, 7]  # 1 has too few points
    assert "no run with id 7" in document["failures"][1]["error"]


def test_normal_commands_print_no_third_party_warnings(tmp_path):
    db = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    batch = tmp_path / "night.toml"  # imports procedure modules: each imports PyMeasure
    batch.write_text('setup = "sim"\n[[run]]\nprocedure = "hysteresis"\n'
                     '[[run]]\nprocedure = "return-velocity"\npreset = "rv-885"\n')
    for argv in (["--help"], ["runs", "list", "--db", db], ["run", "hysteresis", "--help"],
                 ["batch", str(batch), "--dry-run", "--db", db]):
        done = subprocess.run([sys.executable, "-m", "dwlab.cli", *argv], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and done.stderr == "", (argv, done.stderr)
