"""Presets from the command line and the API, per-run presets in a batch, and the report
over several return-velocity runs (Fig 4e/4f, the PDF with the paper's numbers)."""

import dataclasses

import pytest

from dwlab import api
from dwlab.cli import main
from dwlab.db.store import RunStore
from dwlab.lab import with_preset
from dwlab.setup import SetupError, load_setup


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path}/runs.sqlite"


def test_a_preset_sets_the_simulated_device_and_its_geometry():
    with api.open_lab("sim", preset="rv-1504") as lab:
        assert lab.sim.device.params.name == "rv-1504"
        assert lab.setup.device.name == "rv-1504 (simulated)"
        assert (lab.setup.device.x_notch_um, lab.setup.device.hall_bar_um) == (120.0, 88.5)
        assert lab.snapshot()["sim"]["preset"] == "rv-1504"
    with api.open_lab("sim", preset="field-neuron") as lab:
        assert lab.setup.device.width_um == 20.0 and lab.setup.device.length_um == 400.0
    assert "field-neuron" in api.presets()


def test_unknown_preset_or_a_real_setup_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SetupError, match="'rv-9' is not a simulated device; known presets"):
        with_preset(load_setup("sim"), "rv-9")
    real = tmp_path / "real.toml"
    real.write_text(load_setup("sim").path and
                    open(load_setup("sim").path).read().replace('resource = "sim"',
                                                                'resource = "GPIB0::1::INSTR"'))
    with pytest.raises(SetupError, match="no simulated instrument"):
        with_preset(load_setup(real), "rv-1504")
    assert main(["check", "--setup", "sim", "--preset", "rv-9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rv-9" in err


def test_return_velocity_on_the_sot_neuron_fails_clearly(db, capsys):
    """The default simulated device has no Hall bar 88.5 µm before its notch."""
    assert main(["--db", db, "run", "return-velocity", "--setup", "sim", "--quiet",
                 "--H-ex-Oe", "1150", "--Hc-soft-Oe", "600"]) == 2
    err = capsys.readouterr().err
    assert "cannot time a return" in err and err.count("\n") == 1


def test_batch_runs_each_stretch_on_its_preset(db, tmp_path):
    sequence = tmp_path / "seq.toml"
    sequence.write_text('setup = "sim"\n'
                        '[[run]]\npreset = "field-neuron"\nprocedure = "hysteresis"\n'
                        'loop = "minor"\nn_loops = 1\n'
                        '[[run]]\npreset = "rv-645"\nprocedure = "hysteresis"\n'
                        'loop = "minor"\nn_loops = 1\n')
    assert main(["--db", db, "batch", str(sequence), "--quiet"]) == 0
    store = RunStore(db)
    devices = [store.get_run(r.id).device for r in store.list_runs()]
    assert devices == ["field-neuron (simulated)", "rv-645 (simulated)"]
    rv645 = api.analyze(store, 2)
    assert rv645.H_ex_Oe == pytest.approx(645.0, rel=0.03)


def test_report_draws_fig_4ef_over_return_velocity_runs_and_a_pdf(db, tmp_path, capsys):
    store = RunStore(db)
    for preset, h_ex in (("rv-885", 885.0), ("rv-1504", 1504.0)):
        with api.open_lab("sim", preset=preset) as lab:
            fields = [-(h_ex - d) for d in (440.0, 480.0, 530.0)]  # crossings 20-90 s
            result = api.run(lab, "return-velocity", store=store, Hz_list_Oe=fields,
                             H_ex_Oe=h_ex, Hc_soft_Oe=600.0)  # given: a report test
            assert result.ok, result.error
    out = tmp_path / "report"
    assert main(["--db", db, "report", "1", "2", "-o", str(out), "--pdf",
                 str(tmp_path / "all.pdf")]) == 0
    printed = capsys.readouterr().out
    assert "Fig 4e/4f over 2 return-velocity runs" in printed
    assert (out / "fig4ef_return_velocity.png").stat().st_size > 10_000
    assert (out / "run1_return-velocity.png").exists()
    assert (tmp_path / "all.pdf").read_bytes().startswith(b"%PDF")
    assert "4 pages" in printed  # comparison, two runs, Fig 4e/4f

    from dwlab import report
    runs = [report.load(store, 1), report.load(store, 2)]
    rows = report.compare(runs)
    v_max = [r for r in rows if r[0] == "4f"]
    assert len(v_max) == 1 and v_max[0][2] == "rises with H_ex" and "µm/s" in v_max[0][3]
    assert v_max[0][4] == "1, 2"

    # figures drawn from several simulated runs say so, as each run's own figure does
    def stamps(fig):
        return [t.get_text() for t in fig.texts if t.get_text().isupper()]
    assert stamps(report.return_velocity_figure(runs)) == ["SIMULATED DATA"]
    assert stamps(report.comparison_page(rows, report.combined_stamp(runs))) == ["SIMULATED DATA"]
    as_if_real = dataclasses.replace(runs[1], stamp="")
    assert report.combined_stamp([runs[0], as_if_real]) == "INCLUDES SIMULATED DATA"
    assert report.combined_stamp([as_if_real]) == ""


def test_the_paper_batch_checks_on_every_preset(capsys):
    """examples/paper.toml: every run's parameters and limits on its own preset."""
    from pathlib import Path

    paper = Path(__file__).resolve().parents[2] / "examples" / "paper.toml"
    assert main(["batch", str(paper), "--dry-run"]) == 0
    assert "15 run(s) checked" in capsys.readouterr().out


def test_an_unfitted_return_velocity_run_says_why_its_fit_panel_is_empty(db):
    store = RunStore(db)
    with api.open_lab("sim", preset="rv-1504") as lab:  # too weak: the wall never arrives
        result = api.run(lab, "return-velocity", store=store, Hz_list_Oe=[-1400.0, -1450.0],
                         H_ex_Oe=1504.0, Hc_soft_Oe=600.0, max_wait_s=5.0)
    assert result.ok and result.analysis is None
    texts = [t.get_text() for ax in api.figure(store, result.run_id).axes for t in ax.texts]
    assert any(t.startswith("no creep fit:\nreturn velocity: 0 of 2 runs crossed")
               for t in texts), texts
