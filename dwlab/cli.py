"""The ``dwlab`` command line: thin over the same Lab, Runner and RunStore a script uses.

Every error a user can cause ends as one line on stderr and exit status 2 (bad input) or 1
(failed work); ``-v`` adds the traceback (see ``dwlab.errors``). ``--db URL`` and ``-v`` are
accepted before or after the command. Building the parser imports nothing heavy, so
``dwlab --help`` is quick: each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
import traceback
from pathlib import Path

from dwlab.errors import EXIT_INTERRUPTED, UsageError, closest, exit_status, one_line
from dwlab.version import __version__

#: subcommand groups that live beside their code (runs/replay, procedures, GUI)
REGISTRARS = ("dwlab.cli_runs", "dwlab.cli_procedures", "dwlab.gui.cli", "dwlab.cli_nanosim",
              "dwlab.cli_snn")


class Parser(argparse.ArgumentParser):
    """No abbreviated options (``--cycle`` is not ``--cycles``), and a mistake raises
    ``UsageError`` (one line, exit status 2) instead of printing usage and exiting."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    #: what an unknown ``--flag`` is called in ``refuse_unknown``'s message
    FLAG_WORD = "option"

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def refuse_unknown(self, tokens: list[str]):
        """Raise one line for the first of ``tokens`` this parser does not take: an unknown
        flag with the closest of its own (or, when none is close, all of them), else the
        stray argument."""
        flags = sorted({opt for action in self._actions for opt in action.option_strings
                        if opt.startswith("--") and opt != "--help"})
        for token in tokens:
            name = token.split("=")[0]
            if name.startswith("-") and name != "-":
                close = closest(name.lstrip("-"), [flag.lstrip("-") for flag in flags])
                hint = (f"; did you mean --{close}?" if close else
                        f"; its {self.FLAG_WORD}s are {', '.join(flags)}" if flags else
                        f"; it takes no {self.FLAG_WORD}s")
                raise UsageError(f"{self.prog}: unknown {self.FLAG_WORD} {name}{hint} "
                                 f"(see {self.prog} --help; no abbreviations)")
        raise UsageError(f"{self.prog}: unexpected argument(s) {' '.join(tokens)} "
                         f"(see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="dwlab", description="Measure domain-wall neuron devices, on hardware or the "
        "simulated lab (--setup sim).")
    parser.add_argument("--version", action="version", version=f"dwlab {__version__}")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="database URL, before or after the command (default: $DWLAB_DB, "
                             "else a SQLite file in your user data directory)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log what happens; show the traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="connect to every instrument and the camera and "
                                         "print their identities")
    add_setup_option(check)
    check.set_defaults(func=cmd_check)

    sim = sub.add_parser("sim", help="the simulated lab")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    serve = sim_sub.add_parser("serve", help="serve the simulated instruments on 127.0.0.1 "
                                             "for real VISA clients")
    serve.add_argument("--preset", default="sot-neuron", help="device preset (default sot-neuron)")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--port", type=int, default=0, metavar="BASE",
                       help="first port (one per instrument, consecutive); default: free ports")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="simulated seconds per wall second (default 1)")
    serve.add_argument("--write-setup", metavar="FILE",
                       help="also write a setup file that points at the served instruments")
    serve.set_defaults(func=cmd_sim_serve)
    sim.set_defaults(func=lambda args: sim.print_help() or 2)

    for register in _optional_registrars():
        register(sub)
    return parser


def command_parser(parser: argparse.ArgumentParser, args) -> Parser:
    """The parser of the (sub)command ``args`` was parsed for, e.g. that of ``runs list``."""
    while True:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = getattr(args, actions[0].dest, None) if actions else None
        if chosen is None or chosen not in actions[0].choices:
            return parser
        parser = actions[0].choices[chosen]


def add_setup_option(parser: argparse.ArgumentParser) -> None:
    """``--setup FILE|sim``, required: real and simulated runs must never be mixed up."""
    parser.add_argument("--setup", default=None, metavar="FILE|sim",
                        help="the lab's setup file, or 'sim' for the simulated lab (required)")
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help="simulated device: sot-neuron, spike-neuron, field-neuron, "
                             "rv-1504, rv-1220, rv-885, rv-645 (default: the setup's [sim])")


def require_setup(args, command: str) -> str:
    if not getattr(args, "setup", None):
        raise UsageError(f"dwlab {command}: --setup is required: a setup file for your stage, "
                         f"or --setup sim for the simulated lab")
    return args.setup


def open_store(args):
    """The run database of ``--db`` (else $DWLAB_DB, else the default file); one that
    cannot be opened (not a database, a folder that does not exist) is bad input."""
    from dwlab.db.store import RunStore, StoreError

    try:
        return RunStore(args.db)
    except StoreError as exc:
        raise UsageError(one_line(exc)) from exc


def _optional_registrars():
    from importlib import import_module

    for module in REGISTRARS:
        try:
            yield import_module(module).register
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def cmd_check(args) -> int:
    from dwlab.lab import probe_setup, with_preset
    from dwlab.setup import load_setup

    setup = load_setup(require_setup(args, "check"))
    if args.preset is not None:
        setup = with_preset(setup, args.preset)
    print(f"setup: {setup.path}  ({setup.name})")
    failures = 0
    for role, (resource, identity, ok) in probe_setup(setup).items():
        failures += not ok
        mark = "ok  " if ok else "FAIL"
        print(f"  {mark} {role:13s} {resource:40s} {identity}")
    return 1 if failures else 0


def cmd_sim_serve(args) -> int:
    from dwlab.clock import RealClock
    from dwlab.instruments.sim.lab import SimLab
    from dwlab.instruments.sim.presets import PRESETS
    from dwlab.instruments.sim.server import SimServer
    from dwlab.procedures.runner import catch_stop_signals
    from dwlab.setup import SIM_SETUP

    if args.preset not in PRESETS:
        raise UsageError(f"dwlab sim serve: --preset {args.preset!r} is not allowed; presets are "
                         f"{', '.join(PRESETS)}")
    if args.seed < 0:
        raise UsageError(f"dwlab sim serve: --seed {args.seed} is not allowed; a seed is a "
                         f"whole number >= 0")
    if not (math.isfinite(args.speed) and args.speed > 0):
        raise UsageError(f"dwlab sim serve: --speed {args.speed:g} is not allowed; give a finite "
                         f"number > 0 (simulated seconds per wall second)")
    if args.write_setup and not Path(args.write_setup).parent.is_dir():
        raise UsageError(f"dwlab sim serve: --write-setup {args.write_setup}: the folder "
                         f"{Path(args.write_setup).parent} does not exist")
    lab = SimLab(preset=args.preset, seed=args.seed, clock=RealClock(args.speed))
    responders = lab.responders()
    if args.port and not 1 <= args.port <= 65536 - len(responders):
        raise UsageError(f"dwlab sim serve: --port {args.port} is not allowed; give 0 (free ports) "
                         f"or a first port from 1 to {65536 - len(responders)} "
                         f"(one port per instrument, {len(responders)} consecutive)")
    ports = {name: args.port + i for i, name in enumerate(responders)} if args.port else None
    with SimServer(responders, ports=ports) as server:
        resources = server.resources()
        print(f"simulated lab '{args.preset}' (seed {args.seed}, {args.speed:g}x real time) "
              f"serving on 127.0.0.1:")
        for name, resource in resources.items():
            print(f"  {name:13s} {resource}")
        if args.write_setup:
            text = SIM_SETUP.read_text()
            for name, resource in resources.items():
                text = _point_role_at(text, name, resource)
            text = re.sub(r'^clock = "virtual".*$',  # the client's waits run at the lab's speed
                          f'clock = "real"\nspeed = {args.speed!r}\n'
                          f'served = true  # simulated instruments: runs are marked simulated',
                          text, flags=re.M)
            text = _served_device(text, args.preset)
            text = text.replace('driver = "sim"\npixel_um',  # no SCPI camera to serve
                                'driver = "none"  # the simulated camera is in-process only'
                                '\npixel_um')
            with open(args.write_setup, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"setup file written: {args.write_setup}")
        signals: list[str] = []  # SIGINT, SIGTERM or SIGHUP: stop serving, close the ports
        with catch_stop_signals(signals.append):
            print("Ctrl-C to stop.", flush=True)
            while not signals:
                time.sleep(0.2)  # a signal ends the sleep at once
        print(f"stopped ({signals[0]}).", flush=True)
    return 0


def _served_device(setup_text: str, preset: str) -> str:
    """The setup text with ``[sim] preset`` and the ``[device]`` table of the served preset,
    so a client's limits, energies and geometry are the served bar's."""
    from dwlab.instruments.sim.presets import device_table

    table = "".join(f"{key} = {value!r}\n".replace("'", '"')
                    for key, value in device_table(preset).items())
    text = re.sub(r"^\[device\][^\n]*\n(?:(?!\[)[^\n]*\n)*", f"[device]\n{table}\n",
                  setup_text, count=1, flags=re.M)
    return re.sub(r'^preset = "[^"]*"', f'preset = "{preset}"', text, count=1, flags=re.M)


def _point_role_at(setup_text: str, role: str, resource: str) -> str:
    """Replace the ``resource = "sim"`` line of one instrument's table."""
    head = f"[instruments.{role}]"
    start = setup_text.index(head)
    line_start = setup_text.index('resource = "sim"', start)
    return (setup_text[:line_start] + f'resource = "{resource}"'
            + setup_text[line_start + len('resource = "sim"'):])


def split_global_options(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    """(``--db`` URL, ``-v``, the rest): both global options may stand anywhere on the line,
    before or after the command (up to a ``--``)."""
    db, verbose, rest = None, False, []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest.append(token)
            rest.extend(tokens)
            break
        if token in ("-v", "--verbose"):
            verbose = True
        elif token == "--db" or token.startswith("--db="):
            value = token[5:] if token.startswith("--db=") else next(tokens, None)
            if not value or value.startswith("-"):
                raise UsageError("dwlab: --db needs a database URL, e.g. "
                                 "--db sqlite:///runs.sqlite or --db postgresql://host/dwlab")
            if db is not None and value != db:
                raise UsageError(f"dwlab: --db given twice ({db!r} and {value!r}); give one")
            db = value
        else:
            rest.append(token)
    return db, verbose, rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "-v" in argv or "--verbose" in argv
    try:
        db, verbose, rest = split_global_options(argv)
        parser = build_parser()
        args, extra = parser.parse_known_args(rest)
        if extra and args.command != "run":
            command_parser(parser, args).refuse_unknown(extra)
        args.db, args.verbose, args.extra = db, verbose, extra
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return args.func(args) or 0
    except KeyboardInterrupt:
        if verbose:
            traceback.print_exc()
        print("dwlab: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        status = exit_status(exc)
        if status is None:
            raise  # a bug: its traceback is what a report needs
        if verbose:
            traceback.print_exc()
        message = one_line(exc)
        print(message if message.startswith("dwlab") else f"dwlab: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
