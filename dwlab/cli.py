"""The ``dwlab`` command line: thin over the same Lab, Runner and RunStore a script uses."""

from __future__ import annotations

import argparse
import logging
import sys

from dwlab.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dwlab", description="Measure domain-wall neuron devices, on hardware or the "
        "simulated lab (--setup sim).")
    parser.add_argument("--version", action="version", version=f"dwlab {__version__}")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="database URL (default: $DWLAB_DB, else a SQLite file in your "
                             "user data directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="connect to every instrument and print its identity")
    check.add_argument("--setup", default="sim", metavar="FILE|sim",
                       help="setup file (default: the simulated lab)")
    check.add_argument("--preset", default=None, metavar="NAME",
                       help="simulated device (with --setup sim); default: the setup's [sim]")
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


def _optional_registrars():
    """Subcommand groups that live beside their code (runs/replay, procedures, GUI)."""
    from importlib import import_module

    for module in ("dwlab.cli_runs", "dwlab.cli_procedures", "dwlab.gui.cli"):
        try:
            yield import_module(module).register
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def cmd_check(args) -> int:
    from dwlab.lab import probe_setup, with_preset
    from dwlab.setup import SetupError, load_setup

    try:
        setup = load_setup(args.setup)
        if args.preset is not None:
            setup = with_preset(setup, args.preset)
    except SetupError as exc:
        print(f"dwlab check: {exc}", file=sys.stderr)
        return 2
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
    from dwlab.instruments.sim.server import SimServer
    from dwlab.setup import SIM_SETUP

    lab = SimLab(preset=args.preset, seed=args.seed, clock=RealClock(args.speed))
    responders = lab.responders()
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
            text = text.replace('driver = "sim"\npixel_um',  # no SCPI camera to serve
                                'driver = "none"  # the simulated camera is in-process only'
                                '\npixel_um')
            with open(args.write_setup, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"setup file written: {args.write_setup}")
        print("Ctrl-C to stop.", flush=True)
        try:
            while True:
                lab.clock.sleep(3600)
        except KeyboardInterrupt:
            print("stopped.")
    return 0


def _point_role_at(setup_text: str, role: str, resource: str) -> str:
    """Replace the ``resource = "sim"`` line of one instrument's table."""
    head = f"[instruments.{role}]"
    start = setup_text.index(head)
    line_start = setup_text.index('resource = "sim"', start)
    return (setup_text[:line_start] + f'resource = "{resource}"'
            + setup_text[line_start + len('resource = "sim"'):])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
