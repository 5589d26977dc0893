"""Build nbgrader-marked notebooks in tests, cell by cell (like nbgrader's own test helpers)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def solution(grade_id: str, source: str) -> NotebookNode:
    return new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def test(grade_id: str, source: str, points: float = 1) -> NotebookNode:
    return new_code_cell(
        source, metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points)
    )


def manual(grade_id: str, source: str, points: float = 1) -> NotebookNode:
    return new_markdown_cell(
        source, metadata=_meta(grade_id, grade=True, solution=True, locked=False, points=points)
    )


def text(source: str) -> NotebookNode:
    return new_markdown_cell(source)


def code(source: str, tags: list[str] | None = None) -> NotebookNode:
    return new_code_cell(source, metadata={"tags": tags} if tags else {})


def notebook(*cells: NotebookNode) -> NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(nb: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def squares_source() -> NotebookNode:
    """A two-test source notebook with hidden tests, a partial-credit test and a manual answer."""
    return notebook(
        text("# Squares"),
        solution("squares", "def squares(n):\n    ### BEGIN SOLUTION\n"
                 "    return [i * i for i in range(1, n + 1)]\n    ### END SOLUTION"),
        test("test_squares", "assert squares(1) == [1]\n### BEGIN HIDDEN TESTS\n"
             "assert squares(3) == [1, 4, 9]\n### END HIDDEN TESTS", points=2),
        test("test_partial", "sum(x > 0 for x in squares(4)) / 4 * 1.0", points=1),
        manual("explain", "Explain your approach.\n\n### BEGIN SOLUTION\nA comprehension."
               "\n### END SOLUTION", points=1),
    )


SPEC = {
    "id": "squares",
    "title": "Squares",
    "version": "1.0",
    "competencies": [
        {"id": "functions", "name": "Write functions", "description": "Define a function."},
        {"id": "numbers", "name": "Compute", "description": "Compute numbers.", "min_score": 0.5},
    ],
    "rubric": [
        {"cell": "problem1/test_squares", "competency": "functions", "weight": 2},
        {"cell": "problem1/test_partial", "competency": "numbers"},
        {"cell": "problem1/explain", "competency": "functions"},
    ],
    "pass": {"threshold": 0.5, "competency_minimum": 0.6},
    "execution": {"cell_timeout": 5, "notebook_timeout": 20},
    "badge": {"name": "Squares", "description": "Squares badge", "criteria": "Pass the tests."},
}

CORRECT = "def squares(n):\n    return [i ** 2 for i in range(1, n + 1)]"
