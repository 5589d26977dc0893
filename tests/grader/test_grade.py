"""Grading submissions end to end with real kernels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from grader.assessment import Assessment, load_assessment
from grader.grade import GradeOptions, grade_submission, learner_id, learner_seed
from grader.validate import validate_assessment
from tests.grader import factory
from tests.grader.factory import CORRECT

Submit = Callable[..., Path]


def cell_scores(result) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {c.cell: c.score for c in result.cells}


def test_correct_submission_passes(squares: Assessment, submit: Submit, options: GradeOptions) -> None:
    result = grade_submission(squares, submit(squares, "alice", {"squares": CORRECT}), options=options)
    assert result.errors == []
    assert result.learner == "alice"
    assert cell_scores(result) == {"test_squares": 2.0, "test_partial": 1.0, "explain": 0.0}
    assert (result.score, result.max_score) == (3.0, 4.0)
    assert [(c.id, c.passed) for c in result.competencies] == [("functions", True), ("numbers", True)]
    assert result.passed
    assert result.tampered_cells == []


def test_unanswered_release_scores_zero_and_fails(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    result = grade_submission(squares, submit(squares, "carol"), options=options)
    assert result.score == 0.0 and not result.passed
    assert result.errors == []
    explain = next(c for c in result.cells if c.cell == "explain")
    assert explain.kind == "manual" and not explain.needs_manual  # unchanged answer: "no response"


def test_hidden_tests_are_restored_and_count(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    # passes the visible test (n=1) but not the hidden one (n=3)
    cheat = "def squares(n):\n    return [1] if n == 1 else []"
    result = grade_submission(squares, submit(squares, "mallory", {"squares": cheat}), options=options)
    assert cell_scores(result)["test_squares"] == 0.0


def test_tampered_locked_cell_is_restored_and_reported(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    wrong = "def squares(n):\n    return []"
    folder = submit(squares, "dave", {"squares": wrong, "test_squares": "assert True"})
    result = grade_submission(squares, folder, options=options)
    assert result.tampered_cells == ["problem1/test_squares"]
    assert cell_scores(result)["test_squares"] == 0.0


def test_flipped_flags_and_deleted_cells_are_tampering(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    folder = submit(squares, "mallory", {"squares": CORRECT})
    nb = nbformat.read(folder / "problem1.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_squares":
            meta["grade"] = False  # try to make the test cell count for nothing
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_partial"]
    nbformat.write(nb, folder / "problem1.ipynb")
    result = grade_submission(squares, folder, options=options)
    assert sorted(result.tampered_cells) == ["problem1/test_partial", "problem1/test_squares"]
    assert cell_scores(result) == {"test_squares": 2.0, "test_partial": 0.0, "explain": 0.0}


def test_test_cells_not_flagged_locked_are_still_restored(
    make_assessment: Callable[..., Path], submit: Submit, options: GradeOptions
) -> None:
    # nbgrader treats every grade cell that is not a solution as locked, whatever its flag says
    source = factory.squares_source()
    source.cells[2].metadata.nbgrader["locked"] = False
    assessment = load_assessment(make_assessment(notebooks={"problem1.ipynb": source}))
    wrong = "def squares(n):\n    return []"
    folder = submit(assessment, "bitdiddle", {"squares": wrong, "test_squares": "# assert squares(1) == [1]"})
    result = grade_submission(assessment, folder, options=options)
    assert cell_scores(result)["test_squares"] == 0.0
    assert result.tampered_cells == ["problem1/test_squares"]


@pytest.mark.parametrize("schema", [1, 2, 4])
def test_other_nbgrader_metadata_schemas_are_read(
    squares: Assessment, submit: Submit, options: GradeOptions, schema: int
) -> None:
    folder = submit(squares, "hacker", {"squares": CORRECT})
    nb = nbformat.read(folder / "problem1.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            meta["schema_version"] = schema
            if schema < 3:
                meta.pop("task", None)
            if schema == 4:
                meta["duplicate"] = False
    nbformat.write(nb, folder / "problem1.ipynb")
    result = grade_submission(squares, folder, options=options)
    assert result.errors == []
    assert cell_scores(result) == {"test_squares": 2.0, "test_partial": 1.0, "explain": 0.0}


def test_partial_credit_and_manual_answer(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    half = "def squares(n):\n    return [i * i if i % 2 else -1 for i in range(1, n + 1)]"
    folder = submit(squares, "bob", {"squares": half, "explain": "I used a loop."})
    result = grade_submission(squares, folder, options=options)
    scores = {c.cell: c for c in result.cells}
    assert scores["test_partial"].score == 0.5
    assert scores["explain"].needs_manual and result.needs_manual


def test_hidden_errors_still_score_zero(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    hide = (
        CORRECT.replace("i ** 2", "0")
        + "\nip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "import sys\nsys.stderr.write = lambda *a, **k: 0"
    )
    result = grade_submission(squares, submit(squares, "eve", {"squares": hide}), options=options)
    assert cell_scores(result)["test_squares"] == 0.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"cells": [', "not valid JSON"),
        ("[1, 2, 3]", "nbformat rejects"),
        ("\xff\xfe garbage", "not valid JSON"),
    ],
)
def test_corrupt_notebook_is_an_error_not_a_crash(
    squares: Assessment, submit: Submit, options: GradeOptions, raw: str, message: str
) -> None:
    result = grade_submission(squares, submit(squares, "frank", raw=raw), options=options)
    assert result.score == 0.0 and not result.passed
    assert len(result.errors) == 1 and message in result.errors[0]


def test_missing_notebook_and_missing_folder(
    squares: Assessment, options: GradeOptions, tmp_path: Path
) -> None:
    empty = tmp_path / "submitted" / "gina" / "squares"
    empty.mkdir(parents=True)
    result = grade_submission(squares, empty, options=options)
    assert "problem1.ipynb is missing" in result.errors[0]
    gone = grade_submission(squares, tmp_path / "nowhere" / "hank", options=options)
    assert gone.learner == "hank" and "not found" in gone.errors[0]


def test_notebook_from_another_assessment(
    squares: Assessment, options: GradeOptions, tmp_path: Path
) -> None:
    other = factory.notebook(factory.solution("foo", "x = 1"), factory.test("test_foo", "assert x"))
    folder = tmp_path / "ivan"
    factory.write(other, folder / "problem1.ipynb")
    result = grade_submission(squares, folder, options=options)
    assert "another assessment" in result.errors[0]


def test_cell_timeout_is_reported(squares: Assessment, submit: Submit, options: GradeOptions) -> None:
    loop = "def squares(n):\n    while True:\n        pass"
    result = grade_submission(squares, submit(squares, "judy", {"squares": loop}), options=options)
    assert cell_scores(result)["test_squares"] == 0.0
    assert not result.passed


def test_learner_id_follows_nbgrader_layout(squares: Assessment, tmp_path: Path) -> None:
    assert learner_id(tmp_path / "submitted" / "bitdiddle" / "squares", squares) == "bitdiddle"
    assert learner_id(tmp_path / "notebooks" / "squares" / "alice", squares) == "alice"


def test_feedback_never_shows_hidden_tests(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    wrong = "def squares(n):\n    return [1]"
    result = grade_submission(squares, submit(squares, "kim", {"squares": wrong}), options=options)
    assert result.feedback is not None
    page = Path(result.feedback).read_text()
    assert "assert squares(1) == [1]" in page  # the visible test is shown
    assert "squares(3)" not in page and "HIDDEN" not in page
    assert "Write functions" in page


def test_parameters_and_learner_seed_are_injected(
    make_assessment: Callable[..., Path], submit: Submit, options: GradeOptions
) -> None:
    nb = factory.notebook(
        factory.code("seed = 0\nscale = 1", tags=["parameters"]),
        factory.solution("answer", "### BEGIN SOLUTION\nvalue = seed * scale\n### END SOLUTION"),
        factory.test("test_value", "print(seed, scale)\nassert value == seed * 3 and seed > 0"),
    )
    spec = {
        "id": "params", "title": "Params", "parameters": {"scale": 3}, "seed_parameter": "seed",
        "competencies": [{"id": "c", "name": "C"}], "rubric": [{"cell": "p/test_value", "competency": "c"}],
    }
    assessment = load_assessment(make_assessment(spec=spec, notebooks={"p.ipynb": nb}, name="params"))
    folder = submit(assessment, "lee", {"answer": "value = seed * scale"}, notebook="p.ipynb")
    result = grade_submission(assessment, folder, options=options)
    assert cell_scores(result) == {"test_value": 1.0}
    assert learner_seed(b"test", "params", "lee") != learner_seed(b"test", "params", "lea")


def test_validate_accepts_good_and_names_bad_cells(
    squares: Assessment, make_assessment: Callable[..., Path], options: GradeOptions
) -> None:
    report = validate_assessment(squares, options=options)
    assert report.ok, report.problems
    assert (report.solution_score, report.release_score) == (3.0, 0.0)

    broken = factory.notebook(
        factory.solution("f", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        factory.test("always", "assert True"),
        factory.test("never", "assert x == 2"),
    )
    spec = {"id": "broken", "title": "B", "competencies": [{"id": "c", "name": "C"}],
            "rubric": [{"cell": "b/always", "competency": "c"}, {"cell": "b/never", "competency": "c"}]}
    bad = load_assessment(make_assessment(spec=spec, notebooks={"b.ipynb": broken}, name="broken"))
    problems = validate_assessment(bad, options=options).problems
    assert any(p.startswith("b/never: the solution scores 0") for p in problems)
    assert any(p.startswith("b/always: the unanswered student version scores 1") for p in problems)


def test_result_json_has_the_contract_keys(
    squares: Assessment, submit: Submit, options: GradeOptions
) -> None:
    folder = submit(squares, "alice", {"squares": CORRECT})
    record = grade_submission(squares, folder, options=options).as_json()
    json.dumps(record)
    assert {"learner", "assessment", "score", "max_score", "passed", "cells", "competencies",
            "tampered_cells", "feedback", "errors"} <= set(record)
    # the contract's cell keys, plus the documented learner feedback of each cell
    assert set(record["cells"][0]) == {"notebook", "cell", "score", "max_score", "kind", "needs_manual",
                                       "feedback"}
    assert set(record["cells"][0]["feedback"]) == {"status", "origin", "location", "line", "message"}
    assert set(record["competencies"][0]) == {"id", "score", "max_score", "passed"}
