"""The fault matrix: every procedure x every role x every fault x early/middle/late, and the
Kerr camera (kerr-integrate) x every fault x early/middle/late.

A fault starts at a count of the messages (writes and reads) that the run sends to the faulted
role, counted in a clean run of the same procedure (race-free: no wall time involved). Whatever
the fault, the outcome is checked on the simulated instruments' own state, and against what the
store recorded:

- an instrument still driving (source on or not at 0 A, a coil current, a field beyond
  remanence + tolerance) is named in a SAFETY failure, and the run is recorded "failed";
- a fault of an instrument that the cleanup must ask (timeout, hung-but-writable,
  wrong-reply on the source, a magnet supply or a gaussmeter) is always a SAFETY failure
  naming that role: the cleanup cannot confirm, so it never says "safe";
- a lost link (reopened by the cleanup) and any fault of the voltmeter leave the instruments
  off and at zero with no SAFETY note: the cleanup does not cry wolf.
"""

import pytest

from dwlab.db.store import RunStore
from dwlab.instruments.sim.adapter import FAULTS, UNIT_FAULTS
from dwlab.procedures.registry import names

from .faults import ROLES, adapters, clean_run_counts, run, sim_state_problems

WHEN = {"early": 0.05, "middle": 0.5, "late": 0.95}
MUST_CONFIRM = ("source", "magnet_z", "magnet_x", "gaussmeter_z", "gaussmeter_x")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One run database per procedure (a fresh one per case costs more than the run)."""
    return {name: RunStore(f"sqlite:///{tmp_path_factory.mktemp(name)}/runs.sqlite")
            for name in names()}


@pytest.fixture(scope="module")
def message_counts(stores):
    """Per procedure and role: what a clean quick run sends before its cleanup."""
    return clean_run_counts(stores.__getitem__)


def test_every_fault_kind_is_in_the_matrix():
    assert set(FAULTS) == {"timeout", "disconnect", "hung-but-writable", "wrong-reply"}


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", names())
def test_fault_ends_safe_or_names_what_is_unconfirmed(name, role, fault, when, message_counts,
                                                      stores):
    sent = message_counts[name][role]
    if sent == 0 and when != "early":
        pytest.skip(f"{name} sends nothing to {role}: the fault starts at the cleanup, "
                    "as in the 'early' case")
    after = int(WHEN[when] * sent)

    def prepare(lab):
        adapters(lab)[role].inject_fault(fault, after_messages=after)

    lab, outcome, record = run(name, stores[name], prepare=prepare)
    case = f"{name}: {fault} on {role} after {after} of {sent} messages"

    assert (record.status, record.error) == (outcome.status, outcome.error), case
    unsafe = sim_state_problems(lab)
    safety = outcome.error.partition("SAFETY: ")[2] if outcome.error else ""
    for what in unsafe:  # every instrument still driving is named by the cleanup
        role_named = what.replace("field_", "gaussmeter_")
        assert outcome.status == "failed" and (what in safety or role_named in safety), \
            (case, unsafe, outcome.error)
    if fault in UNIT_FAULTS and role in MUST_CONFIRM:
        assert outcome.status == "failed" and f"{role}: " in safety, (case, outcome.error)
        assert "UNCONFIRMED" in safety
    else:
        assert unsafe == [], (case, outcome.error)
        assert not safety, (case, outcome.error)
    if sent and outcome.status != "finished":
        assert outcome.error, case


class FaultyCamera:
    """The Kerr camera with one of the matrix's faults from its ``after``-th frame on: it
    has no SCPI adapter, so the faults are those of a camera SDK: no frame (a timeout, or a
    frozen camera that still takes settings), a lost link, a frame of garbage."""

    def __init__(self, camera, fault: str, after: int):
        self.camera, self.fault, self.after = camera, fault, after
        self.frames = 0

    def __getattr__(self, name):
        return getattr(self.camera, name)

    def snap(self):
        self.frames += 1
        if self.frames <= self.after:
            return self.camera.snap()
        if self.fault == "disconnect":
            raise ConnectionError("camera: link lost")
        if self.fault == "wrong-reply":
            return self.camera.snap()[:3, :2] * 0 + 65535  # a torn, saturated frame
        raise TimeoutError(f"camera: no frame ({self.fault})")


@pytest.fixture(scope="module")
def camera_frames(stores):
    """Frames a clean quick kerr-integrate run takes."""
    cameras = []

    def count(lab):
        cameras.append(FaultyCamera(lab.kerr.camera, "none", after=10**9))
        lab.kerr.camera = cameras[0]

    run("kerr-integrate", stores["kerr-integrate"], prepare=count)
    return cameras[0].frames


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("fault", FAULTS)
def test_camera_fault_in_kerr_integrate_ends_safe(fault, when, camera_frames, stores):
    name = "kerr-integrate"
    after = int(WHEN[when] * camera_frames)

    def prepare(lab):
        lab.kerr.camera = FaultyCamera(lab.kerr.camera, fault, after)

    lab, outcome, record = run(name, stores[name], prepare=prepare)
    assert (record.status, record.error) == (outcome.status, outcome.error)
    assert outcome.status == "failed", (fault, when, outcome.error)
    assert sim_state_problems(lab) == []
    assert "SAFETY" not in outcome.error
