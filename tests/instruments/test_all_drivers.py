"""Meta-test over every dwlab driver class, after PyMeasure's test_all_instruments.

Every property has a docstring in PyMeasure's style, no setting truncates (an out-of-range
value must raise, never be silently replaced), and every driver accepts an adapter and a name.
The strictness checks cover what a driver inherits from PyMeasure too: inherited properties,
the channels an instrument creates (``ch_1``, ``ch_2``), and the limits a property really uses
on an instance (a dynamic property's ``values`` may be changed per channel).
"""

import importlib
import inspect
import pkgutil
from unittest.mock import MagicMock

import pytest
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments import validators as pm_validators
from pymeasure.instruments.common_base import CommonBase, DynamicProperty

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
                for _, creator in CommonBase.get_channels(obj):  # inherited ones too
                    found.update(cls for cls, _ in creator.pairs)
    return sorted(found, key=lambda c: c.__name__)


DRIVERS = _driver_classes()
INSTRUMENTS = [c for c in DRIVERS if issubclass(c, Instrument)]
PROPERTIES = [(cls, name, getattr(cls, name)) for cls in DRIVERS for name in dir(cls)
              if isinstance(getattr(cls, name), property)]

TRUNCATING = {pm_validators.truncated_range, pm_validators.truncated_discrete_set,
              pm_validators.modular_range, pm_validators.modular_range_bidirectional}

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
    assert validator not in TRUNCATING, f"{cls.__name__}.{name} truncates"
    if _defined_in_dwlab(cls, name):
        assert getattr(validator, "strict", False), (
            f"{cls.__name__}.{name} does not use a named strict validator (limits.py)")


@pytest.mark.parametrize("cls", INSTRUMENTS, ids=lambda c: c.__name__)
def test_accepts_adapter_and_name(cls):
    inst = cls(adapter=MagicMock(), name="Name_Test", **CONSTRUCTION_KWARGS.get(cls.__name__, {}))
    assert inst.name == "Name_Test"


# ---- on instances: the instrument and every channel it creates, inherited or not ----

#: The manuals' limits where one property has different limits per channel (INSTRUMENTS.md):
#: the 2182A's channel 1 reads to 100 V, channel 2 to 10 V (RANG takes 120 % of that).
CHANNEL_LIMITS = {
    ("Keithley2182A", "ch_1", "voltage_range"): (0, 120),
    ("Keithley2182A", "ch_2", "voltage_range"): (0, 12),
    ("Keithley2182A", "ch_1", "voltage_offset"): (-120, 120),
    ("Keithley2182A", "ch_2", "voltage_offset"): (-12, 12),
}


def _instances():
    """(label, instrument class, channel attribute or "", object) for every instrument and
    each channel it creates."""
    out = []
    for cls in INSTRUMENTS:
        adapter = MagicMock()
        inst = cls(adapter=adapter, **CONSTRUCTION_KWARGS.get(cls.__name__, {}))
        out.append((cls.__name__, cls.__name__, "", inst))
        for attr, _ in CommonBase.get_channels(cls):
            out.append((f"{cls.__name__}.{attr}", cls.__name__, attr, getattr(inst, attr)))
    return out


def _effective_values(obj, name, prop):
    """The ``values`` a property's setter really uses on ``obj`` (a dynamic property's may be
    set per instance)."""
    if isinstance(prop, DynamicProperty):
        special = prop.prefix + f"{name}_values"
        if special in vars(obj):
            return vars(obj)[special]
    return inspect.signature(prop.fset).parameters["values"].default


def _range_settings():
    items = []
    for label, owner, attr, obj in _instances():
        for name in dir(type(obj)):
            prop = getattr(type(obj), name)
            if not isinstance(prop, property) or _validator(prop) is None:
                continue
            values = _effective_values(obj, name, prop)
            if isinstance(values, (tuple, list)) and len(values) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                items.append(pytest.param(obj, owner, attr, name, tuple(values),
                                          id=f"{label}.{name}"))
    return items


RANGE_SETTINGS = _range_settings()


def _writes(obj):
    adapter = obj.parent.adapter if isinstance(obj, Channel) else obj.adapter
    return adapter.write.call_count + adapter.write_bytes.call_count


@pytest.mark.parametrize("obj, owner, attr, name, values", RANGE_SETTINGS)
def test_a_value_beyond_the_limits_really_in_force_is_refused_before_sending(
        obj, owner, attr, name, values):
    low, high = min(values), max(values)
    for beyond in (high + max(1.0, abs(high)), low - max(1.0, abs(low))):
        before = _writes(obj)
        with pytest.raises(ValueError):
            setattr(obj, name, beyond)
        assert _writes(obj) == before, f"{name} = {beyond} was sent"


@pytest.mark.parametrize("key", sorted(CHANNEL_LIMITS), ids=".".join)
def test_each_channel_takes_its_own_limits(key):
    owner, attr, name = key
    found = [(low, high) for obj, o, a, n, (low, high) in
             (p.values for p in RANGE_SETTINGS) if (o, a, n) == key]
    assert found == [CHANNEL_LIMITS[key]], f"{owner}.{attr}.{name} uses {found}"


def test_the_meta_test_sees_inherited_channels_and_properties():
    labels = {p.id for p in RANGE_SETTINGS}
    assert {"Keithley2182A.ch_2.voltage_range", "Keithley2182A.voltage_nplc",
            "Keithley6221.srq_event_enabled"} <= labels
