"""The test-cell rewriting, in process: a Runtime over a fake shell, rewritten code run with exec.

Classes defined in this file count as "learner code" (this file is not part of the interpreter or
an installed package), exactly like classes defined in a notebook cell.
"""

from __future__ import annotations

import ast
import builtins
import math
import sys
import types
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from grader.integrity import EVENT_MIME, IntegrityFlag, collect_flags, kernel_config, opted_out
from grader.integrity.hook import preamble
from grader.integrity.runtime import IntegrityError, Runtime, rewrite
from tests.grader import factory
from tests.grader.factory import code, notebook, solution


class Publisher:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def publish(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.records.append(data[EVENT_MIME])


class Shell:
    def __init__(self) -> None:
        self.user_ns: dict[str, Any] = {}
        self.display_pub = Publisher()


@pytest.fixture
def shell(tmp_path: Any) -> Shell:
    return Shell()


def run(shell: Shell, source: str, aliases: dict[str, str] | None = None, **names: Any) -> dict[str, Any]:
    """Rewrite ``source`` as a test cell and run it in ``shell.user_ns`` (which gets ``names``)."""
    rt = Runtime(shell=shell, aliases=aliases or {}, workdir="/nonexistent-workdir")
    shell.user_ns.update(names)
    shell.user_ns["rt"] = rt
    tree = rewrite(ast.parse(source), rt="rt", aliases=aliases or {})
    exec(compile(tree, "<test cell>", "exec"), shell.user_ns)
    return shell.user_ns


class Anything:
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __getitem__(self, key: object) -> Anything:
        return Anything()

    def __len__(self) -> int:
        return 5

    def __float__(self) -> float:
        return math.pi

    __hash__ = object.__hash__


class Cheating(list[int]):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    __hash__ = object.__hash__


class Plain:
    def total(self) -> int:
        return 6


@pytest.mark.parametrize("source", [
    "assert value == [1, 4, 9]",
    "assert [1, 4, 9] == value",
    "assert not (value != [1, 4, 9])",
    "assert value[2] == 9",
    "assert len(value) == 5",
    "assert math.isclose(value, math.pi)",
    "assert [value] * 2 == [1, 2]",
    "assert {'a': value} == {'a': 1}",
    "assert 1 < value < 3",
    "assert value in [1, 2]",
    "assert np.allclose(value, 3.14159, atol=1)",
])
def test_learner_object_compared_with_builtin_fails(shell: Shell, source: str) -> None:
    with pytest.raises(IntegrityError, match="class 'Anything', defined by code in your notebook"):
        run(shell, "import math\nimport numpy as np\n" + source, value=Anything())


def test_list_subclass_overriding_eq_fails(shell: Shell) -> None:
    with pytest.raises(IntegrityError, match=r"Cheating.*__eq__"):
        run(shell, "assert value == [1, 2, 3]", value=Cheating([0]))


def test_truthiness_from_learner_code_fails(shell: Shell) -> None:
    class Yes:
        def __bool__(self) -> bool:
            return True

    with pytest.raises(IntegrityError, match="a truth test"):
        run(shell, "assert value", value=Yes())


def test_honest_values_and_learner_objects_among_themselves_pass(shell: Shell) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    run(shell, "from pandas.testing import assert_frame_equal\nimport numpy as np\n"
               "assert value == [1, 4, 9] and value[1:] == [4, 9] and value[::-1][0] == 9\n"
               "assert len(value) == 3 and sorted(value) == value and sum(value) == 14\n"
               "assert all(x > 0 for x in value) and any(x == 9 for x in value)\n"
               "assert Point(1) == Point(1) and Point(1) != Point(2)\n"
               "assert plain.total() == 6 and plain is not None and not (plain is None)\n"
               "assert_frame_equal(frame, frame.copy())\nassert frame.loc[0, 'b'] == 'x'\n"
               "assert np.allclose(np.asarray(value) / 2, [0.5, 2, 4.5])\n"
               "assert isinstance(value, list) and type(value) is list\n"
               "assert 0 < value[0] <= 1 < value[1]\n",
        value=[1, 4, 9], frame=frame, Point=Point, plain=Plain())
    assert shell.display_pub.records == []


def test_partial_credit_expression_and_generators_keep_their_meaning(shell: Shell) -> None:
    ns = run(shell, "score = sum(add(i, 1) == i + 1 for i in range(4)) / 4",
             add=lambda a, b: a + b if a < 2 else 0)
    assert ns["score"] == 0.5


def test_redefined_builtins_are_contained(shell: Shell) -> None:
    with pytest.raises(AssertionError):
        run(shell, "assert len(value) == 5", value=[0], len=lambda obj: 5)
    assert "redefines the builtin 'len'" in shell.display_pub.records[0]["message"]


def test_builtin_shadowed_by_a_value_fails_as_in_nbgrader(shell: Shell) -> None:
    with pytest.raises(TypeError, match="not callable"):
        run(shell, "assert sum([1, 2]) == 3", sum=0)


def test_names_bound_by_the_test_itself_are_its_own(shell: Shell) -> None:
    ns = run(shell, "def len(x):\n    return 42\nresult = len([])\n"
                    "class Base:\n    def f(self):\n        return 1\n"
                    "class Child(Base):\n    def f(self):\n        return super().f() + 1\n"
                    "child = Child().f()")
    assert (ns["result"], ns["child"]) == (42, 2)


def test_builtins_module_patch_is_contained(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Runtime(shell=shell, aliases={}, workdir="/nonexistent-workdir")
    monkeypatch.setattr(builtins, "sorted", lambda xs: [1, 2, 3])
    assert rt.b("sorted")([3, 1]) == [1, 3]
    assert "replaces builtins.sorted" in shell.display_pub.records[0]["message"]


def test_forged_class_does_not_pass_isinstance(shell: Shell) -> None:
    class FakeFrame:
        __class__ = property(lambda self: pd.DataFrame)  # type: ignore[assignment]

    ns = run(shell, "result = isinstance(value, pd.DataFrame)", aliases={"pd": "pandas"},
             value=FakeFrame(), pd=pd)
    assert ns["result"] is False
    assert "forges __class__" in shell.display_pub.records[0]["message"]


def test_patched_library_functions_and_modules_are_the_originals(
        shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Runtime(shell=shell, aliases={"np": "numpy", "afe": "pandas.testing:assert_frame_equal"},
                 workdir="/nonexistent-workdir")
    monkeypatch.setattr(math, "isclose", lambda *a, **k: True)
    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))
    assert rt.attr(rt.imp("math"), "isclose")(1.0, 2.0) is False
    assert rt.imp("numpy") is np
    shell.user_ns.update(np=object(), afe=lambda *a, **k: None)
    assert rt.g("np") is np
    assert rt.g("afe") is pd.testing.assert_frame_equal
    messages = " | ".join(r["message"] for r in shell.display_pub.records)
    for expected in ("math.isclose", "sys.modules['numpy']", "rebinds 'np'", "rebinds 'afe'"):
        assert expected in messages


def test_patched_module_loaded_after_start_is_refused(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Runtime(shell=shell, aliases={}, workdir="/nonexistent-workdir")
    rt.modules.pop("json", None)
    rt.attrs.pop("json", None)
    import json

    monkeypatch.setattr(json, "dumps", lambda *a, **k: "{}")
    with pytest.raises(IntegrityError, match=r"json\.dumps was replaced"):
        rt.attr(rt.imp("json"), "dumps")


def test_only_test_cells_without_the_marker_are_rewritten() -> None:
    nb = notebook(code("import numpy as np\nfrom pandas.testing import assert_frame_equal as afe"),
                  solution("answer", "x = 1"),
                  factory.test("t1", "assert x == 1"),
                  factory.test("t2", "# nbcred: allow-learner-objects\nassert len(x) == 1"))
    nb.cells[0].metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                        "grade_id": "setup", "schema_version": 3}
    config = kernel_config(nb)
    assert len(config["digests"]) == 1
    assert config["aliases"] == {"np": "numpy", "afe": "pandas.testing:assert_frame_equal"}
    assert opted_out("#  nbcred: allow-learner-objects  \nassert True")
    assert not opted_out("assert True  # nbcred: allow-learner-objects is documented")
    code_text = preamble(config)
    assert compile(code_text, "<preamble>", "eval")  # a single expression: binds no user name


def test_flags_are_collected_and_records_removed() -> None:
    nb = notebook(solution("answer", "x = 1"), factory.test("t1", "assert x == 1"))
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={EVENT_MIME: {"kind": "builtin", "message": "m"}}),
        nbformat.v4.new_output("error", ename="IntegrityError", evalue="the comparison ...", traceback=[]),
    ]
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "display_data", data={EVENT_MIME: {"kind": "builtin", "message": "forged by the learner"}})]
    flags = collect_flags(nb, "problem1")
    assert flags == [IntegrityFlag("problem1", "t1", "contained", "m"),
                     IntegrityFlag("problem1", "t1", "learner-object", "the comparison ...")]
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"]
    assert nb.cells[0].outputs == []


def test_frozen_stdlib_modules_are_library_code(shell: Shell) -> None:
    """``os``, ``posixpath``... are frozen in 3.11: their code says ``<frozen posixpath>``."""
    import os
    import posixpath

    rt = Runtime(shell=shell, aliases={}, workdir="/nonexistent-workdir")
    assert rt.attr(rt.imp("os.path"), "join") is posixpath.join
    assert rt.trusted_file(posixpath.join.__code__.co_filename)
    assert not rt.trusted_file("<frozen not_a_frozen_module>")
    run(shell, "assert env == dict(env)", env=os.environ)


def test_len_of_a_list_of_learner_objects_is_fine_but_sorting_them_is_not(shell: Shell) -> None:
    ns = run(shell, "n = len(points)\nfirst = list(points)[0]", points=[Point(1), Point(2)])
    assert ns["n"] == 2
    with pytest.raises(IntegrityError, match="sorted"):
        run(shell, "assert sorted(values) == [1, 2]", values=[Anything(), Anything()])


def test_classes_defined_by_a_test_cell_are_the_assessments(shell: Shell) -> None:
    rt = Runtime(shell=shell, aliases={}, workdir="/nonexistent-workdir")
    rt.test_files.add("<test cell>")
    shell.user_ns["rt"] = rt
    source = ("class Probe:\n    def __eq__(self, other):\n        return True\n"
              "assert Probe() == [1, 2]")
    exec(compile(rewrite(ast.parse(source), rt="rt"), "<test cell>", "exec"), shell.user_ns)


def test_learner_objects_deep_in_large_object_columns_are_found(shell: Shell) -> None:
    """Containers are scanned kind by kind: a learner object among a million strings of an
    object column, or nested in an object array inside a dict, is still found; a clean frame
    of that size is not mistaken for one."""
    import numpy as np
    import pandas as pd

    rt = Runtime(shell=shell, aliases={}, workdir="/nonexistent-workdir")

    class Sneaky:
        def __eq__(self, other: object) -> bool:
            return True

    values: list[object] = ["tea", "coffee"] * 500_000
    clean = pd.DataFrame({"product": pd.Series(values, dtype=object), "units": np.arange(1_000_000)})
    assert rt.taint(clean) is None
    values[123_457] = Sneaky()
    found = rt.taint(pd.DataFrame({"product": pd.Series(values, dtype=object)}))
    assert found is not None and found[0].endswith("Sneaky") and found[1] == "__eq__"
    nested = np.array([[1, "x"], [Sneaky(), 2]], dtype=object)
    assert rt.taint([{"key": (nested,)}]) == found
