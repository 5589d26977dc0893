"""The sample catalogue: assessment files are well-formed and grade as intended under nbgrader.

The slow test grades every sample submission in ``notebooks/`` with real nbgrader (a throw-away
course per assessment, all assessments in parallel) and checks each learner's scores.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
import yaml

from tests.paths import ROOT

REPO = ROOT
ASSESSMENTS = REPO / "assessments"
SAMPLES = REPO / "notebooks"
IDS = ["pandas-cleaning", "exploratory-stats", "data-visualisation", "sql-from-python"]
REQUIRED_KEYS = {
    "id", "title", "version", "description", "competencies", "rubric", "pass", "execution", "badge",
}
SOURCE_CHECK = "zz-source"  # the source notebook submitted as-is
RELEASE_CHECK = "zz-release"  # the released notebook submitted untouched


def _load_samples_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module
    spec.loader.exec_module(module)
    return module


samples = _load_samples_module()


def spec_of(assessment_id: str) -> dict[str, Any]:
    data = yaml.safe_load((ASSESSMENTS / assessment_id / "assessment.yaml").read_text())
    assert isinstance(data, dict)
    return data


def grade_cells(assessment_id: str) -> dict[str, dict[str, Any]]:
    """``<stem>/<grade_id>`` -> nbgrader metadata of every grade cell in the source notebooks."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((ASSESSMENTS / assessment_id / "source").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                found[f"{path.stem}/{meta['grade_id']}"] = {**meta, "cell_type": cell.cell_type}
    return found


def autograded_cells(assessment_id: str) -> dict[str, float]:
    return {
        key: float(meta["points"])
        for key, meta in grade_cells(assessment_id).items()
        if not meta.get("solution")
    }


# ----------------------------------------------------------------------------------------------
# fast checks: the files themselves
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assessment_id", IDS)
def test_assessment_yaml_is_complete(assessment_id: str) -> None:
    spec = spec_of(assessment_id)
    assert set(spec) >= REQUIRED_KEYS, REQUIRED_KEYS - set(spec)
    assert spec["id"] == assessment_id
    competencies = {c["id"] for c in spec["competencies"]}
    assert 2 <= len(competencies) <= 4
    cells = grade_cells(assessment_id)
    rubric_cells = [entry["cell"] for entry in spec["rubric"]]
    assert len(rubric_cells) == len(set(rubric_cells))
    for entry in spec["rubric"]:
        assert entry["cell"] in cells, f"{entry['cell']} is not a grade cell in the source"
        assert entry["competency"] in competencies
    assert set(autograded_cells(assessment_id)) <= set(rubric_cells)
    assert {e["competency"] for e in spec["rubric"]} == competencies
    assert 0 < spec["pass"]["threshold"] <= 1
    badge = spec["badge"]
    assert {"name", "description", "criteria", "achievement_type"} <= set(badge)
    if badge.get("image"):
        image = ASSESSMENTS / assessment_id / badge["image"]
        assert image.read_text().lstrip().startswith("<svg")
    listed = spec.get("notebooks") or [p.name for p in (ASSESSMENTS / assessment_id / "source")
                                       .glob("*.ipynb")]
    for name in listed:
        assert (ASSESSMENTS / assessment_id / "source" / name).is_file()
    for data_file in (ASSESSMENTS / assessment_id / "source").iterdir():
        assert data_file.stat().st_size < 100_000, data_file


@pytest.mark.parametrize("assessment_id", IDS)
def test_source_cells_are_nbgrader_cells(assessment_id: str) -> None:
    keys = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
    for path in (ASSESSMENTS / assessment_id / "source").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata["nbgrader"]
            assert keys <= set(meta) and meta["schema_version"] == 3 and meta["task"] is False
            if meta["grade"]:
                assert meta["points"] > 0
            if meta["grade"] and not meta["solution"]:
                assert meta["locked"] and cell.cell_type == "code"
                assert "### BEGIN HIDDEN TESTS" in cell.source
                assert "### END HIDDEN TESTS" in cell.source
            if meta["solution"] and cell.cell_type == "code":
                assert "### BEGIN SOLUTION" in cell.source


@pytest.mark.parametrize("assessment_id", IDS)
def test_spec_parses_with_project_schema(assessment_id: str) -> None:
    spec_module = pytest.importorskip("grader.spec")
    spec_module.AssessmentSpec.model_validate(spec_of(assessment_id))


def test_pathway_stacks_the_catalogue() -> None:
    pathway = yaml.safe_load(
        (ASSESSMENTS / "pathways" / "data-analyst-foundations.yaml").read_text()
    )
    assert pathway["id"] == "data-analyst-foundations"
    assert sorted(pathway["requires"]) == sorted(IDS)
    assert {"name", "description", "criteria"} <= set(pathway)
    if pathway.get("image"):
        assert (ASSESSMENTS / "pathways" / pathway["image"]).is_file()


@pytest.mark.parametrize("assessment_id", IDS)
def test_every_learner_has_every_notebook(assessment_id: str) -> None:
    names = samples.source_notebooks(assessment_id)
    for learner in samples.LEARNERS:
        for name in names:
            assert (SAMPLES / assessment_id / learner / name).is_file()
        for name in names:
            text = (SAMPLES / assessment_id / learner / name).read_text()
            if learner == "frank":
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
            else:
                json.loads(text)


# ----------------------------------------------------------------------------------------------
# slow: real nbgrader
# ----------------------------------------------------------------------------------------------
@dataclass
class Graded:
    """nbgrader's results for one assessment."""

    course: Path
    scores: dict[str, dict[str, float] | None] = field(default_factory=dict)
    autograde_log: str = ""

    def total(self, learner: str) -> float:
        learner_scores = self.scores[learner]
        assert learner_scores is not None, f"{learner} has no submission in the gradebook"
        return sum(learner_scores.values())

    def autograded_nb(self, assessment_id: str, learner: str, name: str) -> NotebookNode:
        path = self.course / "autograded" / learner / assessment_id / name
        return nbformat.read(path, as_version=4)


NotebookNode = nbformat.NotebookNode


def grade(assessment_id: str, root: Path) -> Graded:
    from nbgrader.api import Gradebook, MissingEntry

    course = root / assessment_id
    released = samples.release(course, assessment_id)
    source = ASSESSMENTS / assessment_id / "source"
    data_files = [p for p in source.iterdir() if p.suffix != ".ipynb" and p.is_file()]
    submitters = {learner: SAMPLES / assessment_id / learner for learner in samples.LEARNERS}
    submitters[SOURCE_CHECK] = source
    submitters[RELEASE_CHECK] = released
    for learner, folder in submitters.items():
        target = course / "submitted" / learner / assessment_id
        target.mkdir(parents=True)
        for name in samples.source_notebooks(assessment_id):
            shutil.copy(folder / name, target / name)
        for data_file in data_files:
            shutil.copy(data_file, target / data_file.name)
    proc = samples.nbgrader(course, "autograde", assessment_id, "--force")
    graded = Graded(course=course, autograde_log=proc.stderr)
    autograded = autograded_cells(assessment_id)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", samples.COURSE_ID) as gb:
        for learner in submitters:
            try:
                submission = gb.find_submission(assessment_id, learner)
            except MissingEntry:
                graded.scores[learner] = None
                continue
            scores: dict[str, float] = {}
            for notebook in submission.notebooks:
                for g in notebook.grades:
                    key = f"{notebook.name}/{g.name}"
                    if key in autograded:
                        scores[key] = float(g.auto_score or 0.0)
            graded.scores[learner] = scores
    return graded


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Graded]]:
    root = tmp_path_factory.mktemp("catalogue")
    present = [a for a in IDS if (ASSESSMENTS / a / "assessment.yaml").is_file()]
    # two at a time: four concurrent nbgrader runs on two cores made its kernels time out
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(present, pool.map(lambda a: grade(a, root), present), strict=True))
    yield results


def evaluate(assessment_id: str, scores: dict[str, float]) -> tuple[bool, float, dict[str, float]]:
    """Apply the assessment's rubric and pass rule to autograded scores (manual cells count 0)."""
    spec = spec_of(assessment_id)
    points = {k: float(v["points"]) for k, v in grade_cells(assessment_id).items()}
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    for entry in spec["rubric"]:
        weight = float(entry.get("weight", 1.0))
        comp = entry["competency"]
        earned[comp] = earned.get(comp, 0.0) + weight * scores.get(entry["cell"], 0.0)
        possible[comp] = possible.get(comp, 0.0) + weight * points[entry["cell"]]
    fractions = {c: earned[c] / possible[c] for c in possible}
    overall = sum(scores.values()) / sum(points.values())
    minimums = {
        c["id"]: c.get("min_score", spec["pass"]["competency_minimum"])
        for c in spec["competencies"]
    }
    passed = overall >= spec["pass"]["threshold"] and all(
        fractions[c] >= minimums[c] for c in fractions
    )
    return passed, overall, fractions


# learner -> expected total autograded points, per assessment
EXPECTED_TOTALS: dict[str, dict[str, float]] = {
    "pandas-cleaning": {"alice": 12, "bob": 6, "carol": 1, "dave": 7, "erin": 0},
    "exploratory-stats": {"alice": 10, "bob": 5, "carol": 0, "dave": 5, "erin": 6},
    "data-visualisation": {"alice": 9, "bob": 4, "carol": 0, "dave": 5, "erin": 4},
    "sql-from-python": {"alice": 9, "bob": 4, "carol": 0, "dave": 5, "erin": 0},
}
# test cells that must end in an error other than a failed assertion for erin
ERIN_ERRORS: dict[str, list[str]] = {
    "pandas-cleaning": ["cleaning/test_load_orders", "cleaning/test_clean_orders"],
    "exploratory-stats": ["explore/test_describe_scores", "explore/test_pearson_r"],
    "data-visualisation": ["plots/test_line_data", "plots/test_dashboard"],
    "sql-from-python": ["queries/test_books_in_genre", "queries/test_loans_by_genre"],
}


@pytest.mark.slow
@pytest.mark.parametrize("assessment_id", IDS)
def test_catalogue_grades_as_intended(assessment_id: str, graded: dict[str, Graded]) -> None:
    if assessment_id not in graded:
        pytest.skip(f"{assessment_id} is not in the catalogue yet")
    result = graded[assessment_id]
    autograded = autograded_cells(assessment_id)
    full = sum(autograded.values())
    stem_of = {k: k.split("/")[0] for k in autograded}

    # The source runs clean; the released notebook earns nothing.
    assert result.scores[SOURCE_CHECK] == autograded, result.autograde_log[-3000:]
    assert result.total(RELEASE_CHECK) == 0

    expected = EXPECTED_TOTALS[assessment_id]
    actual = {learner: result.total(learner) for learner in expected}
    assert actual == pytest.approx(expected), actual

    verdicts = {
        learner: evaluate(assessment_id, result.scores[learner] or {}) for learner in expected
    }
    # alice passes with near-full marks
    assert verdicts["alice"][0] and actual["alice"] >= 0.9 * full
    # bob is partial: at least one competency met, but no pass
    bob_passed, _, bob_fractions = verdicts["bob"]
    assert not bob_passed and 0 < actual["bob"] < full
    assert max(bob_fractions.values()) >= spec_of(assessment_id)["pass"]["competency_minimum"]
    # carol fails
    assert not verdicts["carol"][0] and actual["carol"] <= 0.25 * full
    # dave: his edited test cells were restored from the source before grading
    tampered, stripped = samples.TAMPERING[assessment_id]
    for key in (tampered, stripped):
        stem = next(stem_of[k] for k in autograded if k.endswith("/" + key))
        nb = result.autograded_nb(assessment_id, "dave", f"{stem}.ipynb")
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == key)
        assert "### BEGIN HIDDEN TESTS" in cell.source
        assert result.scores["dave"] is not None
        assert result.scores["dave"][f"{stem}/{key}"] == 0
    # erin: the cells that depend on her broken answer error and score 0
    erin_scores = result.scores["erin"]
    assert erin_scores is not None
    for key in ERIN_ERRORS[assessment_id]:
        stem, grade_id = key.split("/")
        assert erin_scores[key] == 0
        nb = result.autograded_nb(assessment_id, "erin", f"{stem}.ipynb")
        cell = next(
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
        )
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[0].ename != "AssertionError", key
    assert not verdicts["erin"][0]
    # frank's notebook cannot be read, so nbgrader records no graded submission for him
    frank = result.scores["frank"]
    assert frank is None or sum(frank.values()) == 0
    assert f"error processing assignment '{assessment_id}' for student 'frank'" in (
        result.autograde_log
    )
    assert not (result.course / "autograded" / "frank" / assessment_id).exists()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 2024])
def test_seeded_assessment_grades_any_seed(seed: int, tmp_path: Path) -> None:
    """With another seed (as papermill injects it), the source still passes every test."""
    papermill = pytest.importorskip("papermill")
    seeded = 0
    for assessment_id in IDS:
        if not (ASSESSMENTS / assessment_id / "assessment.yaml").is_file():
            continue
        spec = spec_of(assessment_id)
        if not spec.get("seed_parameter"):
            continue
        source = ASSESSMENTS / assessment_id / "source"
        for name in samples.source_notebooks(assessment_id):
            out = tmp_path / name
            params = {**spec.get("parameters", {}), spec["seed_parameter"]: seed, "n_rows": 120}
            papermill.execute_notebook(
                str(source / name), str(out), parameters=params, cwd=str(source),
                kernel_name="python3", progress_bar=False,
            )
            nb = nbformat.read(out, as_version=4)
            injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
            assert injected and f"seed = {seed}" in injected[0].source
            seeded += 1
    assert seeded >= 1, "at least one assessment personalises its data with a seed"
