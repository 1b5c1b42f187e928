"""``dwlab run``, ``dwlab batch``, ``dwlab analyze`` and ``dwlab report``.

Parameters on the command line are the procedure's own PyMeasure parameters, spelled with
dashes (``--write-current-mA 20``); ``dwlab run PROCEDURE --help`` lists them with units,
defaults and ranges. Ctrl-C aborts the running procedure safely (source off, fields to zero),
records the run as aborted, and stops a batch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from dwlab.listener import ListenerBase


def register(sub) -> None:
    run = sub.add_parser("run", help="run one procedure", add_help=False,
                         description="run PROCEDURE [--setup FILE|sim] [--PARAM VALUE ...]")
    run.add_argument("procedure", nargs="?", help="procedure name (omit to list them)")
    run.add_argument("-h", "--help", action="store_true", help="show the procedure's parameters")
    _common(run)
    run.set_defaults(func=cmd_run)

    batch = sub.add_parser("batch", help="run a sequence file of procedures and parameter grids")
    batch.add_argument("sequence", type=Path, help="TOML sequence file (see README)")
    _common(batch)
    batch.add_argument("--dry-run", action="store_true",
                       help="check every run's parameters and limits, run nothing")
    batch.set_defaults(func=cmd_batch)

    analyze = sub.add_parser("analyze", help="print the analysis of stored runs")
    analyze.add_argument("runs", nargs="+", type=int, metavar="RUN")
    analyze.add_argument("--json", action="store_true", help="machine-readable output")
    analyze.set_defaults(func=cmd_analyze)

    report = sub.add_parser("report", help="save each run's figure as PNG and PDF (and Fig "
                                           "4e/4f over several return-velocity runs)")
    report.add_argument("runs", nargs="+", type=int, metavar="RUN")
    report.add_argument("-o", "--out", type=Path, default=Path("."), help="output folder")
    report.add_argument("--pdf", type=Path, default=None, metavar="FILE",
                        help="also gather everything into one PDF, with the paper's numbers "
                             "beside the measured ones")
    report.set_defaults(func=cmd_report)


def _common(parser) -> None:
    parser.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help="database URL (as the global --db)")
    parser.add_argument("--setup", default=None, metavar="FILE|sim",
                        help="setup file (default: the simulated lab)")
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help="simulated device (sot-neuron, spike-neuron, field-neuron, "
                             "rv-1504, rv-1220, rv-885, rv-645); default: the setup's [sim]")
    parser.add_argument("--operator", default="", help="who runs it (stored with the run)")
    parser.add_argument("--sample", default="", help="sample name (default: the setup's device)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- run -------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from dwlab.procedures.registry import names, procedure_class

    if not args.procedure:
        print("procedures: " + ", ".join(names()))
        return 0 if args.help else 2
    try:
        cls = procedure_class(args.procedure)
    except KeyError as exc:
        print(f"dwlab run: {exc.args[0]}", file=sys.stderr)
        return 2
    parser = parameter_parser(cls)
    if args.help:
        parser.print_help()
        return 0
    values = vars(parser.parse_args(attach_negative_values(args.extra, parser)))
    parameters = {k: v for k, v in values.items() if v is not None}
    return _run_many(args, [(cls.NAME, parameters, args.preset)])


def attach_negative_values(tokens: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--hz-list-Oe -1160,-1100`` as ``--hz-list-Oe=-1160,-1100``: fields here are negative,
    and argparse would take such a value for an option."""
    options = {opt for action in parser._actions for opt in action.option_strings}
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if token in options and nxt is not None and nxt.startswith("-") and nxt not in options:
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def parameter_parser(cls) -> argparse.ArgumentParser:
    """An argparse parser for a procedure's parameters, with units, defaults and ranges."""
    parser = argparse.ArgumentParser(prog=f"dwlab run {cls.NAME}",
                                     description=(cls.__doc__ or "").strip().split("\n")[0])
    for attr in cls.parameter_names():
        param = getattr(cls, attr)
        units = f" [{param.units}]" if getattr(param, "units", None) else ""
        limits = ""
        if getattr(param, "minimum", None) is not None:
            limits = f", range {param.minimum:g} to {param.maximum:g}"
        choices = getattr(param, "choices", None)
        if choices:
            limits = f", one of {', '.join(map(str, choices))}"
        default = param.value if param.is_set() else None
        parser.add_argument(f"--{attr.replace('_', '-')}", dest=attr, default=None,
                            metavar="VALUE",
                            help=f"{param.name}{units} (default {default}{limits})")
    return parser


def cmd_batch(args) -> int:
    try:
        plan = load_sequence(args.sequence)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"dwlab batch: {args.sequence}: {exc}", file=sys.stderr)
        return 2
    if args.setup is None:
        args.setup = plan.setup
    return _run_many(args, plan.runs, dry_run=args.dry_run)


class Sequence:
    def __init__(self, setup: str | None, runs: list[tuple[str, dict[str, Any], str | None]]):
        self.setup, self.runs = setup, runs


def load_sequence(path: Path) -> Sequence:
    """A batch file: ``[[run]]`` tables with a procedure, fixed parameters and a ``grid``,
    and optionally the simulated device ``preset`` (per run, or for all at the top).

    Each combination of the grid's lists is its own run, in the order written (the last grid
    key varies fastest).
    """
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(raw) - {"setup", "preset", "run"}
    if unknown:
        raise ValueError(f"unknown top-level key(s) {sorted(unknown)}; expected setup, preset, "
                         "[[run]]")
    runs = []
    for i, entry in enumerate(raw.get("run", []), 1):
        entry = dict(entry)
        if "procedure" not in entry:
            raise ValueError(f"[[run]] number {i} has no 'procedure'")
        name = entry.pop("procedure")
        preset = entry.pop("preset", raw.get("preset"))
        grid = entry.pop("grid", {})
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"[[run]] {i} ({name}): grid.{key} must be a non-empty list")
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            runs.append((name, {**entry, **dict(zip(keys, combo))}, preset))
    if not runs:
        raise ValueError("no [[run]] tables")
    return Sequence(raw.get("setup"), runs)


def _run_many(args, runs: list[tuple[str, dict[str, Any], str | None]],
              dry_run: bool = False) -> int:
    """Check every run first (parameters and limits, before any output), then run in order,
    one lab per stretch of runs on the same simulated device preset (``--preset`` wins)."""
    from dwlab import api
    from dwlab.procedures.base import ParameterError
    from dwlab.setup import SetupError

    try:
        procedures = [(api.make_procedure(name, **params), getattr(args, "preset", None) or preset)
                      for name, params, preset in runs]
    except (KeyError, ParameterError) as exc:
        print(f"dwlab: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    groups = [(preset, [p for p, _ in stretch])
              for preset, stretch in itertools.groupby(procedures, key=lambda item: item[1])]
    store, results = None, []
    for preset, stretch in groups:
        try:
            lab = api.open_lab(args.setup or "sim", preset=preset)
        except SetupError as exc:
            print(f"dwlab: {exc}", file=sys.stderr)
            return 2
        with lab:
            status = _check_limits(lab, stretch)
            if status:
                return status
            if dry_run:
                continue
            store = store or api.open_store(args.db)
            if not _run_stretch(args, lab, store, stretch, results, len(procedures)):
                break
    if dry_run:
        print(f"{len(procedures)} run(s) checked; nothing was run.")
        return 0
    if store is not None:
        _print_summary(store, results)
    return 0 if results and all(r.ok for r in results) and len(results) == len(procedures) else 1


def _check_limits(lab, procedures) -> int:
    from dwlab.lab import LimitError
    from dwlab.procedures.base import ParameterError

    for procedure in procedures:
        try:
            procedure.check_limits(lab)
        except (LimitError, ParameterError) as exc:
            print(f"dwlab: {procedure.NAME}: {exc}", file=sys.stderr)
            return 2
    return 0


def _run_stretch(args, lab, store, procedures, results, total: int) -> bool:
    """Run procedures on one lab, appending to ``results``; False when the batch must stop
    (Ctrl-C, or a run refused because an input it takes from an earlier run is missing)."""
    from dwlab import api
    from dwlab.procedures.base import ParameterError

    for procedure in procedures:
        i = len(results) + 1
        progress = [] if args.quiet else [ProgressBar(f"[{i}/{total}] {procedure.NAME}")]
        try:
            results.append(api.run(lab, procedure, store=store, listeners=progress,
                                   operator=args.operator, sample=args.sample))
        except ParameterError as exc:
            for bar in progress:
                bar.bar.close()
            print(f"dwlab: {exc}", file=sys.stderr)
            return False
        except KeyboardInterrupt:
            print("\ninterrupted: the source is off and the fields are at zero; the run is "
                  "recorded as aborted.", file=sys.stderr)
            return False
    return True


def _print_summary(store, results) -> None:
    for result in results:
        line = f"run {result.run_id}: {result.status}"
        if result.error:
            line += f" ({result.error})"
        print(line)
        if result.analysis is not None:
            for key, value in result.analysis.summary().items():
                print(f"    {key:32s} {_fmt(value)}")
    if results:
        print(f"database: {store.url}")


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class ProgressBar(ListenerBase):
    """A tqdm progress bar fed by the procedure's progress (percent) and its points."""

    def __init__(self, label: str):
        from tqdm import tqdm

        self.bar = tqdm(total=100, desc=label, unit="%", leave=True, file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}|{postfix}")
        self.points = 0

    def on_points(self, points) -> None:
        self.points += len(points)
        self.bar.set_postfix_str(f"{self.points} points", refresh=False)

    def on_event(self, kind, message) -> None:
        if kind == "progress":
            self.bar.n = min(100.0, float(message))
            self.bar.refresh()

    def on_finish(self, status, error) -> None:
        if status == "finished":
            self.bar.n = 100
        self.bar.set_postfix_str(f"{self.points} points, {status}")
        self.bar.close()


# ---- analyze / report ----------------------------------------------------------------------
def cmd_analyze(args) -> int:
    from dwlab import api
    from dwlab.db.store import StoreError

    store = api.open_store(args.db)
    status = 0
    for run_id in args.runs:
        try:
            record = store.get_run(run_id)
            result = api.analyze(store, run_id)
        except (StoreError, KeyError, ValueError) as exc:
            print(f"run {run_id}: cannot analyse: {exc}", file=sys.stderr)
            status = 1
            continue
        summary = result.summary() if result is not None else {}
        if args.json:
            print(json.dumps({"run": run_id, "procedure": record.procedure, **summary},
                             default=str))
            continue
        print(f"run {run_id}  {record.procedure}  {record.sample}  {record.status}")
        for key, value in summary.items():
            print(f"    {key:32s} {_fmt(value)}")
    return status


def cmd_report(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from dwlab import api, report
    from dwlab.db.store import StoreError

    store = api.open_store(args.db)
    args.out.mkdir(parents=True, exist_ok=True)
    status, runs = 0, []
    for run_id in args.runs:
        try:
            run = report.load(store, run_id)
        except (StoreError, KeyError, ValueError) as exc:
            print(f"run {run_id}: no figure: {exc}", file=sys.stderr)
            status = 1
            continue
        runs.append(run)
        if run.figure is None:
            print(f"run {run_id}: {run.problem}", file=sys.stderr)
            status = 1
            continue
        stem = args.out / f"run{run_id}_{run.procedure}"
        for ext in ("png", "pdf"):
            run.figure.savefig(f"{stem}.{ext}", dpi=150)
        print(f"run {run_id}: {stem}.png, {stem}.pdf")
    fig4 = report.return_velocity_figure(runs)
    if fig4 is not None:
        stem = args.out / "fig4ef_return_velocity"
        for ext in ("png", "pdf"):
            fig4.savefig(f"{stem}.{ext}", dpi=150)
        print(f"Fig 4e/4f over {sum(r.procedure == 'return-velocity' for r in runs)} "
              f"return-velocity runs: {stem}.png, {stem}.pdf")
    if args.pdf is not None:
        pages = report.write_pdf(args.pdf, runs)
        print(f"{args.pdf}: {pages} pages, the paper's numbers beside the measured ones first")
    return status
