"""Write the nbgrader course used by the differential test.

    python tests/differential/make_corpus.py [COURSE_DIR]

Writes ``source/<assignment>/`` (instructor notebooks with nbgrader markup and
a data file), runs the real ``nbgrader generate_assignment`` in a temporary
course to get the released notebooks, and writes one submission per student
under ``submitted/<student>/<assignment>/``, made by editing the released
notebooks the way that student would. ``manifest.json`` records, per
submission, what the student did and which locked cells they changed.

The output is deterministic: running it again on an unchanged script gives
byte-identical files.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbgrader_reference import release_assignments, write_config

HERE = Path(__file__).resolve().parent
DEFAULT_COURSE = HERE / "course"

NB_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


# --------------------------------------------------------------------------
# instructor notebooks
# --------------------------------------------------------------------------


def _nbgrader_meta(
    grade_id: str,
    *,
    grade: bool = False,
    solution: bool = False,
    locked: bool = False,
    task: bool = False,
    points: float | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


class Builder:
    """Collects the cells of one source notebook."""

    def __init__(self) -> None:
        self.cells: list[NotebookNode] = []

    def _add(self, cell: NotebookNode) -> None:
        cell["id"] = f"cell-{len(self.cells):02d}"
        self.cells.append(cell)

    def markdown(self, source: str) -> None:
        self._add(nbformat.v4.new_markdown_cell(source))

    def code(self, source: str) -> None:
        self._add(nbformat.v4.new_code_cell(source))

    def readonly(self, grade_id: str, source: str) -> None:
        """A locked code cell that is not graded (e.g. given data)."""
        self._add(nbformat.v4.new_code_cell(source, metadata=_nbgrader_meta(grade_id, locked=True)))

    def solution(self, grade_id: str, source: str) -> None:
        """An ungraded code cell the student fills in."""
        self._add(nbformat.v4.new_code_cell(source, metadata=_nbgrader_meta(grade_id, solution=True)))

    def test(self, grade_id: str, points: float, source: str) -> None:
        """An autograded, locked test cell."""
        meta = _nbgrader_meta(grade_id, grade=True, locked=True, points=points)
        self._add(nbformat.v4.new_code_cell(source, metadata=meta))

    def manual_markdown(self, grade_id: str, points: float, source: str) -> None:
        meta = _nbgrader_meta(grade_id, grade=True, solution=True, points=points)
        self._add(nbformat.v4.new_markdown_cell(source, metadata=meta))

    def manual_code(self, grade_id: str, points: float, source: str) -> None:
        meta = _nbgrader_meta(grade_id, grade=True, solution=True, points=points)
        self._add(nbformat.v4.new_code_cell(source, metadata=meta))

    def task(self, grade_id: str, points: float, source: str) -> None:
        meta = _nbgrader_meta(grade_id, task=True, locked=True, points=points)
        self._add(nbformat.v4.new_markdown_cell(source, metadata=meta))

    def notebook(self) -> NotebookNode:
        nb: NotebookNode = nbformat.v4.new_notebook(cells=self.cells, metadata=dict(NB_METADATA))
        nb.nbformat_minor = 5
        return nb


def ps1_problem1() -> NotebookNode:
    b = Builder()
    b.markdown("# Problem 1: squares\n\nWrite `squares(n)` returning `[1, 4, ..., n**2]`.")
    b.solution(
        "squares",
        'def squares(n):\n    """Return the squares of 1..n."""\n'
        "    ### BEGIN SOLUTION\n"
        "    if n < 1:\n"
        '        raise ValueError("n must be positive")\n'
        "    return [i * i for i in range(1, n + 1)]\n"
        "    ### END SOLUTION",
    )
    b.test(
        "correct_squares",
        1,
        '"""Check that squares returns the right values."""\n'
        "assert squares(1) == [1]\n"
        "assert squares(3) == [1, 4, 9]\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert squares(10) == [i * i for i in range(1, 11)]\n"
        "### END HIDDEN TESTS",
    )
    b.test(
        "squares_invalid_input",
        1,
        '"""Check that squares rejects n < 1."""\n'
        "try:\n"
        "    squares(0)\n"
        "except ValueError:\n"
        "    pass\n"
        "else:\n"
        '    raise AssertionError("squares(0) did not raise ValueError")',
    )
    b.markdown("Explain in one sentence how your function works.")
    b.manual_markdown(
        "squares_explanation",
        2,
        "It builds the list with a comprehension over `range(1, n + 1)`.",
    )
    return b.notebook()


def ps1_problem2() -> NotebookNode:
    b = Builder()
    b.markdown("# Problem 2: scores\n\nThe table `data.csv` holds one score per person.")
    b.code('import pandas as pd\n\nscores = pd.read_csv("data.csv")\nscores.head()')
    b.solution(
        "mean_score",
        "def mean_score(frame):\n"
        "    ### BEGIN SOLUTION\n"
        '    return float(frame["score"].mean())\n'
        "    ### END SOLUTION",
    )
    b.test(
        "correct_mean",
        2,
        "assert mean_score(scores) == 7.0\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert mean_score(scores.iloc[:1]) == 8.0\n"
        "### END HIDDEN TESTS",
    )
    # The last expression is a numpy scalar, whose text/plain is
    # "np.float64(...)" with numpy 2: nbgrader cannot parse it as a number
    # and gives full credit. The differential test pins that behaviour.
    b.test(
        "partial_mean",
        2,
        '"""Partial credit: prefixes of the table that average correctly, scaled to 2."""\n'
        "import numpy as np\n"
        "\n"
        "hits = np.array(\n"
        '    [mean_score(scores.iloc[:k]) == scores["score"].iloc[:k].mean() for k in range(1, 5)]\n'
        ")\n"
        "hits.mean() * 2",
    )
    b.markdown("Show the name of the top scorer (graded by hand).")
    b.manual_code(
        "top_scorer",
        1,
        '### BEGIN SOLUTION\nscores.sort_values("score").iloc[-1]["name"]\n### END SOLUTION',
    )
    b.task(
        "task_summary",
        2,
        "**Task:** summarise what the table says about the two groups. Add your own cells below.",
    )
    return b.notebook()


PS1_DATA = "name,group,score\nada,a,8\nalan,b,6\ngrace,a,10\nlinus,b,4\n"


def ps2_functions() -> NotebookNode:
    b = Builder()
    b.markdown("# Functions\n\nThree small functions.")
    b.solution(
        "fib",
        "def fib(n):\n"
        '    """The n-th Fibonacci number, fib(0) == 0."""\n'
        "    ### BEGIN SOLUTION\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a\n"
        "    ### END SOLUTION",
    )
    b.test(
        "fib_partial",
        3,
        '"""Partial credit: the share of cases that are right, scaled to 3 points."""\n'
        "cases = {0: 0, 1: 1, 2: 1, 5: 5, 10: 55}\n"
        "### BEGIN HIDDEN TESTS\n"
        "cases.update({3: 2, 20: 6765, 25: 75025})\n"
        "### END HIDDEN TESTS\n"
        "passed = 0\n"
        "for n, want in cases.items():\n"
        "    try:\n"
        "        passed += fib(n) == want\n"
        "    except Exception:\n"
        "        pass\n"
        "3 * passed / len(cases)",
    )
    b.solution(
        "safe_div",
        "def safe_div(a, b):\n"
        '    """a / b, or None when b is 0."""\n'
        "    ### BEGIN SOLUTION\n"
        "    if b == 0:\n"
        "        return None\n"
        "    return a / b\n"
        "    ### END SOLUTION",
    )
    b.test(
        "safe_div_test",
        2,
        "assert safe_div(6, 3) == 2\n"
        "assert safe_div(1, 0) is None\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert safe_div(0, 5) == 0\n"
        "### END HIDDEN TESTS",
    )
    b.solution(
        "normalize",
        "def normalize(words):\n"
        '    """Strip and lower-case every word."""\n'
        "    ### BEGIN SOLUTION\n"
        "    return [w.strip().lower() for w in words]\n"
        "    ### END SOLUTION",
    )
    b.test(
        "normalize_quiet",
        1,
        '"""normalize must give clean words and print nothing to stderr."""\n'
        'assert normalize([" A", "b "]) == ["a", "b"]\n'
        "assert normalize([]) == []",
    )
    # Ends in a bool: text/plain "False" is not a number, so nbgrader gives
    # full credit even when the comparison fails.
    b.test("normalize_bool", 1, 'normalize(["X "]) == ["x"]')
    b.markdown("Which function was hardest to get right, and why?")
    b.manual_markdown("reflection", 1, "fib, because of the off-by-one at n == 0.")
    return b.notebook()


def ps3_pipeline() -> NotebookNode:
    b = Builder()
    b.markdown("# Pipeline\n\nParse the records below. Do not edit the data cell.")
    b.readonly(
        "raw_data",
        'RAW = ["ada, 36", "alan,41", " grace , 85", "linus,  54"]',
    )
    b.solution(
        "parse_record",
        "def parse_record(line):\n"
        '    """Split \'name, age\' into (name, int(age))."""\n'
        "    ### BEGIN SOLUTION\n"
        '    name, age = line.split(",")\n'
        "    return name.strip(), int(age)\n"
        "    ### END SOLUTION",
    )
    b.test(
        "parse_ok",
        2,
        'assert parse_record("ada, 36") == ("ada", 36)\n'
        'assert parse_record(" x ,1") == ("x", 1)\n'
        "### BEGIN HIDDEN TESTS\n"
        'assert parse_record("bob,  7") == ("bob", 7)\n'
        "### END HIDDEN TESTS",
    )
    b.solution(
        "build_records",
        "### BEGIN SOLUTION\nrecords = [parse_record(line) for line in RAW]\n### END SOLUTION",
    )
    b.test(
        "records_ok",
        2,
        'assert records == [("ada", 36), ("alan", 41), ("grace", 85), ("linus", 54)]',
    )
    b.solution(
        "oldest",
        "def oldest(recs):\n"
        "    ### BEGIN SOLUTION\n"
        "    return max(recs, key=lambda r: r[1])[0]\n"
        "    ### END SOLUTION",
    )
    b.test(
        "oldest_ok",
        1,
        'assert oldest(records) == "grace"\n'
        "### BEGIN HIDDEN TESTS\n"
        'assert oldest([("a", 1)]) == "a"\n'
        "### END HIDDEN TESTS",
    )
    b.markdown("Compute the mean age (graded by hand).")
    b.manual_code(
        "explore",
        2,
        "### BEGIN SOLUTION\nages = [age for _, age in records]\nsum(ages) / len(ages)\n### END SOLUTION",
    )
    b.task("task_edge_cases", 1, "**Task:** name two inputs that `parse_record` cannot handle.")
    return b.notebook()


def ps4_outputs() -> NotebookNode:
    """Test cells whose last output is read as partial credit, in its many forms.

    nbgrader parses text/plain with float(): numbers are credit (0 scores 0),
    anything else (a quoted string, a list, a Fraction) and NaN or a negative
    number give full credit; stderr output scores 0; display() and a trailing
    semicolon leave no execute_result, so full credit.
    """
    b = Builder()
    b.markdown("# Outputs\n\nWrite `ratio(a, b)`.")
    b.solution(
        "ratio",
        "def ratio(a, b):\n"
        '    """a / b, and nan for 0 / 0."""\n'
        "    ### BEGIN SOLUTION\n"
        "    if a == 0 and b == 0:\n"
        '        return float("nan")\n'
        "    return a / b\n"
        "    ### END SOLUTION",
    )
    b.test("out_number", 2, "ratio(3, 2)")
    b.test("out_str", 1, "str(ratio(1, 2))")
    b.test("out_list", 1, "[ratio(1, 2)]")
    b.test("out_negative", 1, "ratio(-1, 2)")
    b.test("out_zero", 1, "ratio(0, 5)")
    b.test("out_nan", 1, "ratio(0, 0)")
    b.test("out_semicolon", 1, "ratio(1, 4);")
    b.test("out_print_then_value", 1, 'print("ratio(1, 4) =", ratio(1, 4))\nratio(1, 4)')
    b.test("out_display", 1, "from IPython.display import display\n\ndisplay(ratio(1, 4))")
    b.test(
        "out_fraction",
        1,
        "from fractions import Fraction\n\nFraction(ratio(1, 4)).limit_denominator()",
    )
    b.test("out_float_text", 1, "0.1 + 0.2 if ratio(1, 2) == 0.5 else 0.0")
    b.test(
        "out_warning",
        1,
        'import warnings\n\nwarnings.warn("ratio is checked twice")\nratio(1, 2)',
    )
    return b.notebook()


SOURCE: dict[str, dict[str, Callable[[], NotebookNode]]] = {
    "ps1": {"problem1": ps1_problem1, "problem2": ps1_problem2},
    "ps2": {"functions": ps2_functions},
    "ps3": {"pipeline": ps3_pipeline},
    "ps4": {"outputs": ps4_outputs},
}
DATA_FILES = {"ps1": {"data.csv": PS1_DATA}}


# --------------------------------------------------------------------------
# student edits of the released notebooks
# --------------------------------------------------------------------------


def _find(nb: NotebookNode, grade_id: str) -> NotebookNode:
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            found: NotebookNode = cell
            return found
    raise KeyError(grade_id)


@dataclass
class Submission:
    """A student's copy of one assignment, edited from the released files."""

    student: str
    assignment: str
    release: Path
    notes: list[str] = field(default_factory=list)
    notebooks: dict[str, NotebookNode] = field(default_factory=dict)
    # locked cells whose source the student changed: must be reported as tampered
    source_tampered: set[str] = field(default_factory=set)
    # nbgrader cells the student changed beyond writing an answer (locked source,
    # cell type, metadata, deletion): may be reported as tampered
    cells_touched: set[str] = field(default_factory=set)
    omit_files: set[str] = field(default_factory=set)
    # other files of the submission, by relative path: replace the released ones
    files: dict[str, str] = field(default_factory=dict)
    # notebooks besides the released ones, by relative path without ".ipynb"
    extra_notebooks: dict[str, NotebookNode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path in sorted(self.release.glob("*.ipynb")):
            self.notebooks[path.stem] = nbformat.read(path, as_version=4)

    def _cell(self, notebook: str, grade_id: str) -> NotebookNode:
        return _find(self.notebooks[notebook], grade_id)

    def _touch(self, notebook: str, grade_id: str) -> None:
        self.cells_touched.add(f"{notebook}/{grade_id}")

    def answer(self, notebook: str, grade_id: str, source: str) -> None:
        cell = self._cell(notebook, grade_id)
        cell.source = source

    def answer_like_source(self, notebook: str, grade_id: str) -> None:
        """Answer with the instructor's solution (markers removed)."""
        src_cell = _find(SOURCE[self.assignment][notebook](), grade_id)
        lines = [
            line
            for line in src_cell.source.splitlines()
            if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
        ]
        self.answer(notebook, grade_id, "\n".join(lines))

    def answer_all_correctly(self) -> None:
        for name, nb in self.notebooks.items():
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("solution"):
                    self.answer_like_source(name, cell.metadata.nbgrader.grade_id)

    def tamper(self, notebook: str, grade_id: str, source: str) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        self.source_tampered.add(f"{notebook}/{grade_id}")
        cell.source = source

    def set_points(self, notebook: str, grade_id: str, points: float) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        cell.metadata.nbgrader.points = points

    def unlock(self, notebook: str, grade_id: str) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        cell.metadata.nbgrader.locked = False
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)

    def change_type(self, notebook: str, grade_id: str, cell_type: str) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        if cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        else:
            new = nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)
        new["id"] = cell["id"]
        cells = self.notebooks[notebook].cells
        cells[cells.index(cell)] = new

    def delete(self, notebook: str, grade_id: str) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        self.notebooks[notebook].cells.remove(cell)

    def strip_metadata(self, notebook: str, grade_id: str) -> None:
        cell = self._cell(notebook, grade_id)
        self._touch(notebook, grade_id)
        cell.metadata = NotebookNode()

    def forge_output(self, notebook: str, grade_id: str, text: str) -> None:
        """Leave a stale output in the submitted file (autograders must ignore it)."""
        cell = self._cell(notebook, grade_id)
        cell.execution_count = 1
        cell.outputs = [
            nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1)
        ]

    def set_kernel(self, notebook: str, name: str) -> None:
        self.notebooks[notebook].metadata.kernelspec = NotebookNode(
            {"display_name": name, "language": "python", "name": name}
        )

    def drop_notebook(self, notebook: str) -> None:
        del self.notebooks[notebook]

    def write(self, course: Path) -> dict[str, Any]:
        dest = course / "submitted" / self.student / self.assignment
        dest.mkdir(parents=True)
        for path in sorted(self.release.iterdir()):
            if path.suffix != ".ipynb" and path.name not in self.omit_files:
                shutil.copyfile(path, dest / path.name)
        for relpath, text in self.files.items():
            (dest / relpath).write_text(text)
        for name, nb in {**self.notebooks, **self.extra_notebooks}.items():
            nbformat.validate(nb)
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest / f"{name}.ipynb")
        return {
            "student": self.student,
            "assignment": self.assignment,
            "notes": self.notes,
            "notebooks": sorted(self.notebooks),
            "must_flag_tampered": sorted(self.source_tampered),
            "may_flag_tampered": sorted(self.cells_touched),
        }


def alice(s: Submission) -> None:
    s.notes.append("correct answers everywhere; manual answers written")
    s.answer_all_correctly()
    if s.assignment == "ps1":
        s.notes.append("did not include data.csv (the grader must supply it from source)")
        s.omit_files.add("data.csv")
    elif s.assignment == "ps2":
        s.notes.append("Jupyter's .ipynb_checkpoints/ with a stale copy is in the submission")
        stale = nbformat.read(s.release / "functions.ipynb", as_version=4)
        s.extra_notebooks[".ipynb_checkpoints/functions-checkpoint"] = stale


def bob(s: Submission) -> None:
    s.notes.append("partially right")
    s.answer_all_correctly()
    if s.assignment == "ps1":
        s.answer(
            "problem1",
            "squares",
            "def squares(n):\n    return [i * i for i in range(1, n + 1)]",
        )
        # right only for the whole 4-row table: correct_mean's hidden test fails,
        # partial_mean outputs np.float64(0.5)
        s.answer("problem2", "mean_score", 'def mean_score(frame):\n    return frame["score"].sum() / 4')
    elif s.assignment == "ps2":
        # wrong only for n == 0: 7 of the 8 cases pass (4 of the 5 visible ones)
        s.answer(
            "functions",
            "fib",
            "def fib(n):\n    a, b = 1, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a",
        )
        s.answer("functions", "safe_div", "def safe_div(a, b):\n    return a / b")
        s.answer("functions", "normalize", "def normalize(words):\n    return [w.strip() for w in words]")
    elif s.assignment == "ps3":
        s.answer(
            "pipeline",
            "oldest",
            "def oldest(recs):\n    return min(recs, key=lambda r: r[1])[0]",
        )
        s.notes.append("left the manual 'explore' answer unchanged but for a final newline")
        s.answer("pipeline", "explore", _release_source(s, "pipeline", "explore") + "\n")
    elif s.assignment == "ps4":
        s.answer("outputs", "ratio", "def ratio(a, b):\n    return round(a / b)")


def _release_source(s: Submission, notebook: str, grade_id: str) -> str:
    return str(_find(nbformat.read(s.release / f"{notebook}.ipynb", as_version=4), grade_id).source)


def carol(s: Submission) -> None:
    s.notes.append("submitted the released notebooks unchanged (no response anywhere)")


def dave(s: Submission) -> None:
    s.answer_all_correctly()
    if s.assignment == "ps1":
        s.notes.append("syntax error in squares: later tests fail with NameError")
        s.answer(
            "problem1",
            "squares",
            "def squares(n)\n    return [i * i for i in range(1, n + 1)]",
        )
        s.notes.append("raised points of correct_mean to 20 and unlocked partial_mean")
        s.set_points("problem2", "correct_mean", 20)
        s.unlock("problem2", "partial_mean")
    elif s.assignment == "ps2":
        s.notes.append("raised points of the manual 'reflection' cell to 5")
        s.set_points("functions", "reflection", 5)
    elif s.assignment == "ps3":
        s.notes.append("parse_record raises on 'alan,41': records never defined, NameErrors")
        s.answer(
            "pipeline",
            "parse_record",
            'def parse_record(line):\n    name, age = line.split(", ")\n    return name.strip(), int(age)',
        )


def erin(s: Submission) -> None:
    s.answer_all_correctly()
    if s.assignment == "ps1":
        s.notes.append("did not submit problem2.ipynb")
        s.drop_notebook("problem2")
    elif s.assignment == "ps2":
        s.notes.append("deleted the safe_div_test cell; added an unrelated scratch notebook")
        s.delete("functions", "safe_div_test")
        scratch = Builder()
        scratch.code("print('trying things out')\n1 / 0")
        s.extra_notebooks["scratch"] = scratch.notebook()
    elif s.assignment == "ps3":
        s.notes.append("left the task and the manual 'explore' answer unchanged")
        s.answer("pipeline", "explore", _release_source(s, "pipeline", "explore"))
        s.notes.append("changed the points of the unanswered 'explore' cell to 4")
        s.set_points("pipeline", "explore", 4)


def frank(s: Submission) -> None:
    s.answer_all_correctly()
    if s.assignment == "ps1":
        s.notes.append("turned the markdown answer cell into a code cell")
        s.change_type("problem1", "squares_explanation", "code")
        # graders use the instructor's data files, not the submitted ones
        s.notes.append("submitted an edited data.csv (mean 8 instead of 7)")
        s.files["data.csv"] = PS1_DATA.replace("linus,b,4", "linus,b,8")
    elif s.assignment == "ps2":
        s.notes.append("normalize prints to stderr: tests calling it score 0")
        s.answer(
            "functions",
            "normalize",
            "import sys\n\n\ndef normalize(words):\n"
            '    print("normalizing", len(words), "words", file=sys.stderr)\n'
            "    return [w.strip().lower() for w in words]",
        )
    elif s.assignment == "ps3":
        s.notes.append("turned the locked parse_ok test cell into markdown")
        s.change_type("pipeline", "parse_ok", "markdown")
        s.notes.append("notebook names a kernel that does not exist here")
        s.set_kernel("pipeline", "python3-frank")


def mallory(s: Submission) -> None:
    s.answer_all_correctly()
    s.notes.append("tampered with locked cells")
    if s.assignment == "ps1":
        s.answer("problem1", "squares", "def squares(n):\n    return []")
        s.tamper("problem1", "correct_squares", "assert True")
        s.answer("problem2", "mean_score", "def mean_score(frame):\n    return 7.0")
        s.tamper("problem2", "correct_mean", "assert True  # checked by hand")
        s.forge_output("problem2", "partial_mean", "2.0")
    elif s.assignment == "ps2":
        s.answer("functions", "fib", "def fib(n):\n    return 0")
        s.tamper("functions", "fib_partial", "3.0")
        s.answer("functions", "safe_div", "def safe_div(a, b):\n    return a / b")
        s.tamper("functions", "safe_div_test", "assert True")
        s.set_points("functions", "normalize_bool", 10)
    elif s.assignment == "ps3":
        # parse_record keeps the spaces around names; editing the locked data
        # cell would hide that, nbgrader restores it
        s.answer(
            "pipeline",
            "parse_record",
            'def parse_record(line):\n    name, age = line.split(",")\n    return name, int(age)',
        )
        s.tamper("pipeline", "raw_data", 'RAW = ["ada,36", "alan,41", "grace,85", "linus,54"]')
        s.tamper("pipeline", "parse_ok", "assert True")
        s.notes.append("removed the nbgrader metadata of oldest_ok")
        s.strip_metadata("pipeline", "oldest_ok")


STUDENTS: dict[str, Callable[[Submission], None]] = {
    "alice": alice,
    "bob": bob,
    "carol": carol,
    "dave": dave,
    "erin": erin,
    "frank": frank,
    "mallory": mallory,
}

# who submitted what, where not everyone did
SUBMITTERS = {"ps4": ["alice", "bob", "carol"]}


# --------------------------------------------------------------------------


def write_source(course: Path) -> None:
    for assignment, notebooks in SOURCE.items():
        folder = course / "source" / assignment
        folder.mkdir(parents=True)
        for name, make in notebooks.items():
            nb = make()
            nbformat.validate(nb)
            nbformat.write(nb, folder / f"{name}.ipynb")
        for filename, text in DATA_FILES.get(assignment, {}).items():
            (folder / filename).write_text(text)


def release(course: Path, work: Path) -> Path:
    """Run nbgrader generate_assignment on a copy of source/; return its release/."""
    tmp_course = work / "course"
    shutil.copytree(course / "source", tmp_course / "source")
    write_config(tmp_course, work / "gradebook.sqlite")
    release_assignments(tmp_course, list(SOURCE))
    return tmp_course / "release"


def main(course: Path = DEFAULT_COURSE) -> None:
    for top in ("source", "submitted"):
        shutil.rmtree(course / top, ignore_errors=True)
    course.mkdir(parents=True, exist_ok=True)
    write_source(course)
    manifest: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nbcred-release-") as tmp:
        released = release(course, Path(tmp))
        for student, behave in STUDENTS.items():
            for assignment in SOURCE:
                if student not in SUBMITTERS.get(assignment, STUDENTS):
                    continue
                sub = Submission(student, assignment, released / assignment)
                behave(sub)
                manifest.append(sub.write(course))
    (course / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_COURSE)
