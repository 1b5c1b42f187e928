"""The lab setup file: which instrument is where, magnet calibrations, and safety limits.

A setup file is TOML. Every key is checked: a misspelt key, a missing required key or a value
out of its range is refused with a message that names the file, the key and the problem, so a
typo in ``max_current_mA`` can never silently leave a limit at its default. ``load_setup("sim")``
gives the built-in simulated lab (``sim_setup.toml`` beside this module), which is also the
annotated example to copy for a real stage. Every number must be finite, and every constraint
that opening the lab or a run relies on is checked here, so ``dwlab check`` refuses what a run
would trip over. Each instrument's ``driver`` is checked against ``dwlab.drivers.DRIVERS``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from dwlab import drivers
from dwlab.errors import BadInput

SIM_SETUP = Path(__file__).with_name("sim_setup.toml")
SIM_RESOURCE = "sim"
INSTRUMENT_ROLES = tuple(drivers.ROLE_INTERFACE)
MAX_OPTION_DEPTH = 3  # camera.options: a table of values, lists, and tables of those at most

#: [device] key -> (smallest, largest) physical value: a bar is not 1e-320 µm wide
DEVICE_RANGES = {
    "width_um": (0.01, 1e4),
    "length_um": (0.01, 1e5),
    "metal_thickness_nm": (0.1, 1e4),
    "R_bar_ohm": (1e-3, 1e9),
    "x_notch_um": (0.0, 1e5),
    "hall_bar_um": (0.01, 1e5),
}


class SetupError(BadInput, ValueError):
    """A setup file that cannot be used; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class InstrumentSetup:
    """Where one instrument is: a VISA resource string, or ``sim`` for the simulated lab."""

    resource: str
    driver: str = ""
    max_current_A: float = 0.0  # supplies only: the supply's own output limit
    max_voltage_V: float = 0.0

    @property
    def simulated(self) -> bool:
        return self.resource == SIM_RESOURCE


@dataclass(frozen=True)
class CameraSetup:
    driver: str = "none"
    pixel_um: float = 1.0
    x0_um: float = 0.0  # where the image's first pixel edge lies along the bar (the A/B junction = 0)
    options: dict[str, Any] = field(default_factory=dict)  # passed to the camera backend


@dataclass(frozen=True)
class FieldAxisSetup:
    """Calibration and limits of one electromagnet axis (Oe <-> A)."""

    oe_per_amp: float
    max_field_Oe: float
    max_ramp_rate_Oe_s: float
    remanence_Oe: float = 0.0
    tolerance_Oe: float = 5.0


@dataclass(frozen=True)
class DeviceSetup:
    """The sample on the stage: what the current-density limit and the energy need."""

    name: str = "device"
    width_um: float = 5.0
    length_um: float = 150.0
    metal_thickness_nm: float = 10.0
    R_bar_ohm: float = 500.0
    x_notch_um: float = 20.0
    hall_bar_um: float = 88.5

    def current_density_A_m2(self, current_A: float) -> float:
        return current_A / (self.width_um * 1e-6 * self.metal_thickness_nm * 1e-9)

    def current_for_density(self, density_A_m2: float) -> float:
        return density_A_m2 * self.width_um * 1e-6 * self.metal_thickness_nm * 1e-9


@dataclass(frozen=True)
class Limits:
    """Safety limits checked before any output."""

    max_current_mA: float
    max_current_density_1e11_A_m2: float
    compliance_V: float


@dataclass(frozen=True)
class SimSetup:
    preset: str = "sot-neuron"
    seed: int = 0
    clock: str = "virtual"  # "virtual" (tests, scripts) or "real" (served to real clients)
    speed: float = 1.0  # lab seconds per wall second of the real clock (`dwlab sim serve --speed`)
    served: bool = False  # the instruments are `dwlab sim serve`'s: simulated, reached over TCP


@dataclass(frozen=True)
class LabSetup:
    name: str
    instruments: dict[str, InstrumentSetup]
    fields: dict[str, FieldAxisSetup]
    device: DeviceSetup
    limits: Limits
    camera: CameraSetup
    sim: SimSetup
    path: str = ""
    raw: dict[str, Any] = field(default_factory=dict)  # the file as read, stored with every run

    @property
    def simulated(self) -> bool:
        """In-process simulators, or a served simulated lab: never stored as real data."""
        return self.sim.served or any(inst.simulated for inst in self.instruments.values())


def load_setup(source: str | Path) -> LabSetup:
    """Read and check a setup file; ``"sim"`` gives the built-in simulated lab."""
    path = SIM_SETUP if str(source) == SIM_RESOURCE else Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"setup file {path} does not exist (give a setup file, or 'sim' for "
                         f"the simulated lab)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"setup file {path} cannot be read: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"setup file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise SetupError(f"setup file {path}: tables or lists nested too deeply") from None
    return parse_setup(raw, str(path))


def parse_setup(raw: dict[str, Any], origin: str = "<setup>") -> LabSetup:
    reader = _Reader(origin)
    reader.only_keys(raw, "", ("lab", "instruments", "field", "device", "limits", "camera", "sim"))
    lab = reader.table(raw, "lab")
    reader.only_keys(lab, "lab", ("name",))
    instruments_raw = reader.table(raw, "instruments", required=True)
    reader.only_keys(instruments_raw, "instruments", INSTRUMENT_ROLES)
    instruments = {}
    for role, interface in drivers.ROLE_INTERFACE.items():
        entry = reader.table(instruments_raw, role, required=True, prefix="instruments")
        inst = reader.build(InstrumentSetup, entry, f"instruments.{role}")
        if not inst.driver:
            reader.check(role in drivers.DEFAULT_DRIVER, f"instruments.{role}.driver", "",
                         f"given: one of {', '.join(drivers.names(interface))}")
            inst = InstrumentSetup(**{**vars(inst), "driver": drivers.DEFAULT_DRIVER[role]})
        reader.check(inst.driver in drivers.names(interface), f"instruments.{role}.driver",
                     inst.driver, f"one of {', '.join(drivers.names(interface))} (a {interface})")
        reader.check(bool(inst.resource.strip()), f"instruments.{role}.resource", inst.resource,
                     "a VISA resource string or \"sim\"")
        if interface == "supply":
            reader.check(inst.max_current_A > 0, f"instruments.{role}.max_current_A",
                         inst.max_current_A, "> 0 A (the supply's output limit)")
            reader.check(inst.max_voltage_V > 0, f"instruments.{role}.max_voltage_V",
                         inst.max_voltage_V, "> 0 V (the supply's voltage limit)")
        instruments[role] = inst
    field_raw = reader.table(raw, "field", required=True)
    reader.only_keys(field_raw, "field", ("z", "x"))
    axes = {}
    for axis in ("z", "x"):
        entry = reader.table(field_raw, axis, required=True, prefix="field")
        ax = reader.build(FieldAxisSetup, entry, f"field.{axis}")
        for name in ("oe_per_amp", "max_field_Oe", "max_ramp_rate_Oe_s", "tolerance_Oe"):
            reader.check(getattr(ax, name) > 0, f"field.{axis}.{name}", getattr(ax, name), "> 0")
        reader.check(0 <= ax.remanence_Oe < ax.max_field_Oe, f"field.{axis}.remanence_Oe",
                     ax.remanence_Oe, f">= 0 and below max_field_Oe ({ax.max_field_Oe:g} Oe)")
        supply_limit_Oe = ax.oe_per_amp * instruments[f"magnet_{axis}"].max_current_A
        reader.check(ax.max_field_Oe <= supply_limit_Oe, f"field.{axis}.max_field_Oe",
                     ax.max_field_Oe, f"<= {supply_limit_Oe:g} Oe (oe_per_amp x the supply's "
                     f"max_current_A)")
        axes[axis] = ax
    device = reader.build(DeviceSetup, reader.table(raw, "device"), "device")
    for name, (lo, hi) in DEVICE_RANGES.items():
        value = getattr(device, name)
        reader.check(lo <= value <= hi, f"device.{name}", value, f"from {lo:g} to {hi:g}")
    limits = reader.build(Limits, reader.table(raw, "limits", required=True), "limits")
    reader.check(0 < limits.max_current_mA <= 105, "limits.max_current_mA", limits.max_current_mA,
                 "in (0, 105] mA (the 6221's range)")
    reader.check(limits.max_current_density_1e11_A_m2 > 0, "limits.max_current_density_1e11_A_m2",
                 limits.max_current_density_1e11_A_m2, "> 0")
    reader.check(0.1 <= limits.compliance_V <= 105, "limits.compliance_V", limits.compliance_V,
                 "in [0.1, 105] V (the 6221's range)")
    camera = reader.build(CameraSetup, reader.table(raw, "camera"), "camera")
    camera_drivers = [*drivers.names("camera"), drivers.NO_CAMERA]
    reader.check(camera.driver in camera_drivers, "camera.driver", camera.driver,
                 f"one of {', '.join(camera_drivers)}")
    reader.check(0 < camera.pixel_um <= 1e3, "camera.pixel_um", camera.pixel_um,
                 "> 0 and at most 1000 µm (the sample-plane size of one pixel)")
    reader.check(_depth(camera.options) <= MAX_OPTION_DEPTH, "camera.options", "(nested "
                 f"{_depth(camera.options)} deep)", f"nested at most {MAX_OPTION_DEPTH} deep")
    sim = reader.build(SimSetup, reader.table(raw, "sim"), "sim")
    reader.check(sim.clock in ("virtual", "real"), "sim.clock", sim.clock, "'virtual' or 'real'")
    from dwlab.instruments.sim.presets import PRESETS

    reader.check(sim.preset in PRESETS, "sim.preset", sim.preset, f"one of {', '.join(PRESETS)}")
    reader.check(0 <= sim.seed < 2**63, "sim.seed", sim.seed, "a whole number from 0 to 2**63-1")
    reader.check(sim.speed > 0, "sim.speed", sim.speed, "> 0")
    return LabSetup(name=str(lab.get("name", "lab")), instruments=instruments, fields=axes,
                    device=device, limits=limits, camera=camera, sim=sim, path=origin, raw=raw)


def _depth(value: Any, limit: int = MAX_OPTION_DEPTH + 1) -> int:
    """How deeply tables and lists nest in ``value`` (counting stops past ``limit``)."""
    if limit <= 0 or not isinstance(value, (dict, list)):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in items), default=0)


class _Reader:
    """Builds dataclasses from TOML tables, naming the file and key in every complaint."""

    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, key: str, problem: str) -> SetupError:
        return SetupError(f"setup file {self.origin}: {key}: {problem}")

    def check(self, ok: bool, key: str, value: Any, expected: str) -> None:
        if not ok:
            raise self.fail(key, f"{value!r} is not allowed; must be {expected}")

    def table(self, parent: dict, name: str, required: bool = False, prefix: str = "") -> dict:
        key = f"{prefix}.{name}" if prefix else name
        if name not in parent:
            if required:
                raise self.fail(key, "missing (a [" + key + "] table is required)")
            return {}
        value = parent[name]
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__}")
        return value

    def only_keys(self, table: dict, where: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                name = f"{where}.{key}" if where else key
                raise self.fail(name, f"unknown key; known keys here are {', '.join(allowed)}")

    def build(self, cls: type, table: dict, where: str):
        known = {f.name: f for f in fields(cls)}
        self.only_keys(table, where, tuple(known))
        values = {}
        for name, f in known.items():
            key = f"{where}.{name}"
            if name not in table:
                if f.default is MISSING and f.default_factory is MISSING:  # required
                    raise self.fail(key, "missing")
                continue
            values[name] = self._convert(table[name], f.type, key)
        return cls(**values)

    def _convert(self, value: Any, type_name: str, key: str) -> Any:
        if type_name == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(key, f"must be a number, got {value!r}")
            if not math.isfinite(value):
                raise self.fail(key, f"must be finite, got {value!r}")
            return float(value)
        if type_name == "bool":
            if not isinstance(value, bool):
                raise self.fail(key, f"must be true or false, got {value!r}")
            return value
        if type_name == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(key, f"must be a whole number, got {value!r}")
            return value
        if type_name == "str":
            if not isinstance(value, str):
                raise self.fail(key, f"must be a string, got {value!r}")
            return value
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {value!r}")
        return value

