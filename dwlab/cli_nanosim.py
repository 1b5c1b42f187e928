"""``dwlab nanosim scan|lif``: the nanoscale wall model's experiments, stored as runs."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from dwlab.errors import Failure, UsageError

HEX_SCAN_OE = ",".join(str(h) for h in range(0, 2001, 100))


def _number(low: float, high: float, unit: str):
    """An argparse type: a finite number in [low, high], with a one-line message otherwise."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside [{low:g}, {high:g}] {unit}")
        return value
    return parse


def _field_list(text: str) -> list[float]:
    parse = _number(0.0, 20000.0, "Oe")
    values = [parse(v) for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} holds no field")
    return values


def register(subparsers) -> None:
    nano = subparsers.add_parser(
        "nanosim", help="the nanoscale wall model (paper section 2): H_ex scan, LIF sequence")
    sub = nano.add_subparsers(dest="nanosim_command", metavar="SUBCOMMAND")
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--T-K", type=_number(0, 1000, "K"), default=0.0,
                        help="temperature in K (default 0; 300 adds the thermal field)")
    common.add_argument("--J-1e11-A-m2", type=_number(0, 100, "1e11 A/m^2"), default=7.0,
                        help="write current density in 1e11 A/m^2 (default 7, the paper's)")
    common.add_argument("--dt-ps", type=_number(0.05, 5, "ps"), default=1.0,
                        help="integration step in ps (default 1)")
    common.add_argument("--write-mx3", metavar="DIR", type=Path,
                        help="write mumax3 scripts of the same experiment into DIR and stop")
    common.add_argument("--no-store", action="store_true", help="print, do not store a run")

    scan = sub.add_parser("scan", parents=[common], allow_abbrev=False,
                          help="H_ex scan (Fig 1d-f): integrate, then reset or not")
    scan.add_argument("--hex-list-Oe", type=_field_list, default=_field_list(HEX_SCAN_OE),
                      help="H_ex values in Oe, comma-separated (default 0,100,...,2000)")
    scan.add_argument("--seeds", type=int, default=None,
                      help="walls per field (default 1 at 0 K, 10 at T > 0)")
    scan.add_argument("--t-on-max-ns", type=_number(0.1, 1000, "ns"), default=10.0,
                      help="longest integrate pulse in ns (default 10)")
    scan.add_argument("--t-off-max-ns", type=_number(1, 100000, "ns"), default=500.0,
                      help="reset window in ns (default 500)")
    scan.set_defaults(func=cmd_scan)

    lif = sub.add_parser("lif", parents=[common], allow_abbrev=False,
                         help="LIF pulse sequence on a 384 nm ROI (Fig 1g)")
    lif.add_argument("--hex-Oe", type=_number(0, 20000, "Oe"), default=1500.0,
                     help="H_ex in Oe (default 1500; the paper does not state it)")
    lif.add_argument("--seed", type=int, default=0, help="thermal seed (T > 0)")
    lif.set_defaults(func=cmd_lif)
    nano.set_defaults(func=lambda args: nano.print_help() or 2)


def _require_numba() -> None:
    try:
        import numba  # noqa: F401
    except ModuleNotFoundError:
        raise Failure("dwlab nanosim: needs numba; install it with "
                      "pip install 'dwlab[nanosim]'") from None


def _store_run(args, name: str, columns: dict, parameters: dict, df, t_s) -> None:
    """Store the rows of ``df`` as a finished run; ``t_s`` is each row's time column."""
    if args.no_store:
        return
    import numpy as np

    from dwlab import api

    store = api.open_store(args.db)
    writer = store.begin_run(name, columns, parameters, procedure_version="1",
                             snapshot={"model": "tilted-wall (q, phi, chi)"})
    writer.append_rows(np.column_stack([t_s, df[list(columns)].to_numpy(dtype=float)]))
    writer.finish("finished")
    print(f"stored as run {writer.run_id}  ({name}; dwlab report {writer.run_id} draws it)")


def _print(summary: dict) -> None:
    for key, value in summary.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"    {key:32s} {shown}")


def cmd_scan(args) -> int:
    from dwlab import nanosim_runs
    from dwlab.nanosim import experiments, mumax
    from dwlab.nanosim.analysis import scan_result
    from dwlab.nanosim.parameters import Strip

    seeds = args.seeds if args.seeds is not None else (10 if args.T_K > 0 else 1)
    if not 1 <= seeds <= 1000:
        raise UsageError(f"dwlab nanosim scan: --seeds {seeds} is outside [1, 1000]")
    settings = experiments.ScanSettings(
        J=args.J_1e11_A_m2 * 1e11, T=args.T_K, seeds=seeds, dt=args.dt_ps * 1e-12,
        t_on_max=args.t_on_max_ns * 1e-9, t_off_max=args.t_off_max_ns * 1e-9)
    strip = Strip()
    if args.write_mx3:
        paths = mumax.write_scan(args.write_mx3, strip, args.hex_list_Oe, settings)
        print(f"wrote {len(paths)} mumax3 scripts into {args.write_mx3} "
              f"(run each with: mumax3 FILE.mx3)")
        return 0
    _require_numba()
    print(f"nanosim scan: {len(args.hex_list_Oe)} fields x {seeds} walls at {args.T_K:g} K ...",
          file=sys.stderr)
    df = experiments.hex_scan(strip, args.hex_list_Oe, settings)
    result = scan_result(df)
    print(result.table.round(3).to_string())
    _print(result.summary())
    _store_run(args, "nanosim-scan", experiments.SCAN_COLUMNS, nanosim_runs.record(strip, settings),
               df, t_s=range(len(df)))  # a table, not a time series: t is the row number
    return 0


def cmd_lif(args) -> int:
    from dwlab import nanosim_runs
    from dwlab.nanosim import experiments, mumax
    from dwlab.nanosim.parameters import Strip

    settings = experiments.LifSettings(
        H_ex_oe=args.hex_Oe, J=args.J_1e11_A_m2 * 1e11, T=args.T_K, seed=args.seed,
        dt=args.dt_ps * 1e-12)
    strip = Strip()
    if args.write_mx3:
        args.write_mx3.mkdir(parents=True, exist_ok=True)
        path = args.write_mx3 / f"lif_hex{args.hex_Oe:g}Oe_T{args.T_K:g}K.mx3"
        path.write_text(mumax.lif_script(strip, settings))
        print(f"wrote {path} (run it with: mumax3 {path.name})")
        return 0
    _require_numba()
    out = experiments.lif_sequence(strip, settings)
    result = nanosim_runs.lif_analysis(out.trace, settings)
    _print(result.summary())
    _store_run(args, "nanosim-lif", experiments.TRACE_COLUMNS, nanosim_runs.record(strip, settings),
               out.trace, t_s=out.trace["t_ns"].to_numpy() * 1e-9)
    return 0
