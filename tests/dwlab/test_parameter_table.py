"""``dwlab run PROCEDURE --help`` reads the parameters from the procedure's source; the rows
must be the imported class's, row for row, for every procedure."""

import subprocess
import sys

import pytest

from dwlab.procedures import parameter_table, registry
from dwlab.procedures.parameter_table import NotDeclarative, ParameterRow, rows_from_source


@pytest.mark.parametrize("name", registry.names())
def test_source_rows_are_the_class_rows(name):
    cls = registry.procedure_class(name)
    module, cls_name = registry._where(name)
    description, rows = rows_from_source(module, cls_name)
    assert rows == parameter_table.rows_of_class(cls)
    assert [r.attr for r in rows] == cls.parameter_names()
    assert description == cls.__doc__.strip().split("\n")[0]


def test_help_of_a_procedure_imports_neither_pymeasure_nor_pandas():
    code = ("import sys; from dwlab.cli import main\n"
            "try:\n    main(['run', 'integrate-reset', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'pymeasure', 'pint', 'scipy') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    words = " ".join(done.stdout.split())
    assert "--write-current-mA VALUE Write current [mA] (default 20.0, range -105 to 105 mA)" \
        in words
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_computed_declaration_is_not_read_from_source(tmp_path, monkeypatch):
    (tmp_path / "dwlab_computed_decl.py").write_text(
        "LIMIT = 5.0\n"
        "class P(LabProcedure):\n"
        "    '''A procedure.'''\n"
        "    a = FloatParameter('A', units='mA', minimum=-2**3, maximum=LIMIT, default=1)\n"
        "    b = FloatParameter('B', units='mA', minimum=0.0, maximum=limit())\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(NotDeclarative, match=r"not a constant: limit\(\)"):
        rows_from_source("dwlab_computed_decl", "P")


def test_row_help_names_unit_default_and_range():
    row = ParameterRow.make("write_current_mA", "FloatParameter", "Write current", units="mA",
                            minimum=-105, maximum=105.0, default=20)
    assert row.help() == "Write current [mA] (default 20.0, range -105 to 105 mA)"
    listed = ParameterRow.make("loop", "ListParameter", "Loops", choices=["major", "minor"],
                               default="major")
    assert listed.help() == "Loops [no unit: a count or a choice] (default major, one of " \
                            "major, minor)"
