"""A network training as a run in the store, and its analysis and figure read back from it.

A run of procedure ``snn-train`` holds (no table of its own):

- parameters: the data set, the training settings, the swept variable and its values, the
  source of the neurons ("table1" or the integrate/reset run's id);
- snapshot: the neuron parameters used for each setting, the data set's sizes, the software
  (torch, snnTorch versions);
- points, one per epoch and network: ``network`` (0 spiking, 1 the plain reference), the
  setting's ``value`` (of the swept variable), ``epoch``, train and test accuracy, loss and the
  epoch's wall time;
- images: the test-set confusion matrix after the last epoch of each setting and network
  (meta: kind "confusion", network, value).

``analyze(store, run_id)`` and ``figure(store, run_id)`` are what ``dwlab analyze``,
``dwlab report`` and the GUI's run browser call for such a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from dwlab.snn.data import Dataset
from dwlab.snn.neuron import NeuronModel
from dwlab.snn.train import Epoch, TrainConfig, Training, train

PROCEDURE = "snn-train"
VERSION = "1"
SPIKING, PLAIN = 0, 1
COLUMNS = {"network": "", "value": "", "epoch": "", "train_acc_pct": "%", "test_acc_pct": "%",
           "loss": "", "epoch_s": "s"}
# what a sweep may vary: name -> (label with unit, how it changes the neuron)
SWEEPS: dict[str, tuple[str, Callable[[NeuronModel, float], NeuronModel]]] = {
    "tau_ms": ("τ_int = τ_leak (ms), time step scaled with τ", NeuronModel.with_tau),
    "sigma_pct": ("threshold spread σ/µ (%)",
                  lambda n, v: replace(n, sigma_pct=v)),
    "pulses_to_fire": ("pulses to fire (0: continuous)",
                       lambda n, v: replace(n, pulses_to_fire=v or None)),
}


@dataclass(frozen=True)
class Sweep:
    """The variable a run varies (``SWEEPS`` key) and its values; one value: no sweep."""

    name: str
    values: tuple[float, ...]

    def neurons(self, base: NeuronModel) -> list[NeuronModel]:
        return [SWEEPS[self.name][1](base, v) for v in self.values]


class Progress:
    """What ``train_and_store`` reports to (a progress bar): a new training, every batch,
    every epoch. The base class reports nothing."""

    def start(self, what: str, epochs: int) -> None: ...

    def on_batch(self, epoch: int, done: int, total: int) -> None: ...

    def on_epoch(self, epoch: Epoch, confusion: np.ndarray) -> None: ...


def train_and_store(store, data: Dataset, config: TrainConfig, base: NeuronModel, sweep: Sweep,
                    reference: bool = True, source_run: int | None = None,
                    progress: Progress | None = None, operator: str = "", sample: str = "",
                    simulated: bool = False) -> int:
    """Train one network per value of ``sweep`` (and the plain reference once), storing every
    epoch as it ends; returns the run id. ``sample`` and ``simulated`` are the source run's
    (a network of simulated neurons is a simulated result). Ctrl-C (or any error) ends the run
    as aborted (or failed) with the epochs so far."""
    import snntorch
    import torch

    progress = progress or Progress()
    neurons = sweep.neurons(base)
    writer = store.begin_run(
        PROCEDURE, COLUMNS, procedure_version=VERSION, operator=operator, sample=sample,
        simulated=simulated,
        parameters={"dataset": data.name, **asdict(config), "sweep": sweep.name,
                    "values": list(sweep.values), "reference": reference,
                    "source": base.source, "source_run": source_run},
        snapshot={"neurons": [n.describe() for n in neurons], "dataset": data.describe(),
                  "software": {"torch": torch.__version__, "snntorch": snntorch.__version__}})
    jobs = [(SPIKING, v, n) for v, n in zip(sweep.values, neurons)]
    if reference:
        jobs.append((PLAIN, float("nan"), None))
    with writer:
        for i, (network, value, neuron) in enumerate(jobs):
            what = ("plain reference" if neuron is None else "spiking network"
                    if len(sweep.values) == 1 else f"{sweep.name} = {value:g}")
            writer.event("log", f"training {what}")
            progress.start(what, config.epochs)

            def on_epoch(e: Epoch, confusion: np.ndarray, network=network, value=value, i=i):
                writer.append({"network": network, "value": value, "epoch": e.epoch,
                               "train_acc_pct": e.train_acc_pct, "test_acc_pct": e.test_acc_pct,
                               "loss": e.loss, "epoch_s": e.seconds})
                writer.event("progress", f"{100 * (i + e.epoch / config.epochs) / len(jobs):.1f}")
                progress.on_epoch(e, confusion)

            result: Training = train(data, config, neuron, progress.on_batch, on_epoch)
            writer.add_image(result.confusion, writer.elapsed(),
                             {"kind": "confusion", "network": network,
                              "value": None if neuron is None else value})
            writer.event("log", f"{what}: test accuracy {result.final.test_acc_pct:.2f} %")
    return writer.run_id


# ---- reading a run back ------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkRunResult:
    """A stored training: accuracy curves per setting, confusion matrices, the neurons used."""

    sweep: str
    values: tuple[float, ...]
    epochs: pd.DataFrame  # the run's points
    confusions: dict[tuple[int, float | None], np.ndarray]  # (network, value or None)
    neurons: tuple[dict, ...]
    source: str
    dataset: dict

    def curve(self, network: int, value: float = float("nan")) -> pd.DataFrame:
        rows = self.epochs[self.epochs["network"] == network]
        if network == SPIKING:
            rows = rows[np.isclose(rows["value"], value)]
        return rows.sort_values("epoch")

    def final_test_acc(self) -> dict[float, float]:
        """Test accuracy after the last epoch, per setting of the sweep (trained ones only)."""
        out = {}
        for v in self.values:
            c = self.curve(SPIKING, v)
            if len(c):
                out[v] = float(c["test_acc_pct"].iloc[-1])
        return out

    @property
    def reference_test_acc(self) -> float | None:
        c = self.curve(PLAIN)
        return float(c["test_acc_pct"].iloc[-1]) if len(c) else None

    def summary(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"dataset": self.dataset.get("name", ""),
                                       "source": self.source}
        finals = self.final_test_acc()
        for v, acc in finals.items():
            key = "test_acc_pct" if len(self.values) == 1 else f"test_acc_pct[{self.sweep}={v:g}]"
            out[key] = acc
        if len(self.values) == 1 and finals:
            c = self.curve(SPIKING, self.values[0])
            out["train_acc_pct"] = float(c["train_acc_pct"].iloc[-1])
            out["epochs"] = float(c["epoch"].iloc[-1])
            out["epoch_s_mean"] = float(c["epoch_s"].mean())
        if self.reference_test_acc is not None:
            out["reference_test_acc_pct"] = self.reference_test_acc
        first = self.neurons[0] if self.neurons else {}
        for key in ("tau_int_ms", "tau_leak_ms", "V_th_uV", "V_reset_uV", "dt_ms", "sigma_pct",
                    "pulses_to_fire"):
            if len(self.values) == 1 or key not in _SWEPT_KEYS[self.sweep]:
                value = first.get(key)
                out[f"neuron_{key}"] = "none" if value is None else value
        return out


_SWEPT_KEYS = {"tau_ms": ("tau_int_ms", "tau_leak_ms", "dt_ms"), "sigma_pct": ("sigma_pct",),
               "pulses_to_fire": ("pulses_to_fire",)}


def load(store, run_id: int) -> NetworkRunResult:
    """The stored training of run ``run_id`` (which must be an ``snn-train`` run)."""
    record = store.get_run(run_id)
    if record.procedure != PROCEDURE:
        raise ValueError(f"run {run_id} is {record.procedure}, not {PROCEDURE}")
    p = record.parameters
    confusions = {(int(meta["network"]), meta["value"]): image
                  for _, image, meta in store.images(run_id) if meta.get("kind") == "confusion"}
    df = store.dataframe(run_id)
    return NetworkRunResult(p["sweep"], tuple(p["values"]), df, confusions,
                            tuple(record.snapshot.get("neurons", ())),
                            p["source"] if p.get("source_run") is None
                            else f"run {p['source_run']}", record.snapshot.get("dataset", {}))


def analyze(store, run_id: int) -> NetworkRunResult:
    return load(store, run_id)


def figure(store, run_id: int):
    from dwlab.snn.figures import network_figure

    return network_figure(load(store, run_id))
