"""``dwlab gui`` is registered on the command line and refuses a bad setup before any window."""

from __future__ import annotations

from dwlab.cli import build_parser, main
from dwlab.gui.cli import cmd_gui


def test_gui_subcommand_takes_the_simulated_lab_when_asked():
    args = build_parser().parse_args(["--db", "sqlite:///x.sqlite", "gui", "--setup", "sim"])
    assert args.func is cmd_gui and args.setup == "sim" and args.db == "sqlite:///x.sqlite"


def test_gui_without_setup_is_refused_before_any_window(tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    assert main(["--db", f"sqlite:///{db}", "gui"]) == 2
    assert capsys.readouterr().err.strip() == (
        "dwlab gui: --setup is required: a setup file for your stage, or --setup sim for the "
        "simulated lab")
    assert not db.exists()


def test_missing_setup_file_is_refused_with_its_name(qtbot, tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    code = main(["--db", f"sqlite:///{tmp_path}/runs.sqlite", "gui", "--setup", str(missing)])
    assert code == 2
    assert "nowhere.toml" in capsys.readouterr().err
