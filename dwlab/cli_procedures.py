"""``dwlab run``, ``dwlab batch``, ``dwlab analyze`` and ``dwlab report``.

Parameters on the command line are the procedure's own PyMeasure parameters, spelled with
dashes (``--write-current-mA 20``); ``dwlab run PROCEDURE --help`` lists them with units,
defaults and ranges. Ctrl-C, ``kill`` (SIGTERM) and a closed terminal (SIGHUP) abort the
running procedure through the Runner's one cleanup (source off, fields to zero, confirmed by the
instruments), record the run as aborted with the signal as its cause, stop a batch, and exit
with 128 + the signal's number. What is printed is what the store recorded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

from dwlab import computed
from dwlab.cli import Parser, add_setup_option, open_store, require_setup
from dwlab.cli_runs import run_id
from dwlab.errors import BadInput, UsageError, one_line
from dwlab.listener import ListenerBase


def register(sub) -> None:
    run = sub.add_parser("run", help="run one procedure", add_help=False,
                         description="run PROCEDURE --setup FILE|sim [--PARAM VALUE ...]")
    run.add_argument("procedure", nargs="?", help="procedure name (omit to list them)")
    run.add_argument("-h", "--help", action="store_true", help="show the procedure's parameters")
    _common(run)
    run.set_defaults(func=cmd_run)

    batch = sub.add_parser("batch", help="run a sequence file of procedures and parameter grids")
    batch.add_argument("sequence", type=Path, help="TOML sequence file (see README); its "
                                                   "'setup =' key is required")
    _common(batch, setup_help="override the sequence file's setup: a file, or 'sim'")
    batch.add_argument("--dry-run", action="store_true",
                       help="check every run's parameters and limits, run nothing")
    batch.set_defaults(func=cmd_batch)

    analyze = sub.add_parser("analyze", help="print the analysis of stored runs")
    analyze.add_argument("runs", nargs="+", type=run_id, metavar="RUN")
    analyze.add_argument("--json", action="store_true",
                         help="one JSON document: the analyses and the runs that failed")
    analyze.set_defaults(func=cmd_analyze)

    report = sub.add_parser("report", help="save each run's figure as PNG and PDF (and Fig "
                                           "4e/4f over several return-velocity runs)")
    report.add_argument("runs", nargs="+", type=run_id, metavar="RUN")
    report.add_argument("-o", "--out", type=Path, default=Path("."), help="output folder")
    report.add_argument("--pdf", type=Path, default=None, metavar="FILE",
                        help="also gather everything into one PDF, with the paper's numbers "
                             "beside the measured ones")
    report.set_defaults(func=cmd_report)


def _common(parser, setup_help: str | None = None) -> None:
    if setup_help:
        parser.add_argument("--setup", default=None, metavar="FILE|sim", help=setup_help)
        parser.add_argument("--preset", default=None, metavar="NAME",
                            help="simulated device for every run (instead of each run's "
                                 "'preset =', or the setup's [sim])")
    else:
        add_setup_option(parser)
    parser.add_argument("--operator", default="", help="who runs it (stored with the run)")
    parser.add_argument("--sample", default="", help="sample name (default: the setup's device)")
    parser.add_argument("--force", action="store_true",
                        help="store simulated runs under a sample name that real runs use")
    parser.add_argument("--allow-unusual", action="store_true",
                        help="run values far outside a parameter's usual range (e.g. a "
                             "write current under 0.5 mA)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- run -------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from dwlab.procedures.registry import names, parameter_rows

    if not args.procedure:
        print("procedures: " + ", ".join(names()))
        return 0 if args.help else 2
    try:
        description, rows = parameter_rows(args.procedure)
    except KeyError as exc:
        raise UsageError(f"dwlab run: {exc.args[0]}") from None
    parser = parameter_parser(args.procedure, description, rows)
    if args.help:
        parser.print_help()
        return 0
    require_setup(args, "run")
    values = vars(parser.parse_args(attach_negative_values(args.extra, parser)))
    parameters = {k: v for k, v in values.items() if v is not None}
    return _run_many(args, [(args.procedure, parameters)], [None])


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


class ParameterParser(Parser):
    """A procedure's parameters as options; an unknown one is named with the closest match."""

    FLAG_WORD = "parameter"

    def error(self, message: str):
        unknown = message.partition("unrecognized arguments: ")[2].split()
        if any(token.startswith("--") for token in unknown):
            self.refuse_unknown(unknown)
        super().error(message)


def parameter_parser(name: str, description: str, rows) -> argparse.ArgumentParser:
    """An argparse parser for a procedure's parameters (``registry.parameter_rows``), each
    flag's help with its unit, default and range."""
    parser = ParameterParser(prog=f"dwlab run {name}", description=description)
    for row in rows:
        parser.add_argument(f"--{row.attr.replace('_', '-')}", dest=row.attr, default=None,
                            metavar="VALUE", help=row.help())
    return parser


def cmd_batch(args) -> int:
    try:
        plan = load_sequence(args.sequence)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"dwlab batch: {args.sequence}: {one_line(exc)}") from None
    args.setup = args.setup or plan.setup
    where = [f"dwlab batch: {args.sequence}: {origin}" for origin in plan.origins]
    return _run_many(args, plan.runs, plan.presets, dry_run=args.dry_run, where=where)


class Sequence:
    """The runs of a batch file, each (procedure, parameters), each run's simulated
    device preset (None: the setup's), and where in the file each run comes from (e.g.
    "[[run]] 2 (hysteresis), grid point 3 of 4")."""

    def __init__(self, setup: str, runs: list[tuple[str, dict[str, Any]]],
                 presets: list[str | None] | None = None, origins: list[str] | None = None):
        self.setup, self.runs = setup, runs
        self.presets = presets if presets is not None else [None] * len(runs)
        self.origins = origins if origins is not None else [
            f"run {i} ({name})" for i, (name, _) in enumerate(runs, 1)]


def load_sequence(path: Path) -> Sequence:
    """A batch file: ``setup =`` (a setup file, or "sim") and ``[[run]]`` tables with a
    procedure, fixed parameters and a ``grid``; ``preset =`` (at the top, or in a run) names
    the simulated device a run is made on.

    Each combination of the grid's lists is its own run, in the order written (the last grid
    key varies fastest). The setup is required, so a sequence never runs on the simulated
    lab by default.
    """
    if not Path(path).is_file():
        raise ValueError("the batch file does not exist")
    return parse_sequence(tomllib.loads(Path(path).read_text(encoding="utf-8")))


def parse_sequence(raw: dict[str, Any]) -> Sequence:
    """A batch file's parsed TOML as runs (the GUI's grid and queue use this too)."""
    unknown = set(raw) - {"setup", "preset", "run"}
    if unknown:
        raise ValueError(f"unknown top-level key(s) {sorted(unknown)}; expected setup, preset, "
                         "[[run]]")
    setup = raw.get("setup")
    if not isinstance(setup, str) or not setup:
        raise ValueError(f"'setup =' is {'missing' if setup is None else repr(setup)}; it must "
                         f"name the lab: setup = \"path/to/setup.toml\" or setup = \"sim\"")
    tables = raw.get("run", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError("'run' must be [[run]] tables (double brackets), one per run, "
                         "not [run] or run = ...")
    runs, presets, origins = [], [], []
    for i, entry in enumerate(tables, 1):
        entry = dict(entry)
        if "procedure" not in entry:
            raise ValueError(f"[[run]] number {i} has no 'procedure'")
        name = entry.pop("procedure")
        preset = entry.pop("preset", raw.get("preset"))
        grid = entry.pop("grid", {})
        if not isinstance(grid, dict):
            raise ValueError(f"[[run]] {i} ({name}): grid must be a table of lists, "
                             f"e.g. grid = {{ Hx_Oe = [500.0, 1000.0] }}")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"[[run]] {i} ({name}): grid.{key} must be a non-empty list")
        keys = list(grid)
        combos = list(itertools.product(*(grid[k] for k in keys)))
        for j, combo in enumerate(combos, 1):
            runs.append((name, {**entry, **dict(zip(keys, combo))}))
            presets.append(preset)
            origins.append(f"[[run]] {i} ({name})"
                           + (f", grid point {j} of {len(combos)}" if len(combos) > 1 else ""))
    if not runs:
        raise ValueError("no [[run]] tables")
    return Sequence(setup, runs, presets, origins)


def _run_many(args, runs: list[tuple[str, dict[str, Any]]], presets: list[str | None],
              dry_run: bool = False, where: list[str] | None = None) -> int:
    """Check everything first -- parameters, setup, database, sample name, limits -- before
    any output; then run in order, one lab per stretch of runs on the same simulated device
    (``--preset`` wins over a run's ``preset =``). A refusal raises (one line, exit 2),
    prefixed with the run's ``where`` (a batch file's name and [[run]] table)."""
    from dwlab import api
    from dwlab.lab import LimitError, with_preset
    from dwlab.lab_lock import hold
    from dwlab.procedures.runner import Interrupted, catch_stop_signals
    from dwlab.setup import load_setup

    procedures = []
    for i, (name, params) in enumerate(runs):
        try:
            procedure = api.make_procedure(name, **params)
            if not args.allow_unusual:
                procedure.check_usual()
        except (KeyError, BadInput) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else one_line(exc)
            message = message.removeprefix(f"{name}: ") if where else message
            raise UsageError(f"{where[i] if where else 'dwlab'}: {message}") from None
        procedures.append(procedure)
    base = load_setup(args.setup)
    presets = [args.preset or preset for preset in presets]
    stretches = []  # (setup, sample, procedures) per stretch of one preset
    for preset, group in itertools.groupby(zip(presets, procedures), key=lambda item: item[0]):
        setup = with_preset(base, preset) if preset else base
        stretches.append((setup, args.sample or setup.device.name, [p for _, p in group]))
    store = None if dry_run else open_store(args)
    lab_lock = hold(base)  # noqa: F841 - this process owns the lab until this returns
    for setup, sample, _ in stretches:
        if store is not None and setup.simulated and not args.force:
            store.check_simulated_sample(sample)
    for setup, _, stretch in stretches:
        with api.open_lab(setup) as lab:
            for procedure in stretch:
                try:
                    procedure.check_limits(lab)
                except LimitError as exc:
                    raise LimitError(f"{procedure.NAME}: {exc}") from None
    if dry_run:
        print(f"{len(procedures)} run(s) checked; nothing was run.")
        return 0
    signals: list[str] = []  # a signal outside a run: no run starts after it
    results = []
    with catch_stop_signals(signals.append):
        try:
            for setup, sample, stretch in stretches:
                with api.open_lab(setup) as lab:  # leaving: made safe
                    for procedure in stretch:
                        if signals:
                            break
                        i = len(results) + 1
                        progress = [] if args.quiet else [
                            ProgressBar(f"[{i}/{len(procedures)}] {procedure.NAME}")]
                        try:
                            results.append(api.run(lab, procedure, store=store,
                                                   listeners=progress, operator=args.operator,
                                                   sample=sample, force=args.force))
                        except Interrupted as exc:
                            results.append(exc.outcome)
                            # first: any signal already in the list came after the run's
                            # own handler had gone (a storm of them during the cleanup)
                            signals.insert(0, exc.signal_name)
        finally:  # also when a run is refused for an input it takes from an earlier one
            if signals:
                print(f"\nstopped by {signals[0]}: no further run; the runs so far as "
                      "recorded:", file=sys.stderr)
            _print_summary(store, results, base.simulated)
    if signals:
        return 128 + int(getattr(signal, signals[0]))
    return 0 if results and all(r.ok for r in results) and len(results) == len(procedures) else 1


def _print_summary(store, results, simulated: bool) -> None:
    for result in results:
        line = f"run {result.run_id}: {result.status}" + (" (simulated)" if simulated else "")
        if result.error:
            line += f" ({result.error})"
        print(line)
        if result.analysis is not None:
            for key, value in result.analysis.summary().items():
                print(f"    {key:32s} {_fmt(value)}")
        elif result.run_id is not None:  # the runner stored why the analysis failed
            for _, kind, message in store.events(result.run_id):
                if kind == "analysis-error":
                    print(f"    no analysis: {message}")
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
    from dwlab.procedures.analysis import AnalysisError

    store = open_store(args)
    analysed, failures = [], []
    for run in args.runs:
        try:
            record = store.get_run(run)
            result = api.analyze(store, run)
        except (StoreError, KeyError, ValueError, AnalysisError) as exc:
            failures.append({"run": run, "error": one_line(exc)})
            if not args.json:
                print(f"run {run}: cannot analyse: {one_line(exc)}", file=sys.stderr)
            continue
        summary = result.summary() if result is not None else {}
        entry = {"run": run, "procedure": record.procedure, "sample": record.sample,
                 "status": record.status, "simulated": record.simulated,
                 "lab": computed.lab(record.procedure, record.simulated),
                 "summary": {key: _json_value(value) for key, value in summary.items()}}
        analysed.append(entry)
        if not args.json:
            print(f"run {run}  {record.procedure}  {record.sample}  {record.status}  "
                  f"{entry['lab']}")
            for key, value in summary.items():
                print(f"    {key:32s} {_fmt(value)}")
    if args.json:
        print(json.dumps({"runs": analysed, "failures": failures}, indent=2,
                         allow_nan=False))
    return 1 if failures else 0


def _json_value(value):
    """A summary value as JSON: numpy numbers as plain numbers, NaN and infinities (which
    JSON has not) as null, lists item by item, anything else as its text."""
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "tolist"):
        return _json_value(value.tolist())
    return str(value)


def cmd_report(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from dwlab import report
    from dwlab.db.store import StoreError

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"report: -o {args.out} is a file; give a folder")
    store = open_store(args)
    status, runs = 0, []
    for run in args.runs:
        try:
            stored = report.load(store, run)
        except (StoreError, KeyError, ValueError) as exc:
            print(f"run {run}: no figure: {one_line(exc)}", file=sys.stderr)
            status = 1
            continue
        runs.append(stored)
        if stored.figure is None:
            print(f"run {run}: {stored.problem}", file=sys.stderr)
            status = 1
            continue
        print(f"run {run}: {_save_figure(stored.figure, args.out, f'run{run}_{stored.procedure}')}")
    fig4 = report.return_velocity_figure(runs)
    if fig4 is not None:
        print(f"Fig 4e/4f over {sum(r.procedure == 'return-velocity' for r in runs)} "
              f"return-velocity runs: {_save_figure(fig4, args.out, 'fig4ef_return_velocity')}")
    networks = report.network_comparison_figure(runs)
    if networks is not None:
        print(f"final accuracies over {sum(r.procedure == 'snn-train' for r in runs)} "
              f"snn-train runs: {_save_figure(networks, args.out, 'snn_comparison')}")
    if args.pdf is not None:
        pages = report.write_pdf(args.pdf, runs)
        print(f"{args.pdf}: {pages} pages, the paper's numbers beside the measured ones first")
    return status


def _save_figure(figure, folder: Path, name: str) -> str:
    """Write ``figure`` as ``folder/name``.png and .pdf; the two paths, for the user."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / name
    for ext in ("png", "pdf"):
        figure.savefig(f"{stem}.{ext}", dpi=150)
    return f"{stem}.png, {stem}.pdf"
