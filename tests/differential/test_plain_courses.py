"""A plain nbgrader course, as an instructor has it, grades as nbgrader grades it.

The course is put together from public nbgrader material (nbgrader's documentation course
``course101`` with its header notebook and a submission, nbgrader's own 0-point test notebook
and its ``### AUTOTEST`` example) plus one small assignment written here, and it carries its
own ``nbgrader_config.py``: a 3-second cell timeout, an ignore list that leaves ``*.csv``
behind, and the header notebook.
No ``assessment.yaml`` anywhere; one submission per assignment keeps it quick. A second course,
CS1302's ``Lab2`` (an outside course, as published), grades with its own ids and no config.
``nbcred grade`` must exit 0 and match real nbgrader cell for cell, and each configuration
line must change the outcome the way it changes nbgrader's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import nbgrader
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from compare_results import compare
from nbgrader_reference import Results, list_assignments, reference_results
from test_vs_nbgrader import run_nbcred_grade

pytestmark = pytest.mark.slow

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
COURSE101 = CORPORA / "course101"
CS1302 = CORPORA / "outside-courses" / "cs1302"
OUTSIDE_STUDENTS = ("s4_tamper", "s6_stderr")
NBGRADER_FILES = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
CONFIG = """\
c.Execute.timeout = 3
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.csv"]
c.IncludeHeaderFooter.header = "source/header.ipynb"
"""


def _cell(kind: str, grade_id: str, source: str, points: float = 0) -> Any:
    meta: dict[str, Any] = {"grade_id": grade_id, "schema_version": 3, "task": False,
                            "grade": kind == "test", "solution": kind == "solution",
                            "locked": kind == "test"}
    if kind == "test":
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": meta})


def _timed_notebook(answer: str) -> Any:
    nb = new_notebook(cells=[
        new_markdown_cell("Return 1."),
        _cell("solution", "answer", f"def one():\n{answer}"),
        _cell("test", "test_fast", "assert one() == 1", 1),
        _cell("test", "test_slow", "import time\ntime.sleep(8)\nassert one() == 1", 1),
        _cell("test", "test_table", "assert open('table.csv').read().startswith('a,b')", 1),
        _cell("test", "test_notes", "assert open('notes.txt').read() == 'kept'", 1),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def build_course(root: Path) -> Path:
    """``root``: source/{ps1,SelfCheck,timed}, submitted/<student>/<assignment>, the config."""
    if not COURSE101.is_dir():
        pytest.skip(f"the public course corpus is not at {COURSE101}")
    source, submitted = root / "source", root / "submitted"
    shutil.copytree(COURSE101 / "source" / "ps1", source / "ps1")
    shutil.copy2(COURSE101 / "source" / "header.ipynb", source / "header.ipynb")
    for student in ("bitdiddle",):
        shutil.copytree(COURSE101 / "submitted" / student / "ps1", submitted / student / "ps1")
    zero = NBGRADER_FILES / "validation-zero-points.ipynb"
    (source / "SelfCheck").mkdir()
    shutil.copy2(zero, source / "SelfCheck" / "Squares.ipynb")
    for student, fix in (("ben", True),):
        nb = nbformat.read(zero, as_version=4)
        if fix:
            nb.cells[1].source = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"
        (submitted / student / "SelfCheck").mkdir(parents=True)
        nbformat.write(nb, submitted / student / "SelfCheck" / "Squares.ipynb")
    auto = source / "auto"  # nbgrader's ### AUTOTEST example and its templates
    auto.mkdir()
    shutil.copy2(NBGRADER_FILES / "autotest-simple.ipynb", auto / "p1.ipynb")
    shutil.copy2(NBGRADER_FILES / "autotests.yml", auto / "autotests.yml")
    (submitted / "bar" / "auto").mkdir(parents=True)
    shutil.copy2(NBGRADER_FILES / "autotest-simple-changed.ipynb", submitted / "bar" / "auto" / "p1.ipynb")
    timed = source / "timed"
    timed.mkdir()
    nbformat.write(_timed_notebook("    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
                   timed / "work.ipynb")
    carl = submitted / "carl" / "timed"
    carl.mkdir(parents=True)
    nbformat.write(_timed_notebook("    return 1"), carl / "work.ipynb")
    for folder in (timed, carl):
        (folder / "table.csv").write_text("a,b\n1,2\n")
        (folder / "notes.txt").write_text("kept")
    for folder in root.rglob("*"):
        folder.chmod(folder.stat().st_mode | 0o200)  # the corpus is read-only
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + CONFIG)
    return root


@pytest.fixture(scope="module")
def plain_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_course(tmp_path_factory.mktemp("plain") / "course")


@pytest.fixture(scope="module")
def nbgrader_plain(
    plain_course: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Future[tuple[Results, dict[str, float]]]]:
    cache = os.environ.get("NBCRED_NBGRADER_CACHE") or tmp_path_factory.mktemp("nbgrader-plain")
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(reference_results, plain_course, cache)


@pytest.fixture(scope="module")
def nbcred_plain(
    plain_course: Path, tmp_path_factory: pytest.TempPathFactory,
    nbgrader_plain: Future[Any],  # nbgrader grades the same course meanwhile
) -> dict[tuple[str, str], dict[str, Any]]:
    work = tmp_path_factory.mktemp("nbcred-plain")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NBCRED_WORKERS", "1")  # one submission per assignment: one worker is enough
        for assignment in list_assignments(plain_course):
            db = f"sqlite:///{work / 'gb.sqlite'}"
            results.update(run_nbcred_grade(plain_course, assignment, db, work))
    return results


@pytest.fixture(scope="module")
def outside_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CS1302's Lab2 as its instructors published it (no config, no assessment.yaml), 2 submissions."""
    if not CS1302.is_dir():
        pytest.skip(f"the public course corpus is not at {CS1302}")
    root = tmp_path_factory.mktemp("outside") / "course"
    shutil.copytree(CS1302 / "source" / "Lab2", root / "source" / "Lab2")
    for student in OUTSIDE_STUDENTS:
        shutil.copytree(CS1302 / "submitted" / student / "Lab2", root / "submitted" / student / "Lab2")
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    return root


@pytest.fixture(scope="module")
def nbgrader_outside(
    outside_course: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Future[tuple[Results, dict[str, float]]]]:
    cache = os.environ.get("NBCRED_NBGRADER_CACHE") or tmp_path_factory.mktemp("nbgrader-outside")
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(reference_results, outside_course, cache)


def test_outside_course_grades_as_it_is(
    outside_course: Path, nbgrader_outside: Future[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("nbcred-outside")
    got = run_nbcred_grade(outside_course, "Lab2", f"sqlite:///{work / 'gb.sqlite'}", work)
    assert {key[1] for key in got} == {"Lab2"}  # the course's own spelling, not "lab2"
    reference: Results = nbgrader_outside.result()[0]
    assert set(got) == set(reference)
    report = [f"{key}: {line}" for key, ref in sorted(reference.items()) for line in compare(ref, got[key])]
    assert not report, "nbcred differs from nbgrader:\n" + "\n".join(report)


def _cells(result: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {c["cell"]: (c["score"], c["max_score"]) for c in result["cells"]}


def test_plain_course_matches_nbgrader(
    nbcred_plain: dict[tuple[str, str], dict[str, Any]], nbgrader_plain: Future[Any]
) -> None:
    nbgrader_results: Results = nbgrader_plain.result()[0]
    assert set(nbcred_plain) == set(nbgrader_results)
    report = []
    for key, ref in sorted(nbgrader_results.items()):
        report += [f"{key}: {line}" for line in compare(ref, nbcred_plain[key])]
    assert not report, "nbcred differs from nbgrader:\n" + "\n".join(report)


def test_zero_point_notebooks_grade_with_their_own_ids(
    nbcred_plain: dict[tuple[str, str], dict[str, Any]],
) -> None:
    ben = nbcred_plain[("ben", "SelfCheck")]
    assert ben["assessment"] == "SelfCheck"  # not lower-cased
    assert _cells(ben) == {"correct_squares": (0.0, 0.0)}
    assert ben["errors"] == [] and not ben["passed"]


def test_course_config_timeout_and_ignore_list_apply(
    nbcred_plain: dict[tuple[str, str], dict[str, Any]],
) -> None:
    carl = _cells(nbcred_plain[("carl", "timed")])
    assert carl["test_fast"] == (1.0, 1.0)
    assert carl["test_slow"] == (0.0, 1.0)  # the 3 s timeout, not nbcred's default 30 s
    assert carl["test_table"] == (0.0, 1.0)  # *.csv is in CourseDirectory.ignore
    assert carl["test_notes"] == (1.0, 1.0)


def test_autotest_lines_expand_as_nbgrader_expands_them(
    plain_course: Path, nbcred_plain: dict[tuple[str, str], dict[str, Any]]
) -> None:
    from grader.assessment import load_assessment

    released = load_assessment(plain_course / "source" / "auto").notebook("p1").release
    by_nbgrader = nbformat.read(NBGRADER_FILES / "autotest-simple-changed.ipynb", as_version=4)
    header = len(nbformat.read(plain_course / "source" / "header.ipynb", as_version=4).cells)
    test = released.cells[header + 2]
    assert "### AUTOTEST" not in test.source
    assert test.source == by_nbgrader.cells[2].source  # nbgrader's own expansion, byte for byte
    assert _cells(nbcred_plain[("bar", "auto")]) == {"test_simple": (1.0, 1.0)}


def test_header_notebook_is_released(plain_course: Path) -> None:
    from grader.assessment import load_assessment

    assessment = load_assessment(plain_course / "source" / "ps1")
    header = nbformat.read(plain_course / "source" / "header.ipynb", as_version=4).cells
    released = assessment.notebook("problem1").release.cells
    assert [c.source for c in released[: len(header)]] == [c.source for c in header]
    assert assessment.spec.execution.cell_timeout == 3
    assert "jupyter.png" in assessment.data_files
