"""A procedure's parameters as plain rows (name, kind, label, unit, range, default, choices),
read either from the imported class or from its source without importing it.

``dwlab run PROCEDURE --help`` needs only these rows, but importing a procedure imports
PyMeasure's experiment package, which imports pandas and pint (over a second on this machine).
So the help reads the parameter declarations -- the class body stays the one place they are
written -- from the procedure's source with ``ast``: the class, the classes it builds on inside
``dwlab.procedures``, and each ``name = XParameter("label", units=..., ...)`` whose arguments
are constants: numbers, strings, lists, arithmetic such as ``2**31 - 1``, and module-level
constants such as ``TRAIN_PERIODS_MAX`` (defined in the module, or imported from a dwlab
module).
Anything else (a declaration computed by a call at import) raises ``NotDeclarative``; the
caller then imports the class.
``tests/dwlab/test_parameter_table.py`` checks that both readings agree for every procedure.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

#: the Parameter classes procedures declare with, and the keyword their positional arguments
#: after the label stand for (PyMeasure's order)
_POSITIONAL = {
    "FloatParameter": ("units", "minimum", "maximum"),
    "IntegerParameter": ("units", "minimum", "maximum"),
    "ListParameter": ("choices", "units"),
    "BooleanParameter": (),
    "Parameter": ("default",),
    "FloatListParameter": ("units", "minimum", "maximum"),
}
#: the classes every procedure builds on, which declare no parameters
_BASES = {"LabProcedure", "Procedure", "object"}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.Pow: operator.pow}


class NotDeclarative(LookupError):
    """The source does not declare the parameters as constants; import the class instead."""


@dataclass(frozen=True)
class ParameterRow:
    """One parameter as ``--help`` shows it."""

    attr: str
    kind: str  # the Parameter class's name
    label: str
    units: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    choices: tuple | None = None

    @classmethod
    def make(cls, attr: str, kind: str, label: str, **fields: Any) -> ParameterRow:
        """A row with the default converted as the Parameter class converts it, so that
        ``default=100`` in a FloatParameter reads 100.0 from either side."""
        default = fields.pop("default", None)
        if default is not None:
            if kind == "FloatParameter":
                default = float(default)
            elif kind == "IntegerParameter":
                default = int(default)
            elif kind == "FloatListParameter":
                default = tuple(float(v) for v in default)
        choices = fields.pop("choices", None)
        return cls(attr, kind, label, fields.get("units"), fields.get("minimum"),
                   fields.get("maximum"), default, tuple(choices) if choices else None)

    def help(self) -> str:
        """``Label [unit] (default D, range A to B unit)``."""
        unit = f" [{self.units}]" if self.units else " [no unit: a count or a choice]"
        limits = ""
        if self.choices:
            limits = f", one of {', '.join(map(str, self.choices))}"
        elif self.minimum is not None and self.maximum is not None:
            limits = (f", range {self.minimum:g} to {self.maximum:g}"
                      f"{' ' + self.units if self.units else ''}")
        default = self.default
        if isinstance(default, tuple):
            default = ", ".join(f"{v:g}" for v in default)
        return f"{self.label}{unit} (default {default}{limits})"


def rows_of_class(cls) -> list[ParameterRow]:
    """The rows of an imported procedure class, in ``parameter_names()`` order."""
    rows = []
    for attr in cls.parameter_names():
        param = getattr(cls, attr)
        fields = {key: getattr(param, key, None) for key in ("units", "minimum", "maximum",
                                                             "choices")}
        fields["default"] = param.default
        rows.append(ParameterRow.make(attr, type(param).__name__, param.name, **fields))
    return rows


def rows_from_source(module: str, class_name: str) -> tuple[str, list[ParameterRow]]:
    """(the class docstring's first line, its rows) from ``module``'s source, not imported:
    the class's own declarations, then those of the classes it builds on (left to right, as
    ``parameter_names()`` orders them)."""
    tree, classes = _parse(module)
    if class_name not in classes:
        raise NotDeclarative(f"{module} defines no class {class_name}")
    node = classes[class_name]
    rows, seen = [], set()
    for row in _declared(module, node):
        if row.attr not in seen:
            seen.add(row.attr)
            rows.append(row)
    doc = (ast.get_docstring(node) or "").strip().split("\n")[0]
    return doc, rows


@cache
def _parse(module: str) -> tuple[ast.Module, dict[str, ast.ClassDef]]:
    spec = find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise NotDeclarative(f"no Python source for {module}")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return tree, {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _declared(module: str, node: ast.ClassDef):
    """The rows ``node`` declares, then its bases' (depth first, left to right)."""
    for item in node.body:
        if (isinstance(item, ast.Assign) and len(item.targets) == 1
                and isinstance(item.targets[0], ast.Name) and isinstance(item.value, ast.Call)
                and isinstance(item.value.func, ast.Name)
                and item.value.func.id in _POSITIONAL):
            yield _row(module, item.targets[0].id, item.value)
    for base in node.bases:
        if not isinstance(base, ast.Name):
            raise NotDeclarative(f"{module}.{node.name} builds on an expression")
        if base.id in _BASES:
            continue
        yield from _declared(*_find_class(module, base.id))


def _find_class(module: str, name: str) -> tuple[str, ast.ClassDef]:
    """The module and class node that ``name`` means in ``module``: defined there, or
    imported there from a dwlab module."""
    _, classes = _parse(module)
    if name in classes:
        return module, classes[name]
    return _find_class(*_imported(module, name))


def _find_constant(module: str, name: str) -> Any:
    """The value of the module-level constant ``name`` in ``module`` (assigned there, or
    imported there from a dwlab module)."""
    tree, _ = _parse(module)
    for item in tree.body:
        if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in item.targets):
            return _constant(module, item.value)
        if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                and item.target.id == name and item.value is not None):
            return _constant(module, item.value)
    return _find_constant(*_imported(module, name))


def _imported(module: str, name: str) -> tuple[str, str]:
    """(module, name) that ``from dwlab.X import name`` in ``module`` refers to."""
    tree, _ = _parse(module)
    for item in tree.body:
        if isinstance(item, ast.ImportFrom) and item.module and item.level == 0 \
                and item.module.startswith("dwlab."):
            for alias in item.names:
                if (alias.asname or alias.name) == name:
                    return item.module, alias.name
    raise NotDeclarative(f"{module}: {name} is neither defined nor imported from dwlab")


def _row(module: str, attr: str, call: ast.Call) -> ParameterRow:
    kind = call.func.id
    if not call.args:
        raise NotDeclarative(f"{attr}: {kind} without a label")
    label, *rest = (_constant(module, a) for a in call.args)
    fields = dict(zip(_POSITIONAL[kind], rest))
    for keyword in call.keywords:
        if keyword.arg is None:
            raise NotDeclarative(f"{attr}: **keywords")
        fields[keyword.arg] = _constant(module, keyword.value)
    if kind in ("FloatParameter", "IntegerParameter", "FloatListParameter"):
        fields.setdefault("minimum", -1e9)  # PyMeasure's (and FloatListParameter's) defaults
        fields.setdefault("maximum", 1e9)
    return ParameterRow.make(attr, kind, label, **fields)


def _constant(module: str, node: ast.expr) -> Any:
    """The value of a constant expression in ``module``; NotDeclarative for anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _find_constant(module, node.id)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_constant(module, e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant(module, node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_constant(module, node.left),
                                         _constant(module, node.right))
    raise NotDeclarative(f"not a constant: {ast.unparse(node)}")
