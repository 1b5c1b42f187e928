"""Meta-test over every dwlab driver class, after PyMeasure's test_all_instruments.

Every property has a docstring in PyMeasure's style, no setting truncates (an out-of-range
value must raise, never be silently replaced), and every driver accepts an adapter and a name.
"""

import importlib
import inspect
import pkgutil
from unittest.mock import MagicMock

import pytest
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments import validators as pm_validators

import dwlab.instruments
from dwlab.clock import VirtualClock


def _driver_classes():
    found = set()
    for info in pkgutil.iter_modules(dwlab.instruments.__path__):
        if info.ispkg:
            continue  # sim/ holds simulated instruments, not drivers
        try:
            module = importlib.import_module(f"dwlab.instruments.{info.name}")
        except ModuleNotFoundError:  # an optional dependency (a camera SDK) is missing
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, (Instrument, Channel)) and obj.__module__ == module.__name__:
                found.add(obj)
                for creator in vars(obj).values():  # the channels they create
                    if isinstance(creator, Instrument.ChannelCreator):
                        found.add(creator.cls)
    return sorted(found, key=lambda c: c.__name__)


DRIVERS = _driver_classes()
INSTRUMENTS = [c for c in DRIVERS if issubclass(c, Instrument)]
PROPERTIES = [(cls, name, getattr(cls, name)) for cls in DRIVERS for name in dir(cls)
              if isinstance(getattr(cls, name), property)]

TRUNCATING = {pm_validators.truncated_range, pm_validators.truncated_discrete_set,
              pm_validators.modular_range, pm_validators.modular_range_bidirectional}

# Inherited from PyMeasure's Keithley6221 and not used by dwlab; they still truncate.
UNUSED_TRUNCATING = {
    "waveform_frequency", "waveform_dutycycle", "waveform_duration_time",
    "waveform_duration_cycles", "waveform_phasemarker_phase", "waveform_phasemarker_line",
    "measurement_event_enabled", "operation_event_enabled", "questionable_event_enabled",
    "standard_event_enabled", "srq_event_enabled",
}
# PyMeasure's own docstrings on inherited properties it has not restyled (it grandfathers them).
PYMEASURE_DOCSTRINGS = {"mode"}

CONSTRUCTION_KWARGS = {"KepcoBOP": dict(max_current_A=5, max_voltage_V=20, ramp_rate_A_s=1,
                                        clock=VirtualClock())}


def _id(item):
    cls, name, _ = item
    return f"{cls.__name__}.{name}"


def _validator(prop):
    """The validator of a settable PyMeasure property, else None (measurements, @property)."""
    if prop.fset is None:
        return None
    params = inspect.signature(prop.fset).parameters
    if "validator" not in params or params["set_command"].default is None:
        return None
    return params["validator"].default


def _defined_in_dwlab(cls, name):
    owner = next(k for k in cls.__mro__ if name in vars(k))
    return owner.__module__.startswith("dwlab.")


def test_every_driver_was_found():
    names = {c.__name__ for c in DRIVERS}
    assert {"Keithley6221", "Keithley2182A", "KepcoBOP", "LakeShore643",
            "LakeShore425"} <= names


@pytest.mark.parametrize("item", PROPERTIES, ids=_id)
def test_property_docstring_says_what_it_does(item):
    cls, name, prop = item
    if name in PYMEASURE_DOCSTRINGS:
        pytest.skip("docstring inherited from PyMeasure")
    assert prop.__doc__, f"{cls.__name__}.{name} has no docstring"
    first = prop.__doc__.split(maxsplit=1)[0]
    assert first in ("Control", "Measure", "Set", "Get"), (
        f"{cls.__name__}.{name} docstring starts with {first!r}")


@pytest.mark.parametrize("item", PROPERTIES, ids=_id)
def test_no_setting_truncates(item):
    cls, name, prop = item
    validator = _validator(prop)
    if validator is None:
        return
    if name in UNUSED_TRUNCATING and not _defined_in_dwlab(cls, name):
        pytest.skip("inherited from PyMeasure and unused by dwlab")
    assert validator not in TRUNCATING, f"{cls.__name__}.{name} truncates"
    if _defined_in_dwlab(cls, name):
        assert getattr(validator, "strict", False), (
            f"{cls.__name__}.{name} does not use a named strict validator (limits.py)")


@pytest.mark.parametrize("cls", INSTRUMENTS, ids=lambda c: c.__name__)
def test_accepts_adapter_and_name(cls):
    inst = cls(adapter=MagicMock(), name="Name_Test", **CONSTRUCTION_KWARGS.get(cls.__name__, {}))
    assert inst.name == "Name_Test"
