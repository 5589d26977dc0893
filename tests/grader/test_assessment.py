"""Loading, validating and releasing assessments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.assessment import load_assessment
from grader.errors import AssessmentError
from grader.release import write_release
from grader.spec import DEFAULT_PASS_THRESHOLD
from tests.grader.factory import SPEC


def test_loads_spec_and_grade_cells(make_assessment: Callable[..., Path]) -> None:
    assessment = load_assessment(make_assessment())
    cells = {c.key: (c.kind, c.points, c.has_hidden_tests) for c in assessment.grade_cells()}
    assert cells == {
        "problem1/test_squares": ("autograded", 2.0, True),
        "problem1/test_partial": ("autograded", 1.0, False),
        "problem1/explain": ("manual", 1.0, False),
    }
    assert assessment.spec.pass_rule.threshold == 0.5
    assert len(assessment.fingerprint) == 64


def test_plain_nbgrader_folder_gets_default_rubric(make_assessment: Callable[..., Path]) -> None:
    root = make_assessment(spec=None, name="ps1")
    assessment = load_assessment(root / "source")  # course/source/ps1 layout: notebooks directly inside
    assert assessment.id == "source" or assessment.id == "ps1"
    assert [c.id for c in assessment.spec.competencies] == ["problem1"]
    assert {e.cell for e in assessment.spec.rubric} == {
        "problem1/test_squares", "problem1/test_partial", "problem1/explain"}
    assert assessment.spec.pass_rule.threshold == DEFAULT_PASS_THRESHOLD


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"pass": {"threshold": 1.5}}, "field 'pass.threshold'"),
        ({"colour": "blue"}, "field 'colour': Extra inputs are not permitted"),
        ({"rubric": [{"cell": "problem1/nope", "competency": "functions"}]}, "is not a grade cell"),
        ({"rubric": [{"cell": "problem1/test_squares", "competency": "ghost"}]}, "not declared"),
        ({"rubric": [{"cell": "problem1/test_squares", "competency": "functions"}]}, "have no rubric cells"),
        ({"competencies": []}, "field 'competencies'"),
        ({"id": "Bad Id"}, "field 'id'"),
    ],
)
def test_spec_errors_name_file_field_and_fix(
    make_assessment: Callable[..., Path], change: dict, expected: str
) -> None:
    spec = {**SPEC, **change}
    root = make_assessment(spec=spec)
    if "id" in change:
        (root / "assessment.yaml").write_text((root / "assessment.yaml").read_text().replace(
            "id: squares", "id: Bad Id"))
    with pytest.raises(AssessmentError) as info:
        load_assessment(root)
    message = str(info.value)
    assert expected in message
    assert "assessment.yaml" in message
    assert "fix:" in message


def test_corrupt_source_notebook_is_named(make_assessment: Callable[..., Path]) -> None:
    root = make_assessment()
    (root / "source" / "problem1.ipynb").write_text("{not json")
    with pytest.raises(AssessmentError, match=r"problem1\.ipynb.*cannot read source notebook"):
        load_assessment(root)


def test_release_clears_solutions_and_hidden_tests(
    make_assessment: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_assessment(data={"data.csv": "a,b\n1,2\n"})
    assessment = load_assessment(root)
    written = write_release(assessment, tmp_path / "release")
    names = sorted(p.name for p in written)
    assert names == ["data.csv", "problem1.ipynb"]
    text = (tmp_path / "release" / "problem1.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" not in text and "squares(3) == [1, 4, 9]" not in text
    assert "BEGIN SOLUTION" not in text and "i * i" not in text
    assert "YOUR CODE HERE" in text
    release = assessment.notebooks[0].release
    locked = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("locked")]
    assert locked and all("checksum" in c.metadata.nbgrader for c in locked)
    # the reference keeps the hidden tests that grading restores
    reference = assessment.notebooks[0].reference
    assert any("squares(3) == [1, 4, 9]" in c.source for c in reference.cells)
