"""A network training as a run in the store, and its analysis and figure read back from it.

A run of procedure ``snn-train`` holds (no table of its own):

- parameters: the data set, the training settings, the swept variable and its values, the
  seeds (one network per setting and seed: the spread over seeds is the honest error bar of
  an accuracy), the source of the neurons ("table1" or the integrate/reset run's id);
- snapshot: the neuron parameters used for each setting, the data set's sizes, the software
  (torch, snnTorch versions);
- points, one per epoch and network: ``network`` (0 spiking, 1 the plain reference), the
  setting's ``value`` (of the swept variable), ``seed``, ``epoch``, train and test accuracy,
  loss and the epoch's wall time (runs stored before seeds had one seed and no column);
  a sweep of a device non-ideality (``DEPLOYABLE``) adds network 2, "deployed": the weights
  trained with the first value's neurons, run unchanged on each other value's neurons, one
  point per value and seed at the last epoch (test accuracy only). That is a chip whose
  weights were trained off-line for one device and written into devices with another
  spread or level count; network 0 at the same value is the chip trained with its own
  devices' spread (in situ).
- images: the test-set confusion matrix after the last epoch of each setting, seed and
  network (meta: kind "confusion", network, value, seed).

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
SPIKING, PLAIN, DEPLOYED = 0, 1, 2
COLUMNS = {"network": "", "value": "", "seed": "", "epoch": "", "train_acc_pct": "%",
           "test_acc_pct": "%", "loss": "", "epoch_s": "s"}
# what a sweep may vary: name -> (label with unit, how it changes the neuron)
SWEEPS: dict[str, tuple[str, Callable[[NeuronModel, float], NeuronModel]]] = {
    "tau_ms": ("τ_int = τ_leak (ms), time step scaled with τ", NeuronModel.with_tau),
    "sigma_pct": ("threshold spread σ/µ (%)",
                  lambda n, v: replace(n, sigma_pct=v)),
    "pulses_to_fire": ("pulses to fire (0: continuous)",
                       lambda n, v: replace(n, pulses_to_fire=v or None)),
}

DEPLOYABLE = ("sigma_pct", "pulses_to_fire")  # sweeps whose first value's weights also run on
# the other values' neurons (a τ sweep scales Δt with τ: the same network at every τ)


@dataclass(frozen=True)
class Sweep:
    """The variable a run varies (``SWEEPS`` key) and its values; one value: no sweep."""

    name: str
    values: tuple[float, ...]

    def neurons(self, base: NeuronModel) -> list[NeuronModel]:
        return [SWEEPS[self.name][1](base, v) for v in self.values]

    @property
    def deployed_values(self) -> tuple[float, ...]:
        """The values the first value's trained weights are also run at (``DEPLOYED``)."""
        return self.values[1:] if self.name in DEPLOYABLE else ()


class Progress:
    """What ``train_and_store`` reports to (a progress bar): a new training, every batch,
    every epoch. The base class reports nothing."""

    def start(self, what: str, epochs: int) -> None: ...

    def on_batch(self, epoch: int, done: int, total: int) -> None: ...

    def on_epoch(self, epoch: Epoch, confusion: np.ndarray) -> None: ...


def train_and_store(store, data: Dataset, config: TrainConfig, base: NeuronModel, sweep: Sweep,
                    reference: bool = True, source_run: int | None = None,
                    progress: Progress | None = None, operator: str = "", sample: str = "",
                    simulated: bool = False, seeds: tuple[int, ...] | None = None,
                    workers: int = 1) -> int:
    """Train one network per value of ``sweep`` and seed (default ``config.seed``; and the
    plain reference once per seed), storing every epoch as it ends; returns the run id.
    Seed by seed, so an interrupted run holds whole sweeps. ``sample`` and ``simulated`` are
    the source run's (a network of simulated neurons is a computed result from simulated
    data). Ctrl-C (or any error) ends the run as aborted (or failed) with the epochs so far.

    ``workers`` > 1: that many trainings at once, each in its own process (one thread each);
    a training's epochs are then stored when it ends, not as each epoch ends."""
    import snntorch
    import torch

    progress = progress or Progress()
    seeds = tuple(seeds) if seeds else (config.seed,)
    neurons = sweep.neurons(base)
    writer = store.begin_run(
        PROCEDURE, COLUMNS, procedure_version=VERSION, operator=operator, sample=sample,
        simulated=simulated,
        parameters={"dataset": data.name, **asdict(config), "seeds": list(seeds),
                    "sweep": sweep.name, "values": list(sweep.values), "reference": reference,
                    "source": base.source, "source_run": source_run},
        snapshot={"neurons": [n.describe() for n in neurons], "dataset": data.describe(),
                  "software": {"torch": torch.__version__, "snntorch": snntorch.__version__}})
    jobs = []
    for seed in seeds:
        jobs += [(SPIKING, v, n, seed) for v, n in zip(sweep.values, neurons)]
        if reference:
            jobs.append((PLAIN, float("nan"), None, seed))
    deploy = neurons[1:] if sweep.deployed_values else []

    def deploy_on(job) -> list[NeuronModel]:
        """The neurons a job's trained weights are also run on: the first value's only."""
        network, value, _, _ = job
        return deploy if network == SPIKING and value == sweep.values[0] else []

    done = 0  # trainings finished, for the run's progress

    def describe(job) -> str:
        network, value, neuron, seed = job
        what = ("plain reference" if neuron is None else "spiking network"
                if len(sweep.values) == 1 else f"{sweep.name} = {value:g}")
        return what + (f", seed {seed}" if len(seeds) > 1 else "")

    def store_epoch(job, e: Epoch, confusion: np.ndarray) -> None:
        network, value, _, seed = job
        writer.append({"network": network, "value": value, "seed": seed, "epoch": e.epoch,
                       "train_acc_pct": e.train_acc_pct, "test_acc_pct": e.test_acc_pct,
                       "loss": e.loss, "epoch_s": e.seconds})
        writer.event("progress", f"{100 * (done + e.epoch / config.epochs) / len(jobs):.1f}")
        progress.on_epoch(e, confusion)

    def store_result(job, result: Training) -> None:
        nonlocal done
        network, value, neuron, seed = job
        writer.add_image(result.confusion, writer.elapsed(),
                         {"kind": "confusion", "network": network,
                          "value": None if neuron is None else value, "seed": seed})
        writer.event("log", f"{describe(job)}: test accuracy {result.final.test_acc_pct:.2f} %")
        for v, acc in zip(sweep.deployed_values, result.deployed):
            writer.append({"network": DEPLOYED, "value": v, "seed": seed,
                           "epoch": result.final.epoch, "train_acc_pct": np.nan,
                           "test_acc_pct": acc, "loss": np.nan, "epoch_s": np.nan})
            writer.event("log", f"{describe(job)}, run with {sweep.name} = {v:g}: test "
                                f"accuracy {acc:.2f} %")
        done += 1

    with writer:
        if workers > 1:
            _train_side_by_side(workers, jobs, data, config, writer, progress, describe,
                                store_epoch, store_result, deploy_on)
        for job in [] if workers > 1 else jobs:
            writer.event("log", f"training {describe(job)}")
            progress.start(describe(job), config.epochs)
            result = train(data, replace(config, seed=job[3]), job[2], progress.on_batch,
                           lambda e, confusion, job=job: store_epoch(job, e, confusion),
                           deploy_on(job))
            store_result(job, result)
    return writer.run_id


def _train_side_by_side(workers, jobs, data, config, writer, progress, describe, store_epoch,
                        store_result, deploy_on) -> None:
    """The trainings of ``jobs`` in ``workers`` processes, stored as each one ends."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {}
        for job in jobs:
            writer.event("log", f"training {describe(job)}")
            futures[pool.submit(train, data, replace(config, seed=job[3]), job[2],
                                deploy=deploy_on(job))] = job
        for future in as_completed(futures):
            job, result = futures[future], future.result()
            progress.start(describe(job), config.epochs)
            for e in result.epochs:
                store_epoch(job, e, result.confusion)
            store_result(job, result)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# ---- reading a run back ------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkRunResult:
    """A stored training: accuracy curves per setting and seed, confusion matrices, the
    neurons used. Accuracies "after the last epoch" are means over the seeds, with their
    sample standard deviation (0 for one seed)."""

    sweep: str
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    epochs: pd.DataFrame  # the run's points
    confusions: dict[tuple[int, float | None, int], np.ndarray]  # (network, value, seed)
    neurons: tuple[dict, ...]
    source: str
    dataset: dict

    def curve(self, network: int, value: float = float("nan"),
              seed: int | None = None) -> pd.DataFrame:
        """One training's epochs (``seed`` None: all seeds of that setting)."""
        rows = self.epochs[self.epochs["network"] == network]
        if network != PLAIN:
            rows = rows[np.isclose(rows["value"], value)]
        if seed is not None:
            rows = rows[rows["seed"] == seed]
        return rows.sort_values(["seed", "epoch"])

    def finals(self, network: int, value: float = float("nan")) -> np.ndarray:
        """Test accuracy after the last epoch of each seed trained for this setting."""
        rows = self.curve(network, value)
        return rows.groupby("seed")["test_acc_pct"].last().to_numpy(dtype=float)

    def final_test_stats(self) -> dict[float, tuple[float, float, int]]:
        """(mean, sd, number of seeds) of the final test accuracy per setting of the sweep
        (trained ones only)."""
        return self._finals_stats(SPIKING, self.values)

    def deployed_stats(self) -> dict[float, tuple[float, float, int]]:
        """(mean, sd, number of seeds) of the test accuracy of the first value's trained
        weights run on each other value's neurons (``DEPLOYED``; empty if none stored)."""
        return self._finals_stats(DEPLOYED, self.values[1:])

    def _finals_stats(self, network: int, values) -> dict[float, tuple[float, float, int]]:
        return {v: _stats(f) for v in values if len(f := self.finals(network, v))}

    def final_test_acc(self) -> dict[float, float]:
        """Mean test accuracy after the last epoch, per setting of the sweep."""
        return {v: mean for v, (mean, _, _) in self.final_test_stats().items()}

    @property
    def reference_stats(self) -> tuple[float, float, int] | None:
        finals = self.finals(PLAIN)
        return _stats(finals) if len(finals) else None

    @property
    def reference_test_acc(self) -> float | None:
        return None if self.reference_stats is None else self.reference_stats[0]

    def summary(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"dataset": self.dataset.get("name", ""),
                                       "source": self.source}
        several = len(self.seeds) > 1
        if several:
            out["seeds"] = ",".join(str(s) for s in self.seeds)
        for v, (mean, sd, n) in self.final_test_stats().items():
            at = "" if len(self.values) == 1 else f"[{self.sweep}={v:g}]"
            out[f"test_acc_pct{at}"] = mean
            if several:
                out[f"test_acc_sd_pct{at}"] = sd
                out[f"n_seeds{at}"] = float(n)
        for v, (mean, sd, _) in self.deployed_stats().items():
            at = f"[{self.sweep}={v:g}]"
            out[f"deployed_test_acc_pct{at}"] = mean
            if several:
                out[f"deployed_test_acc_sd_pct{at}"] = sd
        if len(self.values) == 1 and self.final_test_stats():
            c = self.curve(SPIKING, self.values[0])
            out["train_acc_pct"] = float(c.groupby("seed")["train_acc_pct"].last().mean())
            out["epochs"] = float(c["epoch"].max())
            out["epoch_s_mean"] = float(c["epoch_s"].mean())
        if self.reference_stats is not None:
            out["reference_test_acc_pct"] = self.reference_stats[0]
            if several:
                out["reference_test_acc_sd_pct"] = self.reference_stats[1]
        first = self.neurons[0] if self.neurons else {}
        for key in ("tau_int_ms", "tau_leak_ms", "V_th_uV", "V_reset_uV", "dt_ms", "sigma_pct",
                    "pulses_to_fire"):
            if len(self.values) == 1 or key not in _SWEPT_KEYS[self.sweep]:
                value = first.get(key)
                out[f"neuron_{key}"] = "none" if value is None else value
        return out


def _stats(finals: np.ndarray) -> tuple[float, float, int]:
    sd = float(np.std(finals, ddof=1)) if len(finals) > 1 else 0.0
    return float(np.mean(finals)), sd, len(finals)


_SWEPT_KEYS = {"tau_ms": ("tau_int_ms", "tau_leak_ms", "dt_ms"), "sigma_pct": ("sigma_pct",),
               "pulses_to_fire": ("pulses_to_fire",)}


def load(store, run_id: int) -> NetworkRunResult:
    """The stored training of run ``run_id`` (which must be an ``snn-train`` run)."""
    record = store.get_run(run_id)
    if record.procedure != PROCEDURE:
        raise ValueError(f"run {run_id} is {record.procedure}, not {PROCEDURE}")
    p = record.parameters
    seeds = tuple(p.get("seeds") or [p.get("seed", 0)])
    confusions = {(int(meta["network"]), meta["value"], int(meta.get("seed", seeds[0]))): image
                  for _, image, meta in store.images(run_id) if meta.get("kind") == "confusion"}
    df = store.dataframe(run_id)
    if "seed" not in df:
        df["seed"] = float(seeds[0])
    return NetworkRunResult(p["sweep"], tuple(p["values"]), seeds, df, confusions,
                            tuple(record.snapshot.get("neurons", ())),
                            p["source"] if p.get("source_run") is None
                            else f"run {p['source_run']}", record.snapshot.get("dataset", {}))


def analyze(store, run_id: int) -> NetworkRunResult:
    return load(store, run_id)


def figure(store, run_id: int):
    from dwlab.snn.figures import network_figure

    return network_figure(load(store, run_id))
