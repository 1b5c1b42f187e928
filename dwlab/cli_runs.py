"""``dwlab runs list|show|export|import|recover|delete`` and ``dwlab replay``: the run store from a shell.

``register(subparsers)`` adds the commands to the lead's parser; each sets ``func``. The
database is ``args.db`` (the global ``--db URL``), else $DWLAB_DB, else the user-data file.
Store errors reach the command line's one-line reporter (``dwlab.errors``); the store is
imported only when a command runs, so ``dwlab --help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from dwlab import computed
from dwlab.cli import open_store
from dwlab.errors import UsageError
from dwlab.listener import ListenerBase

MAX_RUN_ID = 2**31 - 1  # the run table's integer key (32 bits on PostgreSQL)


def register(subparsers) -> None:
    runs = subparsers.add_parser("runs", help="list, show, export or delete recorded runs")
    sub = runs.add_subparsers(dest="runs_command", required=True)

    p = sub.add_parser("list", help="one line per run, oldest first; LAB says real or simulated")
    p.add_argument("--procedure")
    p.add_argument("--sample")
    p.add_argument("--status", type=_status, help="running, finished, aborted, failed or "
                                                  "interrupted")
    p.add_argument("--since", type=_date, help="YYYY-MM-DD[THH:MM] local time")
    p.add_argument("--until", type=_date, help="YYYY-MM-DD[THH:MM] local time (a date: whole day)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="a run's metadata, events and point count")
    p.add_argument("run", type=run_id)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", help="write a run to CSV or Parquet, its metadata beside it "
                                      "as FILE.json (a.csv -> a.csv.json)")
    p.add_argument("run", type=run_id)
    p.add_argument("--format", choices=("csv", "parquet"), default=None,
                   help="default: from the file name's suffix")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="load an export back as a new run")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("recover", help="load a spill file (points the database did not take "
                       "during a run) into the store")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("delete", help="delete a run with its points, events and images "
                                      "(asks first)")
    p.add_argument("run", type=run_id)
    p.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (needed where there is no terminal to ask on)")
    p.set_defaults(func=cmd_delete)

    p = subparsers.add_parser("replay", help="replay a recorded run, printing its points")
    p.add_argument("run", type=run_id)
    p.add_argument("--speed", type=_speed, default=1.0,
                   help="N times real time, or 'max' (default 1)")
    p.set_defaults(func=cmd_replay)


def cmd_list(args) -> int:
    runs = open_store(args).list_runs(args.procedure, args.sample, args.status, args.since,
                                      args.until)
    rows = [("ID", "PROCEDURE", "SAMPLE", "LAB", "STATUS", "START", "POINTS")]
    rows += [
        (str(r.id), r.procedure, r.sample, computed.lab(r.procedure, r.simulated), r.status,
         r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), str(r.n_points))
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_show(args) -> int:
    store = open_store(args)
    meta = store.get_run(args.run).metadata()
    meta["events"] = [
        {"t": round(t, 6), "kind": kind, "message": message}
        for t, kind, message in store.events(args.run)
    ]
    print(json.dumps(meta, indent=2, ensure_ascii=False, default=str))
    return 0


def cmd_export(args) -> int:
    from dwlab.db.export import check_targets, export_run

    fmt = args.format or args.output.suffix.lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"runs export: format {fmt!r} is not allowed: give --format csv or "
                         f"--format parquet, or -o FILE.csv / FILE.parquet")
    check_targets(args.output, overwrite=args.force)  # before the store is even opened
    written = export_run(open_store(args), args.run, args.output, fmt, overwrite=args.force)
    print(f"run {args.run} -> " + ", ".join(str(p) for p in written))
    return 0


def cmd_import(args) -> int:
    from dwlab.db.export import import_run

    print(f"{args.file} -> run {import_run(open_store(args), args.file)}")
    return 0


def cmd_recover(args) -> int:
    from dwlab.db.spill import recover

    r = recover(open_store(args), args.file)
    torn = " (its last record was cut short when the writer died)" if r.torn else ""
    images = f", {r.images} images" if r.images else ""
    print(f"run {r.run_id}: {r.points} points{images} and {r.events} events recovered from "
          f"{args.file}{torn}; the run is {r.status}")
    return 0


def cmd_delete(args) -> int:
    store = open_store(args)
    record = store.get_run(args.run)
    if not args.yes:
        what = (f"run {record.id} ({record.procedure} on {record.sample or '-'}, "
                f"{record.n_points} points, {record.status})")
        if not sys.stdin.isatty():
            raise UsageError(f"runs delete: not deleting {what} without confirmation: no "
                             f"terminal to ask on; add --yes to delete it")
        answer = input(f"delete {what} from {store.url}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing deleted.")
            return 1
    store.delete_run(args.run)
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


def cmd_replay(args) -> int:
    from dwlab.db.replay import replay

    replay(open_store(args), args.run, [PrintListener()], speed=args.speed)
    return 0


def run_id(text: str) -> int:
    """A run id as typed: a whole number from 1 to the largest id the store can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"run id must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_RUN_ID:
        raise argparse.ArgumentTypeError(f"run id must be from 1 to {MAX_RUN_ID}, got {text}")
    return value


def _status(text: str) -> str:
    from dwlab.db.models import RUN_STATUSES

    if text not in RUN_STATUSES:
        raise argparse.ArgumentTypeError(f"status {text!r} is not one of "
                                         f"{', '.join(RUN_STATUSES)}")
    return text


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
