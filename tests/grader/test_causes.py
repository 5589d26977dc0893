"""Feedback that names the cause: a limit with its value, the earlier cell a failure comes from,
both values of a failed visible comparison (never of a hidden one).

Three notebooks of one assessment run in real kernels (one each); the memory, CPU and dead-kernel
causes are built from an executed notebook and a run outcome, as every runner leaves them.
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from nbformat import NotebookNode

from grader import feedback as fb
from grader.assessment import Assessment, load_assessment
from grader.execute import KernelRunner
from grader.grade import GradeOptions, grade_submission
from grader.results import CellScore, GradeResult
from tests.grader import factory

CASCADE = factory.notebook(
    factory.solution("load", "orders = {'order_id': [1, 2]}\n### BEGIN SOLUTION\n"
                     "ids = orders['order_id']\n### END SOLUTION"),
    factory.test("test_load", "assert ids == [1, 2]"),
    factory.solution("count", "### BEGIN SOLUTION\nn = len(ids)\n### END SOLUTION"),
    factory.test("test_count", "assert n == 2"),
    factory.test("test_unrelated", "assert 1 + 1 == 3, 'arithmetic is broken'"),
)
VALUES = factory.notebook(
    factory.solution("total", "def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n"
                     "    ### END SOLUTION"),
    factory.test("test_total", "assert total([1, 2]) == 3"),
    factory.test("test_total_left", "assert [3, 'x'] == [total([1, 2]), 'x']"),
    factory.test("test_hidden", "assert callable(total)\n### BEGIN HIDDEN TESTS\n"
                 "assert total([700001]) == 700001\n### END HIDDEN TESTS"),
)
SLOW = factory.notebook(
    factory.solution("tidy_text", "import time\n### BEGIN SOLUTION\ndef tidy_text(s):\n"
                     "    return s.lower()\n### END SOLUTION"),
    factory.test("test_tidy", "assert tidy_text('A') == 'a'"),
)
ANSWERS = {
    "load": "orders = {'order_id': [1, 2]}\nids = orders['orderid']",
    "count": "n = len(ids)",
    "total": "def total(xs):\n    return sum(xs) + 1",
    "tidy_text": "import time\nwhile True:\n    time.sleep(0.05)\ndef tidy_text(s):\n    return s.lower()",
}
NOTEBOOKS = {"cascade": CASCADE, "values": VALUES, "slow": SLOW}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Assessment, GradeResult]:
    root = tmp_path_factory.mktemp("causes")
    cells = [(name, c.metadata["nbgrader"]["grade_id"]) for name, nb in NOTEBOOKS.items()
             for c in nb.cells if c.metadata["nbgrader"]["grade"]]
    spec = {"id": "causes", "title": "Causes", "competencies": [{"id": "c", "name": "C"}],
            "rubric": [{"cell": f"{nb}/{gid}", "competency": "c"} for nb, gid in cells],
            "execution": {"cell_timeout": 2}}
    for name, nb in NOTEBOOKS.items():
        factory.write(nb, root / "causes" / "source" / f"{name}.ipynb")
    (root / "causes" / "assessment.yaml").write_text(yaml.safe_dump(spec))
    assessment = load_assessment(root / "causes")
    for source in assessment.notebooks:
        release = copy.deepcopy(source.release)  # the assessment's own stays as released
        for cell in release.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in ANSWERS:
                cell.source = ANSWERS[grade_id]
        factory.write(release, root / "subs" / "lee" / source.filename)
    options = GradeOptions(runner=KernelRunner(), feedback_dir=root / "feedback")
    with ThreadPoolExecutor(1) as pool:  # a fresh thread: a browser test may leave an event loop here
        return assessment, pool.submit(grade_submission, assessment, root / "subs" / "lee",
                                       options=options).result()


def feedback(result: GradeResult) -> dict[str, dict[str, Any]]:
    return {c["cell"]: c["feedback"] for c in result.as_json()["cells"]}


def test_a_cascade_points_at_the_cell_that_failed_first(graded: tuple[Assessment, GradeResult]) -> None:
    tests = feedback(graded[1])
    first = "This test failed because cell `load` raised KeyError: 'orderid' earlier; fix that first."
    assert tests["test_load"]["message"] == first
    assert tests["test_count"]["message"] == first  # not "NameError: name 'n' is not defined"
    causes = {t.cell: t.cause for t in graded[1].tests}
    assert causes["test_load"] == "Cell `load` raised KeyError: 'orderid'."
    unrelated = tests["test_unrelated"]  # its own failure stays, with the earlier cell as a hint
    assert unrelated["message"].startswith("AssertionError: arithmetic is broken. An earlier cell, `load`")
    assert all("NameError" not in t["message"] for t in tests.values())


def test_a_timed_out_cell_is_named_with_the_limit(graded: tuple[Assessment, GradeResult]) -> None:
    result = graded[1]
    tidy = feedback(result)["test_tidy"]
    assert tidy["message"] == ("This test failed because your notebook ran past the 2 s time limit in "
                               "cell `tidy_text` earlier; fix that first.")
    causes = {t.cell: t.cause for t in result.tests}
    assert causes["test_tidy"] == "Your notebook ran past the 2 s time limit in cell `tidy_text`."
    assert result.feedback is not None
    page = Path(result.feedback).read_text()
    assert "What went wrong first" in page and "ran past the 2 s time limit in cell `tidy_text`" in page
    for wrong in ("KeyboardInterrupt", "NameError", "name &#39;tidy_text&#39; is not defined"):
        assert wrong not in page


def test_a_failed_visible_comparison_shows_both_values(graded: tuple[Assessment, GradeResult]) -> None:
    tests = feedback(graded[1])
    assert tests["test_total"]["message"] == "AssertionError: expected 3, got 4"
    assert tests["test_total_left"]["message"] == "AssertionError: expected [3, 'x'], got [4, 'x']"


def test_a_failed_hidden_comparison_shows_no_value(graded: tuple[Assessment, GradeResult]) -> None:
    result = graded[1]
    hidden = feedback(result)["test_hidden"]
    assert hidden["message"] == "A hidden check failed (AssertionError)."
    assert result.feedback is not None
    for text in (json.dumps(result.as_json()), Path(result.feedback).read_text()):
        assert "700001" not in text and "700002" not in text


def _outcome_of(source: NotebookNode, ran: int) -> tuple[NotebookNode, dict[int, str]]:
    """An executed copy of ``source`` in which the first ``ran`` code cells replied ok."""
    code = [i for i, c in enumerate(source.cells) if c.cell_type == "code"]
    return source, {i: "ok" for i in code[:ran]}


@pytest.mark.parametrize(("limit", "died", "words"), [
    ("memory_mb", True, "Your notebook ran out of memory (the limit is 1024 MB) in cell `tidy_text`"),
    ("cpu_seconds", True, "Your notebook used up its 120 s of CPU time in cell `tidy_text`"),
    (None, True, "Your notebook crashed the kernel (or exited) in cell `tidy_text`"),
    ("notebook_timeout", False, "Your notebook ran past its 300 s overall time limit in cell `tidy_text`"),
])
def test_a_stopped_run_names_its_limit_and_cell(
    graded: tuple[Assessment, GradeResult], limit: str | None, died: bool, words: str,
) -> None:
    assessment = graded[0]
    source = next(s for s in assessment.notebooks if s.name == "slow")
    executed, replies = _outcome_of(source.reference, ran=0)
    scored = [CellScore("slow", "test_tidy", 0.0, 1.0, "autograded", False)]
    (entry,) = fb.test_feedback(assessment, source, scored, executed, replies, limit=limit, died=died)
    assert entry.status == "not run"
    assert entry.cause == words + "; the cells after it did not run."
    assert entry.message.startswith("Not run: your notebook ") and "cell `tidy_text`" in entry.message


def test_the_notebook_as_graded_shows_the_limit_not_the_interrupt(
    graded: tuple[Assessment, GradeResult],
) -> None:
    from grader.learner_view import executed_folder

    assessment, result = graded
    assert result.feedback is not None
    feedback_dir = Path(result.feedback).parents[2]
    view = executed_folder(feedback_dir, assessment.id, result.learner, result.content_hash) / "slow.ipynb"
    text = view.read_text()
    assert "KeyboardInterrupt" not in text
    assert "this cell ran past the 2 s time limit and was stopped" in text
