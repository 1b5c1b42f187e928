"""``dwlab gui``: the operator console over a lab (``--setup FILE|sim``; without it, the one
this user's last session used) and the run database (``--db``, else the last session's, else
the default). The lab's lock is held for the whole session: no ``dwlab run`` or ``batch`` can
drive the same instruments meanwhile."""

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
    from dwlab.gui.session import Session

    session = Session()
    args.setup = args.setup or session.value("setup") or None
    require_setup(args, "gui")
    from PyQt6.QtWidgets import QApplication

    from dwlab.db.store import RunStore, StoreError
    from dwlab.gui.main_window import MainWindow
    from dwlab.gui.sim_preset import preset_names
    from dwlab.lab import Lab
    from dwlab.lab_lock import LabBusyError, hold
    from dwlab.setup import SetupError, load_setup

    app = QApplication.instance() or QApplication(sys.argv[:1])
    db = args.db or session.value("db") or None
    try:
        store = RunStore(db)
    except StoreError as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        return 2
    try:
        setup = load_setup(args.setup)
        lab_lock = hold(setup)  # noqa: F841 - this process owns the lab until it exits
        remembered = session.value("preset") or None  # the device chosen in the last session
        if setup.sim.served or not setup.simulated or remembered not in preset_names():
            remembered = None
        lab = Lab.open(setup, preset=args.preset or remembered)
    except (SetupError, OSError) as exc:
        print(f"dwlab gui: {exc}", file=sys.stderr)
        store.close()
        return 2
    except LabBusyError:
        store.close()
        raise  # exit status 1, one line
    session.set_value("setup", str(args.setup))
    if db:
        session.set_value("db", db)
    with store:
        window = None
        try:
            window = MainWindow(lab, store, operator=args.operator, session=session)
            window.show()
            return app.exec()
        finally:  # leaving the lab (the device mounted last) makes it safe and closes it
            with window.lab if window is not None else lab:
                pass
