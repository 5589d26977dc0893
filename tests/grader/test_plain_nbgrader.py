"""Plain nbgrader folders as they are: ids, 0-point notebooks, the course config, ``nbcred init``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from grader.assessment import load_assessment
from grader.course import load_course_config
from grader.errors import AssessmentError
from grader.results import CompetencyScore
from grader.scaffold import write_starting_spec
from grader.score import decide
from tests.grader import factory


def _zero_point_notebook() -> object:
    return factory.notebook(
        factory.solution("answer", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
        factory.test("check_f", "assert f() == 1", points=0),
    )


def test_ids_keep_their_spelling(make_assessment: Callable[..., Path]) -> None:
    root = make_assessment(spec=None, name="Lab2", notebooks={"Monte Carlo.ipynb": factory.squares_source()})
    assessment = load_assessment(root)
    assert assessment.id == "Lab2"
    assert [c.id for c in assessment.spec.competencies] == ["Monte-Carlo"]


def test_zero_point_notebooks_load_with_no_spec(make_assessment: Callable[..., Path]) -> None:
    only_zero = load_assessment(make_assessment(spec=None, notebooks={"check.ipynb": _zero_point_notebook()}))
    assert [e.cell for e in only_zero.spec.rubric] == ["check/check_f"]
    mixed = load_assessment(make_assessment(spec=None, name="mixed", notebooks={
        "check.ipynb": _zero_point_notebook(), "problem1.ipynb": factory.squares_source()}))
    assert [c.id for c in mixed.spec.competencies] == ["problem1"]  # self-checks evidence nothing


def test_wait_for_manual_grading_holds_the_pass(make_assessment: Callable[..., Path]) -> None:
    spec = {**factory.SPEC, "pass": {"threshold": 0.5, "wait_for_manual_grading": True}}
    assessment = load_assessment(make_assessment(spec=spec))
    comps = [CompetencyScore("functions", "f", 3, 3, 0.5, True)]
    assert decide(assessment, 3, 4, comps, [], needs_manual=False)
    assert not decide(assessment, 3, 4, comps, [], needs_manual=True)
    plain = load_assessment(make_assessment(spec=factory.SPEC, name="plain"))
    assert decide(plain, 3, 4, comps, [], needs_manual=True)  # default: manual cells count 0


def test_init_writes_a_spec_that_grades_the_same(make_assessment: Callable[..., Path]) -> None:
    root = make_assessment(spec=None, name="ps1")
    before = load_assessment(root).spec
    made = write_starting_spec(root)
    after = load_assessment(root)
    assert made.path == root / "assessment.yaml" and after.has_spec_file
    assert after.spec.rubric == before.rubric and after.spec.competencies == before.competencies
    assert after.spec.pass_rule.wait_for_manual_grading  # the squares notebook has a manual cell
    assert made.manual_cells == 1
    assert "# badge:" in made.path.read_text()
    with pytest.raises(AssessmentError, match=r"already exists.*--force"):
        write_starting_spec(root)


def test_init_on_a_course_folder_keeps_its_files_out_of_the_data(tmp_path: Path) -> None:
    ps1 = tmp_path / "course" / "source" / "ps1"
    factory.write(factory.squares_source(), ps1 / "problem1.ipynb")
    (ps1 / "data.csv").write_text("a\n1\n")
    write_starting_spec(ps1)
    assert load_assessment(ps1).data_files == ("data.csv",)


def _course(tmp_path: Path, config: str) -> Path:
    ps1 = tmp_path / "course" / "source" / "ps1"
    factory.write(factory.squares_source(), ps1 / "problem1.ipynb")
    for name in ("data.csv", "notes.txt", "scratch.log"):
        (ps1 / name).write_text("x")
    (tmp_path / "course" / "nbgrader_config.py").write_text("c = get_config()\n" + config)
    return ps1


def test_course_config_is_read_with_traitlets(tmp_path: Path) -> None:
    factory.write(factory.notebook(factory.text("Welcome")), tmp_path / "course" / "source" / "header.ipynb")
    ps1 = _course(tmp_path, 'c.ExecutePreprocessor.timeout = 9\nc.CourseDirectory.ignore = ["*.log"]\n'
                            'c.IncludeHeaderFooter.header = "source/header.ipynb"\n')
    course = load_course_config(ps1)
    assert course.cell_timeout == 9 and course.ignore == ("*.log",)
    assessment = load_assessment(ps1)
    assert assessment.spec.execution.cell_timeout == 9
    assert assessment.data_files == ("data.csv", "notes.txt")
    assert assessment.notebook("problem1").release.cells[0].source == "Welcome"
    fingerprint = assessment.fingerprint
    (tmp_path / "course" / "source" / "header.ipynb").write_text(
        (tmp_path / "course" / "source" / "header.ipynb").read_text().replace("Welcome", "Hello"))
    assert load_assessment(ps1).fingerprint != fingerprint  # the header is graded input


def test_assessment_yaml_timeout_wins_over_the_course(tmp_path: Path) -> None:
    ps1 = _course(tmp_path, "c.Execute.timeout = 9\n")
    spec = {**factory.SPEC, "id": "ps1", "execution": {"cell_timeout": 4}}
    (ps1 / "assessment.yaml").write_text(yaml.safe_dump(spec))
    assert load_assessment(ps1).spec.execution.cell_timeout == 4


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("c.Execute.timeout = -1\n", "Execute.timeout is -1"),
        ('c.IncludeHeaderFooter.header = "nope.ipynb"\n', "IncludeHeaderFooter.header names 'nope.ipynb'"),
        ("c.Execute.timeout = undefined_name\n", "nbgrader could not load this configuration"),
    ],
)
def test_bad_course_config_says_what_to_fix(tmp_path: Path, config: str, expected: str) -> None:
    ps1 = _course(tmp_path, config)
    with pytest.raises(AssessmentError) as info:
        load_assessment(ps1)
    assert expected in str(info.value) and "nbgrader_config.py" in str(info.value)
    assert "fix:" in str(info.value)
