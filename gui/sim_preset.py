"""The simulated device of an in-process simulated lab (``instruments/sim/presets.py``): which
presets there are, the lab's current one, and changing it, which is mounting another sample:
the lab is made safe and closed, and the same setup is opened again with the new preset on the
same clock (``Lab.open(preset=)``, as ``--preset`` does). A served simulated lab has its
device chosen by its server, and hardware has none: neither offers a preset.
"""

from __future__ import annotations

from dwlab.lab import Lab, with_preset


def preset_names() -> list[str]:
    from dwlab.instruments.sim.presets import PRESETS

    return list(PRESETS)


def current_preset(lab) -> str | None:
    """The lab's simulated device, or None when it has no in-process simulator."""
    in_process = lab.sim is not None and not lab.setup.sim.served
    return lab.setup.sim.preset if in_process else None


def reopen_with_preset(lab, preset: str) -> tuple[Lab, list[str]]:
    """(the lab opened again with device ``preset``, what leaving the old one left unconfirmed).
    Runs in the lab pool: it talks to the instruments."""
    if current_preset(lab) is None:
        raise ValueError(f"preset {preset!r}: this lab has no simulated device to choose")
    new = Lab(with_preset(lab.setup, preset), clock=lab.clock)
    problems = lab.make_safe()
    lab.close()
    return new, problems
