"""``dwlab snn train`` as a user runs it: stored as a run that runs list / analyze / report show,
with neurons from Table 1 or from a simulated integrate-reset run chained before it."""

import json
import re

import numpy as np
import pytest

from dwlab.cli import main
from dwlab.db.store import RunStore

QUICK = ["--dataset", "digits", "--epochs", "2", "--steps", "4", "--quiet"]


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path}/runs.sqlite"


def test_table1_training_is_a_run_with_curves_confusion_and_reference(db, tmp_path, capsys):
    assert main(["--db", db, "snn", "train", "--table1", *QUICK]) == 0
    out = capsys.readouterr().out
    assert re.search(r"run 1: finished", out) and "reference_test_acc_pct" in out
    store = RunStore(db)
    record = store.get_run(1)
    assert record.procedure == "snn-train" and record.status == "finished"
    assert record.parameters["source"] == "table1" and record.parameters["steps"] == 4
    neuron = record.snapshot["neurons"][0]
    assert (neuron["tau_int_ms"], neuron["V_th_uV"], neuron["V_reset_uV"]) == (3.0, 214.0, 160.0)
    df = store.dataframe(1)
    assert df.groupby("network").size().to_dict() == {0.0: 2, 1.0: 2}  # two epochs each
    spiking = df[df["network"] == 0]
    assert spiking["test_acc_pct"].iloc[-1] > 40  # learning: chance is 10 %
    confusion = {meta["network"]: image for _, image, meta in store.images(1)}
    assert set(confusion) == {0, 1} and confusion[0].sum() == 360  # the whole test set
    assert np.trace(confusion[0]) / 360 * 100 == pytest.approx(spiking["test_acc_pct"].iloc[-1])

    assert main(["--db", db, "runs", "list"]) == 0  # LAB: neither a real nor a simulated lab
    assert re.search(r"1\s+snn-train\s+computed\s+finished", capsys.readouterr().out)
    assert main(["--db", db, "analyze", "1", "--json"]) == 0
    analysed = json.loads(capsys.readouterr().out)["runs"][0]
    summary = analysed["summary"]
    assert analysed["procedure"] == "snn-train" and summary["neuron_tau_int_ms"] == 3.0
    assert analysed["lab"] == "computed" and not analysed["simulated"]
    assert main(["--db", db, "runs", "show", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["lab"] == "computed"
    from dwlab import api
    assert "COMPUTED" in [t.get_text() for t in api.figure(store, 1).texts]
    assert summary["test_acc_pct"] == pytest.approx(spiking["test_acc_pct"].iloc[-1])
    assert main(["--db", db, "report", "1", "-o", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "run1_snn-train.png").stat().st_size > 10_000


@pytest.mark.slow
def test_neurons_from_a_simulated_integrate_reset_run(db, capsys):
    assert main(["--db", db, "run", "integrate-reset", "--setup", "sim", "--quiet",
                 "--cycles", "3"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "analyze", "1", "--json"]) == 0
    analysis = json.loads(capsys.readouterr().out)["runs"][0]["summary"]
    assert main(["--db", db, "snn", "train", "--run", "1", "--no-reference", *QUICK]) == 0
    neuron = RunStore(db).get_run(2).snapshot["neurons"][0]
    assert neuron["tau_int_ms"] == analysis["LIF_tau_int_ms"]
    assert neuron["tau_leak_ms"] == analysis["LIF_tau_leak_ms"]
    assert neuron["V_th_uV"] == analysis["LIF_V_fire_uV"]
    assert neuron["pulses_to_fire"] == analysis["pulses_to_fire_mean"]
    assert neuron["sigma_pct"] == analysis["threshold_fluctuation_pct"]
    assert neuron["dt_ms"] == 10.0 and neuron["pinned"] and neuron["source"] == "run 1"
    assert main(["--db", db, "runs", "list"]) == 0  # computed, from a simulated run
    assert re.search(r"2\s+snn-train\s+SOT neuron \(simulated\)\s+computed\s+finished",
                     capsys.readouterr().out)
    from dwlab import api
    texts = [t.get_text() for t in api.figure(RunStore(db), 2).texts]
    assert "COMPUTED FROM SIMULATED DATA" in texts


def test_a_sweep_stores_one_curve_per_value_and_seed(db, tmp_path, capsys):
    assert main(["--db", db, "snn", "train", "--table1", "--sigma", "0,10", "--seed", "3,4",
                 "--dataset", "digits", "--epochs", "1", "--steps", "4", "--quiet"]) == 0
    store = RunStore(db)
    df = store.dataframe(1)
    spiking = df[df["network"] == 0]
    assert sorted(zip(spiking["seed"], spiking["value"])) == [(3, 0), (3, 10), (4, 0), (4, 10)]
    assert sorted(df[df["network"] == 1]["seed"]) == [3, 4]  # the reference once per seed
    assert [n["sigma_pct"] for n in store.get_run(1).snapshot["neurons"]] == [0.0, 10.0]
    assert store.get_run(1).parameters["seeds"] == [3, 4]
    out = capsys.readouterr().out
    assert "test_acc_pct[sigma_pct=0]" in out and "test_acc_sd_pct[sigma_pct=10]" in out
    from dwlab.snn.record import load
    result = load(store, 1)
    at0 = spiking[spiking["value"] == 0]["test_acc_pct"]
    mean, sd, n = result.final_test_stats()[0.0]
    assert (mean, sd, n) == (pytest.approx(at0.mean()), pytest.approx(at0.std()), 2)
    assert len(result.confusions) == 6  # 2 values x 2 seeds + 2 references
    # the weights trained at σ/µ = 0, run on the σ/µ = 10 % neurons: once per seed
    deployed = df[df["network"] == 2]
    assert sorted(zip(deployed["seed"], deployed["value"], deployed["epoch"])) == [
        (3, 10, 1), (4, 10, 1)]
    assert deployed["train_acc_pct"].isna().all() and deployed["test_acc_pct"].gt(10).all()
    assert "deployed_test_acc_pct[sigma_pct=10]" in out
    assert set(result.deployed_stats()) == {10.0}
    from dwlab import api
    sweep_panel = api.figure(store, 1).axes[2]
    assert any("weights trained at sigma_pct = 0" in t.get_text()
               for t in sweep_panel.get_legend().get_texts())
    assert main(["--db", db, "report", "1", "-o", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "run1_snn-train.png").stat().st_size > 10_000


def test_report_over_several_runs_compares_their_final_accuracies(db, tmp_path, capsys):
    tiny = ["--dataset", "digits", "--epochs", "1", "--steps", "2", "--quiet"]
    assert main(["--db", db, "snn", "train", "--table1", "--seed", "0,1", *tiny]) == 0
    assert main(["--db", db, "snn", "train", "--table1", "--sigma", "20", "--no-reference",
                 *tiny]) == 0
    capsys.readouterr()
    assert main(["--db", db, "report", "1", "2", "-o", str(tmp_path / "fig")]) == 0
    assert "final accuracies over 2 snn-train runs" in capsys.readouterr().out
    assert (tmp_path / "fig" / "snn_comparison.png").stat().st_size > 10_000
    from dwlab import report
    both = report.network_comparison_figure([report.load(RunStore(db), r) for r in (1, 2)])
    assert [t.get_text() for t in both.texts if t.get_text().isupper()] == ["COMPUTED"]
    from dwlab.snn.figures import _finals
    from dwlab.snn.record import load
    rows = _finals([(1, load(RunStore(db), 1)), (2, load(RunStore(db), 2))])
    assert sorted((r["run"], r["seed"], r["neuron"] is None) for r in rows) == [
        (1, 0, False), (1, 0, True), (1, 1, False), (1, 1, True), (2, 0, False)]


def test_trainings_side_by_side_store_what_one_by_one_stores(tmp_path):
    runs = {}
    for workers in ("1", "2"):
        db = f"sqlite:///{tmp_path}/w{workers}.sqlite"
        assert main(["--db", db, "snn", "train", "--table1", "--seed", "0,1", "--sigma",
                     "0,30", "--workers", workers, "--dataset", "digits", "--epochs", "1",
                     "--steps", "2", "--quiet"]) == 0
        df = RunStore(db).dataframe(1)
        runs[workers] = df.sort_values(["network", "seed", "value"])[
            ["network", "seed", "value", "test_acc_pct", "loss"]].fillna(-1)
    assert sorted(runs["1"]["network"].unique()) == [0, 1, 2]  # the deployed too
    assert runs["1"].to_numpy().tolist() == runs["2"].to_numpy().tolist()


def test_a_run_stored_before_seeds_reads_as_its_one_seed(db):
    from dwlab.snn.record import COLUMNS, load
    old = {k: u for k, u in COLUMNS.items() if k != "seed"}
    store = RunStore(db)
    w = store.begin_run("snn-train", old, {"sweep": "sigma_pct", "values": [0.0], "seed": 7,
                                           "source": "table1", "dataset": "digits"})
    for epoch, acc in [(1, 50.0), (2, 60.0)]:
        w.append({"network": 0, "value": 0.0, "epoch": epoch, "train_acc_pct": acc,
                  "test_acc_pct": acc, "loss": 1.0, "epoch_s": 1.0})
    w.add_image(np.eye(2, dtype=np.int64), 0.0, {"kind": "confusion", "network": 0,
                                                  "value": 0.0})
    w.finish()
    result = load(store, w.run_id)
    assert result.seeds == (7,) and result.final_test_stats() == {0.0: (60.0, 0.0, 1)}
    assert set(result.confusions) == {(0, 0.0, 7)}
    assert result.summary()["test_acc_pct"] == 60.0


@pytest.mark.parametrize("argv, message", [
    (["--table1", "--sigma", "0,5", "--tau-ms", "3,1", "--dataset", "digits"],
     "only one option may be a list of values, got tau_ms, sigma_pct"),
    (["--table1", "--dataset", "/nonexistent/mnist"], "put the MNIST or Fashion-MNIST IDX files"),
    (["--run", "7", "--dataset", "digits"], "no run with id 7"),
    (["--table1", "--dt-ms", "5", "--dataset", "digits"],
     "dt_ms = 5 must not exceed tau_leak_ms = 3"),
    (["--table1", "--seed", "1,1", "--dataset", "digits"],
     "expected different whole numbers >= 0 separated by commas, got '1,1'"),
])
def test_user_errors_are_one_line(db, capsys, argv, message):
    assert main(["--db", db, "snn", "train", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
