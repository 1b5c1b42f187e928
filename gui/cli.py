"""``dwlab gui``: the operator console over a lab (``--setup FILE|sim``, required) and the run
database (``--db`` or the default)."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    from dwlab.cli import add_setup_option

    gui = subparsers.add_parser("gui", help="the operator console (PyQt6)")
    add_setup_option(gui)
    gui.add_argument("--operator", default="", help="your name, recorded with each run")
    gui.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from dwlab.cli import require_setup

    require_setup(args, "gui")
    from PyQt6.QtWidgets import QApplication

    from dwlab.db.store import RunStore, StoreError
    from dwlab.gui.main_window import MainWindow
    from dwlab.lab import Lab
    from dwlab.setup import SetupError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        store = RunStore(args.db)
    except StoreError as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        return 2
    try:
        lab = Lab.open(args.setup, preset=args.preset)
    except (SetupError, OSError) as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        store.close()
        return 2
    with store, lab:  # leaving the lab makes it safe (source off, fields to zero) and closes it
        window = MainWindow(lab, store, operator=args.operator)
        window.show()
        return app.exec()
