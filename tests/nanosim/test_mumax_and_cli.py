"""The mumax3 scripts' content, and the command line from run to stored run to report."""

from __future__ import annotations

import re

import pytest

from dwlab.cli import main
from dwlab.nanosim import mumax
from dwlab.nanosim.experiments import LifSettings, ScanSettings
from dwlab.nanosim.parameters import Strip


def _value(script: str, name: str) -> str:
    return re.search(rf"^{name} = (.+)$", script, re.MULTILINE).group(1)


def test_scan_script_sets_up_the_papers_strip():
    script = mumax.scan_script(Strip(), 1200.0, ScanSettings())
    assert "SetGridSize(192, 32, 1)" in script
    assert float(_value(script, "Msat")) == 1e6
    assert float(_value(script, "Aex")) == 1.5e-11
    assert float(_value(script, "alpha")) == 0.012
    assert float(_value(script, "Dind")) == 0.5e-3
    assert float(_value(script, "Ku1")) == 1e6
    assert float(_value(script, "Pol")) == 0.5
    assert "B_ext.SetRegion(2, vector(0, 0, 0.12))" in script
    assert "B_ext.SetRegion(1, vector(0, 0, -0.1))" in script
    # the split between the -1000 Oe region and the ROI: 128 nm from the left end
    assert "XRange(-Inf, -6.4000e-08)" in script
    assert "J = vector(0, 0, 7e+11)" in script and "Relax()" in script
    assert "Temp" not in script


def test_thermal_scripts_fix_the_step_and_seed(tmp_path):
    paths = mumax.write_scan(tmp_path, Strip(), [400.0], ScanSettings(T=300.0, seeds=2))
    assert [p.name for p in paths] == ["scan_hex400Oe_T300K_seed0.mx3",
                                       "scan_hex400Oe_T300K_seed1.mx3"]
    text = paths[1].read_text()
    assert "Temp = 300" in text and "ThermSeed(1)" in text and "FixDt = 1e-13" in text


def test_lif_script_runs_the_pulse_sequence_on_a_384_nm_roi():
    script = mumax.lif_script(Strip(), LifSettings())
    assert "SetGridSize(256, 32, 1)" in script
    assert "Run(1.0000e-09)" in script and "Run(1.5000e-09)" in script
    assert script.rstrip().endswith("Run(2.0000e-08)")


def test_cli_lif_is_stored_analysed_and_reported(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'n.sqlite'}"
    assert main(["--db", db, "nanosim", "lif"]) == 0
    out = capsys.readouterr().out
    assert "events_before_firing             6" in out and "stored as run 1" in out
    assert main(["--db", db, "analyze", "1"]) == 0
    assert "events_before_firing" in capsys.readouterr().out
    assert main(["--db", db, "report", "1", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "run1_nanosim-lif.png").stat().st_size > 10_000


def test_cli_writes_mumax_scripts_without_running(tmp_path, capsys):
    assert main(["nanosim", "scan", "--hex-list-Oe", "400,1700", "--write-mx3",
                 str(tmp_path / "mx3"), "--no-store"]) == 0
    assert sorted(p.name for p in (tmp_path / "mx3").iterdir()) == [
        "scan_hex1700Oe_T0K.mx3", "scan_hex400Oe_T0K.mx3"]


@pytest.mark.parametrize("argv, message", [
    (["nanosim", "scan", "--hex-list-Oe", "400,nan"], "nan is outside [0, 20000] Oe"),
    (["nanosim", "lif", "--T-K", "-1"], "-1 is outside [0, 1000] K"),
    (["nanosim", "lif", "--dt-ps", "abc"], "'abc' is not a number"),
    (["nanosim", "scan", "--seeds", "0"], "--seeds 0 is outside [1, 1000]"),
])
def test_bad_values_are_refused_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_spiking_network_takes_its_neurons_from_a_lif_run(tmp_path, capsys):
    """The bridge to the lab scale: a nanoscale LIF run gives the neuron keys a measured run's
    analysis gives, so ``dwlab snn train --run`` takes either."""
    pytest.importorskip("snntorch")
    db = f"sqlite:///{tmp_path / 'n.sqlite'}"
    assert main(["--db", db, "nanosim", "lif"]) == 0
    out = capsys.readouterr().out
    for key in ("LIF_V_fire_uV", "LIF_tau_int_ms", "LIF_tau_leak_ms", "pulses_to_fire_mean",
                "threshold_fluctuation_pct", "period_ms"):
        assert key in out
    assert main(["--db", db, "snn", "train", "--run", "1", "--dataset", "digits",
                 "--epochs", "1"]) == 0
    assert "run 2: finished" in capsys.readouterr().out
