"""``dwlab runs list|show|export|import|recover|delete`` and ``dwlab replay``: runs from a shell.

``register(subparsers)`` adds the commands to the lead's parser; each sets ``func``. The
database is ``args.db`` (the global ``--db URL``), else $DWLAB_DB, else the user-data file.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from dwlab.db.models import RUN_STATUSES
from dwlab.db.store import RunStore, StoreError
from dwlab.listener import ListenerBase


def register(subparsers) -> None:
    runs = subparsers.add_parser("runs", help="list, show, export or delete recorded runs")
    sub = runs.add_subparsers(dest="runs_command", required=True)

    p = sub.add_parser("list", help="one line per run, oldest first")
    p.add_argument("--procedure")
    p.add_argument("--sample")
    p.add_argument("--status", choices=RUN_STATUSES)
    p.add_argument("--since", type=_date, help="YYYY-MM-DD[THH:MM] local time")
    p.add_argument("--until", type=_date, help="YYYY-MM-DD[THH:MM] local time (a date: whole day)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="a run's metadata, events and point count")
    p.add_argument("run", type=int)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", help="write a run to CSV or Parquet (+ a .json of metadata)")
    p.add_argument("run", type=int)
    p.add_argument("--format", choices=("csv", "parquet"), default=None,
                   help="default: from the file name's suffix")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="load an export back as a new run")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("recover", help="load a spill file (points the database did not take "
                       "during a run) into the store")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("delete", help="delete a run with its points, events and images")
    p.add_argument("run", type=int)
    p.set_defaults(func=cmd_delete)

    p = subparsers.add_parser("replay", help="replay a recorded run, printing its points")
    p.add_argument("run", type=int)
    p.add_argument("--speed", type=_speed, default=1.0,
                   help="N times real time, or 'max' (default 1)")
    p.set_defaults(func=cmd_replay)


def _store(args) -> RunStore:
    return RunStore(getattr(args, "db", None))


def _guard(command):
    """A StoreError becomes one clear line on stderr and exit status 1, not a traceback."""

    def run(args) -> int:
        try:
            return command(args) or 0
        except StoreError as e:
            print(f"dwlab: {e}", file=sys.stderr)
            return 1

    run.__name__ = command.__name__
    return run


@_guard
def cmd_list(args) -> int:
    runs = _store(args).list_runs(args.procedure, args.sample, args.status, args.since, args.until)
    rows = [("ID", "PROCEDURE", "SAMPLE", "STATUS", "START", "POINTS")]
    rows += [
        (str(r.id), r.procedure, r.sample, r.status,
         r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), str(r.n_points))
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


@_guard
def cmd_show(args) -> int:
    store = _store(args)
    meta = store.get_run(args.run).metadata()
    meta["events"] = [
        {"t": round(t, 6), "kind": kind, "message": message}
        for t, kind, message in store.events(args.run)
    ]
    print(json.dumps(meta, indent=2, ensure_ascii=False, default=str))
    return 0


@_guard
def cmd_export(args) -> int:
    from dwlab.db.export import metadata_path, to_csv, to_parquet

    fmt = args.format or args.output.suffix.lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise StoreError(f"--format must be csv or parquet (or -o FILE.csv/.parquet), got {fmt!r}")
    path = (to_csv if fmt == "csv" else to_parquet)(_store(args), args.run, args.output)
    print(f"run {args.run} -> {path} (+ {metadata_path(path)})")
    return 0


@_guard
def cmd_import(args) -> int:
    from dwlab.db.export import import_run
    from dwlab.db.importer import BadExport

    try:
        run_id = import_run(_store(args), args.file)
    except BadExport as e:  # the file's fault, not the database's: exit status 2
        print(f"dwlab: {e}", file=sys.stderr)
        return 2
    print(f"{args.file} -> run {run_id}")
    return 0


@_guard
def cmd_recover(args) -> int:
    from dwlab.db.spill import recover

    r = recover(_store(args), args.file)
    torn = " (its last record was cut short when the writer died)" if r.torn else ""
    print(f"run {r.run_id}: {r.points} points and {r.events} events recovered from "
          f"{args.file}{torn}; the run is {r.status}")
    return 0


@_guard
def cmd_delete(args) -> int:
    _store(args).delete_run(args.run)
    print(f"deleted run {args.run}")
    return 0


class PrintListener(ListenerBase):
    """Prints a replay as tab-separated lines: a header, then points, events as comments."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.columns: list[str] = []

    def on_start(self, info) -> None:
        self.columns = list(info.columns)
        print(f"# run {info.run_id}: {info.procedure} on {info.sample or '-'}", file=self.out)
        print("\t".join(f"{c} [{u}]" if u else c for c, u in info.columns.items()), file=self.out)

    def on_points(self, points) -> None:
        self.out.write("".join("\t".join(repr(p[c]) for c in self.columns) + "\n" for p in points))

    def on_event(self, kind, message) -> None:
        print(f"# {kind}: {message}", file=self.out)

    def on_finish(self, status, error) -> None:
        print(f"# {status}" + (f": {error}" if error else ""), file=self.out)
        self.out.flush()


@_guard
def cmd_replay(args) -> int:
    from dwlab.db.replay import replay

    replay(_store(args), args.run, [PrintListener()], speed=args.speed)
    return 0


def _date(text: str) -> datetime | date:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD[THH:MM]: {text!r}") from None


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = -1.0
    if not speed > 0:
        raise argparse.ArgumentTypeError(f"speed must be a number > 0 or 'max', got {text!r}")
    return speed
