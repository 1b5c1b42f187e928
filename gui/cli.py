"""``dwlab gui``: the operator console over a lab (default: the simulated lab) and the run
database (``--db`` or the default)."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    gui = subparsers.add_parser("gui", help="the operator console (PyQt6)")
    gui.add_argument("--setup", default=None, metavar="FILE|sim",
                     help="setup file (default: the last one used, else the simulated lab)")
    gui.add_argument("--operator", default="", help="your name, recorded with each run")
    gui.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from PyQt6.QtWidgets import QApplication

    from dwlab.db.store import RunStore, StoreError
    from dwlab.gui.main_window import MainWindow
    from dwlab.gui.session import Session
    from dwlab.lab import Lab
    from dwlab.lab_lock import LabBusyError, hold
    from dwlab.setup import SetupError, load_setup

    app = QApplication.instance() or QApplication(sys.argv[:1])
    session = Session()
    setup_source = args.setup or session.value("setup", "sim")
    db = args.db or session.value("db") or None
    try:
        store = RunStore(db)
    except StoreError as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        return 2
    try:
        setup = load_setup(setup_source)
        lab_lock = hold(setup)  # noqa: F841 - this process owns the lab until it exits
        lab = Lab.open(setup)
    except (SetupError, OSError, LabBusyError) as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        store.close()
        return 2
    session.set_value("setup", str(setup_source))
    session.set_value("db", store.url if args.db else session.value("db"))
    with store, lab:  # leaving the lab makes it safe (source off, fields to zero) and closes it
        window = MainWindow(lab, store, operator=args.operator, session=session)
        window.show()
        return app.exec()
