"""Every instrument driver dwlab knows, in one table: the setup file's ``driver = "NAME"``.

A row says which class talks to the instrument, which interface it offers the lab (what role
it can fill), what its ``*IDN?`` answer must contain, the simulator that emulates it, and the
step that configures it once open. The setup loader checks every ``driver`` key against this
table (name known, interface right for the role); ``Lab`` opens each instrument with its row's
class and refuses one whose identity is another model's, naming both. Cameras have rows too
(no ``*IDN?``: pylablib identifies them when it opens them).

Nothing here imports a driver: classes are ``"module:Class"`` strings, loaded on use, so
reading a setup file stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

#: role in the setup file -> the interface an instrument must offer to fill it
ROLE_INTERFACE = {
    "source": "source",
    "voltmeter": "voltmeter",
    "magnet_z": "supply",
    "magnet_x": "supply",
    "gaussmeter_z": "gaussmeter",
    "gaussmeter_x": "gaussmeter",
}
INTERFACES = ("source", "voltmeter", "supply", "gaussmeter", "camera")


@dataclass(frozen=True)
class Driver:
    """One row of the table."""

    name: str
    interface: str  # one of INTERFACES
    cls: str  # "module:Class" of the driver (pylablib's class for a camera)
    simulator: str | None  # "module:Class" of the simulator under dwlab.instruments.sim
    identity: tuple[str, ...] = ()  # texts its *IDN? answer contains (maker, model)
    error_queue: bool = True  # answers SYST:ERR? (the Lake Shores have no SCPI error queue)
    configure: Callable[[Any, Any, Any], None] | None = None  # (instrument, cfg, axis setup)
    field_supply: str | None = None  # supplies: the FieldAxis adapter class in field_axis

    def load(self) -> type:
        module, cls = self.cls.split(":")
        return getattr(import_module(module), cls)

    def matches(self, identity: str) -> bool:
        """Whether an ``*IDN?`` answer is this driver's model."""
        text = identity.upper().replace(" ", "")
        return all(part.upper().replace(" ", "") in text for part in self.identity)


def _ramp_rate_A_s(axis) -> float:
    return axis.max_ramp_rate_Oe_s / axis.oe_per_amp


def _limit_lakeshore643(instrument, cfg, axis) -> None:
    """The supply's own current and ramp-rate limits: a net under the software's."""
    instrument.set_limits(cfg.max_current_A, _ramp_rate_A_s(axis))


def _gaussmeter_in_oe(instrument, cfg, axis) -> None:
    instrument.unit = "Oe"  # the field axes read the gaussmeter in Oe


_I = "dwlab.instruments."
_S = "dwlab.instruments.sim."

DRIVERS: dict[str, Driver] = {d.name: d for d in (
    Driver("keithley6221", "source", _I + "keithley6221:Keithley6221",
           _S + "keithley6221:Keithley6221Sim", identity=("KEITHLEY", "MODEL 6221")),
    Driver("keithley2182a", "voltmeter", _I + "keithley2182:Keithley2182A",
           _S + "keithley2182:Keithley2182Sim", identity=("KEITHLEY", "MODEL 2182")),
    # the Kepco's constructor takes its limits and ramp rate: it has no ramp of its own
    Driver("kepco_bop", "supply", _I + "kepco_bop:KepcoBOP", _S + "kepco_bop:KepcoBopSim",
           identity=("KEPCO",), field_supply="KepcoSupply"),
    Driver("lakeshore643", "supply", _I + "lakeshore643:LakeShore643",
           _S + "lakeshore643:LakeShore643Sim", identity=("LSCI", "MODEL643"),
           error_queue=False, configure=_limit_lakeshore643, field_supply="LakeShore643Supply"),
    Driver("lakeshore425", "gaussmeter", _I + "lakeshore425:LakeShore425",
           _S + "lakeshore425:LakeShore425Sim", identity=("LSCI", "MODEL425"),
           error_queue=False, configure=_gaussmeter_in_oe),
    # cameras: "sim" renders the simulated lab's device; the others are pylablib classes
    Driver("sim", "camera", _S + "camera:SimCamera", _S + "camera:SimCamera"),
    Driver("dcam", "camera", "pylablib.devices.DCAM:DCAMCamera", None),
    Driver("andor_sdk3", "camera", "pylablib.devices.Andor:AndorSDK3Camera", None),
    Driver("andor_sdk2", "camera", "pylablib.devices.Andor:AndorSDK2Camera", None),
    Driver("thorlabs_tlcam", "camera", "pylablib.devices.Thorlabs:ThorlabsTLCamera", None),
    Driver("pco", "camera", "pylablib.devices.PCO:PCOSC2Camera", None),
    Driver("basler", "camera", "pylablib.devices.Basler:BaslerPylonCamera", None),
    Driver("uc480", "camera", "pylablib.devices.uc480:UC480Camera", None),
    Driver("pvcam", "camera", "pylablib.devices.Photometrics:PvcamCamera", None),
    Driver("imaq", "camera", "pylablib.devices.IMAQ:IMAQCamera", None),
)}

#: the driver a role gets when its table in the setup file names none (one model exists)
DEFAULT_DRIVER = {"source": "keithley6221", "voltmeter": "keithley2182a",
                  "gaussmeter_z": "lakeshore425", "gaussmeter_x": "lakeshore425"}
NO_CAMERA = "none"


def names(interface: str) -> list[str]:
    """The drivers that offer ``interface``."""
    return [name for name, d in DRIVERS.items() if d.interface == interface]


def driver_for(interface: str, name: str) -> Driver:
    """The row of ``name``; KeyError with the allowed names when it is unknown or offers
    another interface."""
    row = DRIVERS.get(name)
    if row is None or row.interface != interface:
        raise KeyError(f"{name!r} is not a {interface} driver; {interface} drivers are "
                       f"{', '.join(names(interface))}")
    return row


def identify(identity: str) -> Driver | None:
    """The instrument driver whose model answers ``identity`` (None: none of ours)."""
    return next((d for d in DRIVERS.values() if d.identity and d.matches(identity)), None)
