"""What every dwlab measurement shares: PyMeasure parameters checked with named errors, the
lab's clock for every wait, points with units, and a limits check before any output.

A procedure only measures. Leaving the hardware safe is the Runner's one cleanup block
(``dwlab.procedures.runner``), not each procedure's: ``shutdown()`` here may add
procedure-specific steps (abort a pulse train) but never has to remember to turn the source off.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pymeasure.experiment import Procedure  # its import warnings: see dwlab.procedures
from pymeasure.experiment.parameters import Parameter

from dwlab.errors import BadInput, closest
from dwlab.procedures.plot_view import PlotView


class FloatListParameter(Parameter):
    """A list of numbers with units and a range for each, e.g. fields to visit in order.

    Takes a list or the command line's comma-separated form (``"-1160, -1100"``) and stores a
    list of floats; an entry that is not a number, or outside [minimum, maximum], is refused
    with the value and the limit named.
    """

    def __init__(self, name, units=None, minimum=-1e9, maximum=1e9, allow_empty=False,
                 **kwargs):
        self.units, self.minimum, self.maximum = units, minimum, maximum
        self.allow_empty = allow_empty  # an empty list means "skip this part"
        super().__init__(name, **kwargs)

    def convert(self, value):
        items = value.split(",") if isinstance(value, str) else list(value)
        try:
            values = [float(v) for v in items if str(v).strip()]
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a list of numbers, e.g. '5, 10'") from None
        if not values and not self.allow_empty:
            raise ValueError(f"{value!r} holds no value")
        for v in values:
            if not math.isfinite(v):
                raise ValueError(f"entry {v} is not a finite number")
            if not self.minimum <= v <= self.maximum:
                raise ValueError(f"entry {v:g} is outside [{self.minimum:g}, {self.maximum:g}]")
        return values

    def __str__(self):
        units = f" {self.units}" if self.units else ""
        return ", ".join(f"{v:g}" for v in self.value) + units if self.is_set() else ""


class ParameterError(BadInput, ValueError):
    """A parameter value that the procedure refuses; names the parameter, value and limit."""


#: parameter -> (smallest, largest) magnitude one really uses; a value outside, other than 0,
#: is nearly always a unit slip (amps typed where mA are asked). Writes under 0.5 mA
#: (1e10 A/m² in a 5 µm x 10 nm bar) move no wall; V_AHE swings are tens to thousands of µV.
USUAL_MAGNITUDE: dict[str, tuple[float, float]] = {
    "write_current_mA": (0.5, 105.0),
    "currents_mA": (0.5, 105.0),
    "full_swing_uV": (1.0, 1e5),
    "arrival_uV": (0.1, 1e5),
}


class Aborted(Exception):
    """Raised inside a procedure when the operator (or Ctrl-C) asked it to stop."""


class LabProcedure(Procedure):
    """Base for dwlab procedures.

    Subclasses declare PyMeasure ``Parameter``s, ``NAME`` (the command-line name), ``VERSION``,
    ``COLUMNS`` (name -> unit; the names carry the unit too, e.g. ``V_uV``), and implement
    ``check_limits(lab)`` (called before any output), ``execute()`` and ``analyze(df)``.
    """

    NAME: ClassVar[str] = ""
    VERSION: ClassVar[str] = "1"
    COLUMNS: ClassVar[dict[str, str]] = {}
    FIGURE_SHOWS_IMAGES: ClassVar[bool] = False  # figure() also takes the run's Kerr images
    PLOT_VIEW: ClassVar[PlotView] = PlotView()  # how the GUI shows the points live

    def __init__(self, **parameters: Any):
        unknown = [key for key in parameters if key not in self.parameter_names()]
        if unknown:
            raise ParameterError(self._describe_unknown(unknown))
        super().__init__(**parameters)
        self.DATA_COLUMNS = list(self.COLUMNS)
        self.lab = None
        self._image_sink = None
        self.validate_parameters()

    @classmethod
    def parameter_names(cls) -> list[str]:
        """The parameters in the order a form or ``--help`` should show them: the procedure's
        own as declared, then those of the mixins it builds on (PyMeasure sorts by name)."""
        names: list[str] = []
        for klass in cls.__mro__:
            names.extend(k for k, v in vars(klass).items()
                         if isinstance(v, Parameter) and k not in names)
        return names

    @classmethod
    def _describe_unknown(cls, unknown: list[str]) -> str:
        """``NAME: unknown parameter x; did you mean y? (see ...)``, each unknown key named
        with its likely meaning."""
        names = cls.parameter_names()
        guesses = [(key, closest(key, names)) for key in unknown]
        if len(guesses) == 1:
            key, close = guesses[0]
            named = f"parameter {key}" + (f"; did you mean {close}?" if close else "")
        else:
            named = "parameters " + ", ".join(f"{key} (did you mean {close}?)" if close else key
                                             for key, close in guesses)
        where = (f"its parameters: dwlab run {cls.NAME} --help, with _ for - in batch files"
                 if cls.NAME else f"parameters are {', '.join(names)}")
        return f"{cls.NAME or cls.__name__}: unknown {named} ({where})"

    def validate_parameters(self) -> dict[str, Any]:
        """Convert every parameter, naming the parameter, the value and the limit on failure."""
        values = {}
        for attr, param in self._parameters.items():
            value = getattr(self, attr)
            if value is None:
                raise ParameterError(f"{self.NAME}: parameter {attr} ({param.name}) is not set")
            problem = _number_problem(param, value)
            if problem is None:
                try:
                    param.value = value
                except ValueError as exc:
                    problem = str(exc)
            if problem is not None:
                raise ParameterError(self._describe_bad_value(attr, param, value, problem))
            setattr(self, attr, param.value)
            values[attr] = param.value
        return values

    def check_usual(self) -> None:
        """Refuse a value far outside what one really uses (``USUAL_MAGNITUDE``), with the
        likely slip named: the command line asks this unless ``--allow-unusual``."""
        for attr, (lo, hi) in USUAL_MAGNITUDE.items():
            if attr not in self._parameters:
                continue
            param = self._parameters[attr]
            value = getattr(self, attr)
            for v in value if isinstance(value, list) else [value]:
                if v != 0 and not lo <= abs(v) <= hi:
                    hint = (f"did you type {param.units[1:]} instead of {param.units}? "
                            if abs(v) < lo and param.units[:1] in "mµu" else "")
                    raise ParameterError(
                        f"{self.NAME}: parameter {attr} ({param.name}) = {v:g} {param.units} is "
                        f"far outside the usual {lo:g} to {hi:g} {param.units}; {hint}"
                        f"add --allow-unusual to run it as given")

    def _describe_bad_value(self, attr: str, param: Parameter, value: Any, problem: str) -> str:
        units = getattr(param, "units", None) or ""
        shown = repr(value) if isinstance(value, str) else f"{value}{' ' + units if units else ''}"
        lo, hi = getattr(param, "minimum", None), getattr(param, "maximum", None)
        choices = getattr(param, "choices", None)
        if choices:
            allowed = f"allowed: one of {', '.join(map(str, choices))}"
        elif lo is not None and hi is not None:
            allowed = f"allowed range is [{lo:g}, {hi:g}]{' ' + units if units else ''}"
        else:
            allowed = "allowed: a valid value"
        return (f"{self.NAME}: parameter {attr} ({param.name}) = {shown} is not allowed "
                f"({problem}); {allowed}")

    # ---- what the Runner calls -------------------------------------------------------------
    def resolve_inputs(self, store, sample: str, device: str) -> None:
        """Fill in parameters taken from earlier runs of this sample and device in ``store``
        (None: no database), before the parameters are checked and recorded. Raises
        ParameterError when a needed run is missing. Default: nothing to take."""

    def check_limits(self, lab) -> None:
        """Refuse, before any output, anything beyond the setup's safety limits."""

    def analyze(self, df, device):
        """Turn this run's points into the physics numbers (a result with ``summary()``).

        ``device`` is the setup's ``DeviceSetup`` (geometry, bar resistance) as recorded with
        the run, so a stored run is re-analysed without a lab.
        """
        return None

    def figure(self, df, result, device):
        """A matplotlib Figure of this run in the style of the paper's figures."""
        raise NotImplementedError(f"{self.NAME} has no figure")

    # ---- what a procedure uses ---------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Wait on the lab's clock, in slices, so an abort is honoured within 0.1 s."""
        clock = self.lab.clock
        end = clock.now() + seconds
        while True:
            self.raise_if_stopped()
            remaining = end - clock.now()
            if remaining <= 0:
                return
            clock.sleep(min(remaining, 0.1))

    def raise_if_stopped(self) -> None:
        if self.should_stop():
            raise Aborted("aborted on request")

    def point(self, **values: float) -> None:
        """Emit one point; columns must match ``COLUMNS`` (the store refuses strangers)."""
        self.emit("results", values)

    def event(self, kind: str, message: str) -> None:
        """Put a note on the run's record (and the live event log), e.g. a drift warning."""
        self.emit("event", (kind, message))

    def store_image(self, image, t_s: float, meta: dict | None = None) -> None:
        """Keep a Kerr image with the run (the Runner routes it to the store)."""
        if self._image_sink is not None:
            self._image_sink(image, t_s, meta or {})


def new_figure(**kwargs):
    """A matplotlib ``Figure``; matplotlib is imported only when a figure is drawn, so that
    ``dwlab run PROCEDURE --help`` does not pay for it."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _number_problem(param: Parameter, value: Any) -> str | None:
    """What is wrong with a number parameter's value, in words (None: nothing, or not a
    number parameter). PyMeasure's own messages name its classes; these name the value."""
    kind = type(param).__name__
    if kind not in ("FloatParameter", "IntegerParameter"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "not a number" if kind == "FloatParameter" else "not a whole number"
    if not math.isfinite(number):
        return "not a finite number"
    if kind == "IntegerParameter" and number != int(number):
        return "not a whole number"
    if not param.minimum <= number <= param.maximum:
        return "out of range"
    return None
