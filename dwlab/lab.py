"""The Lab: every instrument of a setup file, connected, with its limits and its clock.

One object that a procedure, the GUI, the command line and a script all use the same way,
whether the instruments are real (VISA resources), simulated in this process (``sim``), or
simulated in another process and reached over loopback TCP (``dwlab sim serve``). It knows the
safety limits and how to leave the stage safe: ``make_safe()`` turns the source off and ramps
both fields to zero, trying every step even when one fails, and reports what it could not do.

Each instrument is opened with the class its setup ``driver`` names in ``dwlab.drivers``, and
its ``*IDN?`` answer must be that driver's model: a Kepco where the setup says Lake Shore 643
is refused at once, naming both, instead of failing later with a VISA timeout. The camera is
opened only when a procedure first uses ``lab.kerr``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from dwlab import drivers
from dwlab.clock import Clock, RealClock, VirtualClock
from dwlab.errors import BadInput, Failure
from dwlab.setup import LabSetup, SetupError, load_setup

log = logging.getLogger(__name__)


class LimitError(BadInput, ValueError):
    """A request beyond the setup's safety limits, refused before any output."""


class InstrumentError(Failure, RuntimeError):
    """An instrument refused a command (its SCPI error queue was not empty)."""


class WrongInstrumentError(BadInput, InstrumentError):
    """The instrument at a resource is another model than the setup's driver expects."""


class UnconfirmedError(RuntimeError):
    """An instrument's own answer does not confirm the safe state asked of it."""



class Lab:
    """Connected instruments, field axes, camera, limits and clock of one setup."""

    def __init__(self, setup: LabSetup, clock: Clock | None = None, sim=None):
        from dwlab.instruments.field_axis import FieldAxis, FieldCalibration, FieldLimits

        self.setup = setup
        self.sim = sim
        if sim is None and setup.simulated:
            sim = self.sim = _make_sim(setup, clock)
        # a served simulated lab runs its clock at sim.speed: the client's waits must agree
        self.clock: Clock = sim.clock if sim is not None else (clock or RealClock(setup.sim.speed))
        self._identities: dict[str, str] = {}
        self.source = self._open("source")
        self.voltmeter = self._open("voltmeter")
        self.gaussmeter_z = self._open("gaussmeter_z")
        self.gaussmeter_x = self._open("gaussmeter_x")
        self.supplies = {axis: self._open(f"magnet_{axis}") for axis in ("z", "x")}
        self.fields = {}
        for axis in ("z", "x"):
            cfg = setup.fields[axis]
            supply_cfg = setup.instruments[f"magnet_{axis}"]
            self.fields[axis] = FieldAxis(
                name=f"H{axis}",
                supply=_field_supply(supply_cfg.driver, self.supplies[axis]),
                gaussmeter=getattr(self, f"gaussmeter_{axis}"),
                calibration=FieldCalibration(cfg.oe_per_amp, cfg.remanence_Oe),
                limits=FieldLimits(cfg.max_field_Oe, cfg.max_ramp_rate_Oe_s,
                                   supply_cfg.max_current_A),
                clock=self.clock,
                tolerance_Oe=cfg.tolerance_Oe,
            )
        self._kerr = None

    # ---- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, setup: LabSetup | str | Path = "sim", clock: Clock | None = None,
             preset: str | None = None) -> "Lab":
        """Open a lab from a setup file path, ``"sim"``, or a loaded ``LabSetup``;
        ``preset`` names the simulated device instead of the setup's ``[sim] preset``."""
        if not isinstance(setup, LabSetup):
            setup = load_setup(setup)
        if preset is not None:
            setup = with_preset(setup, preset)
        return cls(setup, clock=clock)

    def _open(self, role: str):
        instrument, self._identities[role] = open_instrument(self.setup, role, self.sim,
                                                             self.clock)
        return instrument

    def reopen(self, role: str) -> None:
        """Reconnect one instrument after a lost link (a re-plugged cable, a reset socket)."""
        try:
            self._instruments()[role].adapter.close()
        except Exception:  # noqa: BLE001 - the old link is already broken
            pass
        new = self._open(role)
        if role.startswith("magnet_"):
            axis = role[-1]
            self.supplies[axis] = new
            self.fields[axis].supply = _field_supply(self.setup.instruments[role].driver, new)
        else:
            setattr(self, role, new)
            if role.startswith("gaussmeter_"):
                self.fields[role[-1]].gaussmeter = new

    @property
    def kerr(self):
        """The Kerr microscope (camera), opened at first use; None when the setup has none
        (``camera.driver = "none"``). Only procedures that image open it."""
        if self._kerr is None and self.setup.camera.driver != drivers.NO_CAMERA:
            self._kerr = open_kerr(self.setup, self.sim, self.clock)
        return self._kerr

    # ---- limits ------------------------------------------------------------------------
    @property
    def field_z(self):
        return self.fields["z"]

    @property
    def field_x(self):
        return self.fields["x"]

    def check_current(self, what: str, current_A: float) -> None:
        """Refuse a current beyond the limit, a density beyond the bar's limit, or one the bar
        cannot take within the compliance (the 6221 would clip it: not the pulse asked for)."""
        limits, device = self.setup.limits, self.setup.device
        if abs(current_A) * 1e3 > limits.max_current_mA:
            raise LimitError(f"{what} = {current_A * 1e3:g} mA exceeds the setup's limit "
                             f"max_current_mA = {limits.max_current_mA:g} mA")
        density = abs(device.current_density_A_m2(current_A)) / 1e11
        if density > limits.max_current_density_1e11_A_m2:
            raise LimitError(
                f"{what} = {current_A * 1e3:g} mA is {density:.3g}e11 A/m² in the "
                f"{device.width_um:g} µm x {device.metal_thickness_nm:g} nm bar, beyond the "
                f"setup's limit max_current_density_1e11_A_m2 = "
                f"{limits.max_current_density_1e11_A_m2:g}")
        needed_V = abs(current_A) * device.R_bar_ohm
        if needed_V > limits.compliance_V:
            raise LimitError(f"{what} = {current_A * 1e3:g} mA needs {needed_V:g} V across the "
                             f"{device.R_bar_ohm:g} Ω bar, beyond the setup's limit "
                             f"compliance_V = {limits.compliance_V:g} V")

    def check_field(self, axis: str, field_Oe: float) -> None:
        """Refuse a field beyond the axis's limit, or one whose supply current is beyond the
        supply's (FieldAxis checks again before it ramps)."""
        limit = self.setup.fields[axis].max_field_Oe
        if abs(field_Oe) > limit:
            raise LimitError(f"H{axis} = {field_Oe:g} Oe exceeds the setup's limit "
                             f"field.{axis}.max_field_Oe = {limit:g} Oe")
        try:
            self.fields[axis].check(field_Oe)
        except ValueError as exc:
            raise LimitError(f"H{axis} = {field_Oe:g} Oe: {exc}") from None

    # ---- safety ------------------------------------------------------------------------
    def make_safe(self) -> list[str]:
        """Source off, both fields ramped to zero, each confirmed from the instrument's answer.

        Every step is tried, whatever failed before it. A step that fails is retried once
        over a reopened link (a re-plugged cable, a reset socket). A step is done only when
        its instrument itself confirms the end state: the 6221 answers ``OUTP?`` 0 and
        ``SOUR:CURR?`` 0, each magnet supply reads its output current within the axis's zero
        band, each gaussmeter reads the field within remanence + tolerance of zero. Returns
        one line per role that could not confirm (a timeout, a lost link, a reply that is no
        number, a value off zero), naming the role and what is unconfirmed; [] means safe.
        """
        problems = []
        for role, what, step in self._safe_steps():
            try:
                step()
                continue
            except Exception as exc:  # noqa: BLE001 - keep going: the next step matters too
                first = f"{type(exc).__name__}: {exc}"
            log.warning("%s: %s failed (%s); reopening and trying again", role, what, first)
            try:
                self.reopen(role)
                step()
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{role}: {what} UNCONFIRMED ({first}; after reconnect: "
                                f"{type(exc).__name__}: {exc})")
        return problems

    def _safe_steps(self):
        """(role, what it must confirm, step) for ``make_safe``, in order: the source first,
        then the supplies (x, then z), then the gaussmeters read what they left."""
        steps = [("source", "output off at 0 A", self._source_off)]
        steps += [(f"magnet_{axis}", "output current at zero",
                   lambda axis=axis: self._supply_to_zero(axis)) for axis in ("x", "z")]
        steps += [(f"gaussmeter_{axis}", f"H{axis} at zero",
                   lambda axis=axis: self._field_at_zero(axis)) for axis in ("x", "z")]
        return steps

    def _source_off(self) -> None:
        source = self.source
        try:
            source.shutdown()  # abort, waveform abort, SOUR:CLE, OUTP OFF: each one tried
        finally:
            source.source_current = 0.0
        output, level = str(source.ask("OUTP?")).strip(), _number(source.ask("SOUR:CURR?"))
        if output != "0" or level != 0.0:
            raise UnconfirmedError(f"OUTP? answered {output!r}, SOUR:CURR? {level:g} A")

    def _supply_to_zero(self, axis: str) -> None:
        field = self.fields[axis]
        field.ramp_to_zero()  # waits for the coil current to decay, by the supply's reading
        current = _number(field.supply.measured_current)
        if abs(current) > field.zero_band_A:
            raise UnconfirmedError(f"output current {current:.4g} A, beyond the zero band "
                                   f"{field.zero_band_A:.2g} A")

    def _field_at_zero(self, axis: str) -> None:
        """The gaussmeter reads the field within remanence + tolerance of zero; the coil's
        last milliamps (within the supply's zero band) decay with L/R, so the reading may
        take up to the axis's settle time to get there."""
        cfg, field = self.setup.fields[axis], self.fields[axis]
        allowed = cfg.remanence_Oe + cfg.tolerance_Oe
        end = self.clock.now() + field.settle_s
        while abs(reading := _number(field.gaussmeter.field)) > allowed:
            if self.clock.now() >= end:
                raise UnconfirmedError(f"H{axis} reads {reading:.1f} Oe, beyond remanence + "
                                       f"tolerance {allowed:g} Oe of zero")
            self.clock.sleep(field.step_s)

    # ---- instrument errors ---------------------------------------------------------------
    def _scpi_instruments(self) -> dict[str, Any]:
        """The instruments with an SCPI error queue (``SYST:ERR?``)."""
        return {role: inst for role, inst in self._instruments().items()
                if drivers.DRIVERS[self.setup.instruments[role].driver].error_queue}

    def clear_errors(self) -> None:
        """Empty the SCPI error queues, so a run is blamed only for its own errors."""
        for inst in self._scpi_instruments().values():
            inst.write("*CLS")

    def check_errors(self) -> None:
        """Raise if any instrument refused a command since the queues were cleared.

        A refused command changes nothing on the instrument, so a run that sent one measured
        something else than it says; asking also proves every instrument still answers.
        """
        found = []
        for role, inst in self._scpi_instruments().items():
            for _ in range(32):  # the queue is bounded; never loop forever on a broken reply
                reply = str(inst.ask("SYST:ERR?")).strip()
                if reply.startswith(("0,", "+0,")):
                    break
                found.append(f"{role}: {reply}")
        if found:
            raise InstrumentError("instrument(s) refused commands: " + "; ".join(found))

    # ---- record ------------------------------------------------------------------------
    def identities(self) -> dict[str, str]:
        """Role -> the instrument's own identity string (``*IDN?``, asked when it was opened)."""
        return dict(self._identities)

    def probe(self) -> dict[str, tuple[str, str, bool]]:
        """Ask every instrument who it is: role -> (resource, identity or error, ok)."""
        report = {}
        for role, inst in self._instruments().items():
            resource = self.setup.instruments[role].resource
            try:
                report[role] = (resource, _identity(inst), True)
            except Exception as exc:  # noqa: BLE001 - report every instrument, then fail
                report[role] = (resource, f"{type(exc).__name__}: {exc}", False)
        return report

    def snapshot(self) -> dict[str, Any]:
        """What is recorded with every run: identities, calibrations, limits, sim state."""
        snap: dict[str, Any] = {
            "identities": self.identities(),
            "resources": {role: i.resource for role, i in self.setup.instruments.items()},
            "fields": {axis: vars(cfg) for axis, cfg in self.setup.fields.items()},
            "limits": vars(self.setup.limits),
            "device": vars(self.setup.device),
        }
        if self.sim is not None:
            snap["sim"] = {"preset": self.setup.sim.preset, "seed": self.setup.sim.seed,
                           "device_params": vars(self.sim.device.params)}
        return snap

    def _instruments(self) -> dict[str, Any]:
        return {"source": self.source, "voltmeter": self.voltmeter,
                "magnet_z": self.supplies["z"], "magnet_x": self.supplies["x"],
                "gaussmeter_z": self.gaussmeter_z, "gaussmeter_x": self.gaussmeter_x}

    def close(self) -> None:
        for inst in self._instruments().values():
            try:
                inst.adapter.close()
            except Exception:  # noqa: BLE001
                pass
        if self._kerr is not None:
            self._kerr.camera.close()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        problems = self.make_safe()
        self.close()
        for problem in problems:
            log.error("leaving the lab: %s", problem)


def open_instrument(setup: LabSetup, role: str, sim=None, clock: Clock | None = None):
    """(instrument, its ``*IDN?``): one instrument of a setup, opened with its driver's class,
    proven to answer (a socket connects only at its first message), proven to be the model
    its driver expects, and configured as the lab needs it.

    A failure names the role and the resource, whatever the VISA layer raised.
    """
    cfg = setup.instruments[role]
    row = drivers.DRIVERS[cfg.driver]
    axis = setup.fields[role[-1]] if row.interface == "supply" else None
    try:
        if cfg.simulated:
            from dwlab.instruments.sim.adapter import SimAdapter

            adapter = SimAdapter(sim.responders()[role])
        else:
            adapter = cfg.resource
        kwargs = {}
        if cfg.resource.upper().endswith("::SOCKET"):
            # raw sockets have no message framing: both directions need "\n" (instruments.md)
            kwargs = {"read_termination": "\n", "write_termination": "\n"}
        if cfg.driver == "kepco_bop":  # no ramp of its own: the driver ramps, within limits
            kwargs.update(max_current_A=cfg.max_current_A, max_voltage_V=cfg.max_voltage_V,
                          ramp_rate_A_s=axis.max_ramp_rate_Oe_s / axis.oe_per_amp, clock=clock)
        if row.interface == "source":  # its 2182A pass-through polls on the lab's clock
            kwargs["clock"] = clock
        instrument = row.load()(adapter, **kwargs)
        identity = _identity(instrument)
    except Exception as exc:  # noqa: BLE001 - VISA layers raise anything; say where it was
        raise InstrumentError(f"{role}: cannot open {cfg.resource}: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not row.matches(identity):
        found = drivers.identify(identity)
        try:
            instrument.adapter.close()
        except Exception:  # noqa: BLE001 - it is the wrong instrument; the error says so
            pass
        raise WrongInstrumentError(
            f"{role}: the setup's driver is {cfg.driver!r} but the instrument at "
            f"{cfg.resource} answers {identity!r}"
            + (f" (a {found.name})" if found else "")
            + f"; set instruments.{role}.driver to match the instrument, or check the resource")
    try:
        if row.configure is not None:
            row.configure(instrument, cfg, axis)
    except Exception as exc:  # noqa: BLE001
        raise InstrumentError(f"{role}: cannot configure {cfg.resource}: "
                              f"{type(exc).__name__}: {exc}") from exc
    return instrument, identity


def open_kerr(setup: LabSetup, sim, clock: Clock):
    """The setup's camera as a KerrMicroscope (its driver row says which class)."""
    from dwlab.instruments.kerr import KerrMicroscope

    camera_cfg = setup.camera
    if camera_cfg.driver == "sim":
        if sim is None:
            raise SetupError("camera.driver = 'sim' needs the simulated lab (resources 'sim'); "
                             "give your camera's driver, or 'none'")
        camera = drivers.DRIVERS["sim"].load()(sim, pixel_um=camera_cfg.pixel_um)
        return KerrMicroscope(camera, clock, pixel_um=camera.pixel_um,
                              bar_rows=camera.bar_rows, x0_um=camera.x0_um)
    from dwlab.instruments.camera_pylablib import open_camera

    camera = open_camera(camera_cfg.driver, **camera_cfg.options)
    return KerrMicroscope(camera, clock, pixel_um=camera_cfg.pixel_um, x0_um=camera_cfg.x0_um)


def probe_setup(setup: LabSetup) -> dict[str, tuple[str, str, bool]]:
    """Open each instrument on its own and ask who it is: role -> (resource, identity or
    error, ok). Nothing is output; one unreachable instrument does not hide the others."""
    sim = _make_sim(setup, None) if setup.simulated else None
    clock = sim.clock if sim is not None else RealClock(setup.sim.speed)
    report = {}
    for role, cfg in setup.instruments.items():
        try:
            instrument, identity = open_instrument(setup, role, sim, clock)
            report[role] = (cfg.resource, identity, True)
            instrument.adapter.close()
        except WrongInstrumentError as exc:
            report[role] = (cfg.resource, str(exc).split(": ", 1)[1], False)
        except Exception as exc:  # noqa: BLE001 - report every instrument, then fail
            cause = exc.__cause__ or exc  # the role and resource are in the report already
            report[role] = (cfg.resource, f"{type(cause).__name__}: {cause}", False)
    if setup.camera.driver != drivers.NO_CAMERA:
        where = f"camera:{setup.camera.driver}"
        try:
            kerr = open_kerr(setup, sim, clock)
            report["camera"] = (where, f"{type(kerr.camera).__name__}, frames "
                                       f"{'x'.join(map(str, kerr.camera.shape))}", True)
            kerr.camera.close()
        except Exception as exc:  # noqa: BLE001
            report["camera"] = (where, f"{type(exc).__name__}: {exc}", False)
    return report


def with_preset(setup: LabSetup, preset: str) -> LabSetup:
    """A simulated setup with device ``preset``: its ``[sim] preset`` and a ``[device]`` table
    describing that bar (so limits, energy and the recorded geometry are the simulated bar's).

    Raises SetupError for an unknown preset or a setup whose instruments are not simulated.
    """
    from dwlab.instruments.sim.presets import PRESETS, device_table
    from dwlab.setup import parse_setup

    if preset not in PRESETS:
        raise SetupError(f"--preset {preset!r} is not a simulated device; known presets are "
                         f"{', '.join(PRESETS)}")
    if not setup.simulated:
        raise SetupError(f"--preset {preset!r}: setup {setup.path} has no simulated instrument; "
                         "a preset chooses the simulated device (use --setup sim)")
    raw = {**setup.raw, "sim": {**setup.raw.get("sim", {}), "preset": preset},
           "device": device_table(preset)}
    return parse_setup(raw, f"{setup.path} with preset {preset}")
def _number(reply) -> float:
    """A finite number from an instrument's reply, else UnconfirmedError quoting the reply."""
    try:
        value = float(str(reply).strip())
    except ValueError:
        raise UnconfirmedError(f"reply {reply!r} is not a number") from None
    if not math.isfinite(value):
        raise UnconfirmedError(f"reply {reply!r} is not a finite number")
    return value


def _identity(instrument) -> str:
    """``*IDN?``: SCPI and Lake Shore instruments all answer it."""
    return str(instrument.ask("*IDN?")).strip()


def _make_sim(setup: LabSetup, clock: Clock | None):
    from dwlab.instruments.sim.lab import SimLab

    if clock is None:
        clock = VirtualClock() if setup.sim.clock == "virtual" else RealClock(setup.sim.speed)
    return SimLab(preset=setup.sim.preset, seed=setup.sim.seed, clock=clock)


def _field_supply(driver: str, instrument):
    """The FieldAxis adapter over a magnet supply (its driver row names the class)."""
    from dwlab.instruments import field_axis

    return getattr(field_axis, drivers.DRIVERS[driver].field_supply)(instrument)
