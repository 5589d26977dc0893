"""The modules a kernel template preloads for an assessment: read from its source notebooks'
imports and from ``execution.preload`` in assessment.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grader.assessment import load_assessment
from grader.errors import AssessmentError
from grader.preload import notebook_imports, source_imports
from tests.grader.factory import SPEC, code, notebook, squares_source, write


def test_import_statements_become_module_names() -> None:
    source = ("import numpy as np, os.path\nfrom matplotlib import pyplot as plt, colors\n"
              "from pandas import *\nfrom . import sibling\nfrom __future__ import annotations\n"
              "def f():\n    import statistics\n")
    assert source_imports(source) == ["numpy", "os.path", "matplotlib", "matplotlib.pyplot",
                                      "matplotlib.colors", "pandas", "statistics"]


def test_magics_shell_escapes_and_syntax_errors_are_skipped() -> None:
    assert source_imports("%matplotlib inline\n!pip list\nimport json") == ["json"]
    assert source_imports("%%bash\nimport nothing") == []
    assert source_imports("import json\nprint(:") == []
    nb = notebook(code("import fractions"), code("def broken(:"), code("import fractions, decimal"))
    nb.cells.append(nb.cells[0].copy())
    nb.cells[-1].cell_type = "markdown"
    assert notebook_imports(nb) == ["fractions", "decimal"]


def _assessment(tmp_path: Path, execution: dict[str, object]) -> Path:
    root = tmp_path / "squares"
    source = squares_source()
    source.cells.insert(0, code("import statistics\nfrom fractions import Fraction"))
    write(source, root / "source" / "problem1.ipynb")
    (root / "assessment.yaml").write_text(yaml.safe_dump({**SPEC, "execution": execution}))
    return root


def test_declared_preload_comes_first_then_the_source_imports(tmp_path: Path) -> None:
    root = _assessment(tmp_path, {"cell_timeout": 5, "preload": ["decimal", "statistics"]})
    assessment = load_assessment(root)
    assert assessment.spec.execution.preload == ("decimal", "statistics", "fractions",
                                                 "fractions.Fraction")
    assert assessment.spec.execution.cell_timeout == 5


def test_preload_is_not_part_of_the_fingerprint(tmp_path: Path) -> None:
    root = _assessment(tmp_path, {"cell_timeout": 5, "preload": ["decimal"]})
    with_key = load_assessment(root).fingerprint
    (root / "assessment.yaml").write_text(yaml.safe_dump({**SPEC, "execution": {"cell_timeout": 5}}))
    assert load_assessment(root).fingerprint == with_key


@pytest.mark.parametrize(("execution", "message"), [
    ({"preloads": ["numpy"]}, "execution.preloads"),
    ({"preload": ["numpy", "not a module"]}, "not a module name"),
    ({"preload": "numpy"}, "execution.preload"),
])
def test_wrong_preload_is_refused(tmp_path: Path, execution: dict[str, object], message: str) -> None:
    with pytest.raises(AssessmentError, match=message):
        load_assessment(_assessment(tmp_path, execution))
