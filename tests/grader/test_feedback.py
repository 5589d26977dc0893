"""Failure feedback a learner can act on, which never reveals a hidden test.

One purpose-built notebook holds a test cell per situation (a visible line fails, the learner's
code raises, a hidden assertion fails, learner code tries to smuggle hidden code or values out
through its error message or stderr); one submission exercises them all in one kernel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.assessment import Assessment, load_assessment
from grader.execute import KernelRunner
from grader.grade import GradeOptions, grade_submission
from grader.hidden import HiddenContent, hidden_lines, released_line, squash
from grader.results import GradeResult
from nbcred.store.store import Store
from tests.grader import factory

SECRETS = ["48151623", "918273", "6427911", "zebra-crossing-271828", "HIDDEN", "hidden_helper"]

SOURCE = factory.notebook(
    factory.solution("area", "def area(w, h):\n    ### BEGIN SOLUTION\n    return w * h\n"
                     "    ### END SOLUTION"),
    factory.test("test_area", "assert area(2, 3) == 6, f'area(2, 3) should be 6, got {area(2, 3)}'\n"
                 "### BEGIN HIDDEN TESTS\nSECRET_VALUE = 48151623\n"
                 "assert area(SECRET_VALUE, 1) == SECRET_VALUE, f'expected {SECRET_VALUE}'\n"
                 "### END HIDDEN TESTS\nassert area(0, 5) == 0, 'zero width has no area'"),
    factory.solution("scale", "def scale(x):\n    ### BEGIN SOLUTION\n    return x * 918273\n"
                     "    ### END SOLUTION"),
    factory.test("test_scale", "assert callable(scale)\n### BEGIN HIDDEN TESTS\n"
                 "def hidden_helper(v):\n    return v * 918273\n"
                 "assert scale(7) == hidden_helper(7), f'scale(7) must be {7 * 918273}'\n"
                 "### END HIDDEN TESTS"),
    factory.solution("parse", "def parse(text):\n    ### BEGIN SOLUTION\n    return text.split('-')\n"
                     "    ### END SOLUTION"),
    factory.test("test_parse", "assert parse('a-b') == ['a', 'b']\n### BEGIN HIDDEN TESTS\n"
                 "assert parse('zebra-crossing-271828') == ['zebra', 'crossing', '271828']\n"
                 "### END HIDDEN TESTS"),
    factory.solution("ratio", "def ratio(a, b):\n    ### BEGIN SOLUTION\n    return a / b if b else 0.0\n"
                     "    ### END SOLUTION"),
    factory.test("test_ratio", "assert ratio(4, 2) == 2\n### BEGIN HIDDEN TESTS\n"
                 "assert ratio(1, 0) == 0.0\n### END HIDDEN TESTS"),
    factory.solution("price", "def price(item):\n    ### BEGIN SOLUTION\n    return item.get('price', 0)\n"
                     "    ### END SOLUTION"),
    factory.test("test_price", "assert price({'price': 3}) == 3\nassert price({}) == 0"),
    factory.solution("echo", "def echo(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"),
    factory.test("test_echo", "assert echo(1) == 1\n### BEGIN HIDDEN TESTS\n"
                 "assert echo('zebra-crossing-271828') == 'zebra-crossing-271828'\n"
                 "### END HIDDEN TESTS"),
    factory.test("test_globals", "assert echo(2) == 2"),
)

# The learner's answers: each test cell fails in its own way.
ANSWERS = {
    # a visible assertion fails (before and after a hidden region)
    "area": "def area(w, h):\n    return w + h",
    # a hidden assertion fails (its message quotes hidden values)
    "scale": "def scale(x):\n    return x",
    # the learner's code raises while a hidden test runs it, echoing the hidden input
    "parse": "def parse(text):\n    if text.count('-') > 1:\n"
             "        raise ValueError(f'cannot parse {text!r}')\n    return text.split('-')",
    # the learner's code raises under a hidden test, with a harmless message
    "ratio": "def ratio(a, b):\n    return a / b",
    # the learner's code raises when a visible line calls it
    "price": "def price(item):\n    return item['price']  # <script>alert(1)</script>",
    # learner code smuggling hidden code out: the cell's source, to stderr and in an error
    "echo": "import sys\ndef echo(x):\n    if isinstance(x, str):\n"
            "        sys.stderr.write(In[-1])\n"
            "    if x == 2:\n        raise RuntimeError(str(globals().get('SECRET_VALUE')) + In[-2])\n"
            "    return x",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Assessment, GradeResult]:
    root = tmp_path_factory.mktemp("leaky")
    spec = {"id": "leaky", "title": "Leaky", "competencies": [{"id": "c", "name": "C"}],
            "rubric": [{"cell": f"leaky/test_{n}", "competency": "c"} for n in
                       ("area", "scale", "parse", "ratio", "price", "echo", "globals")]}
    factory.write(SOURCE, root / "leaky" / "source" / "leaky.ipynb")
    (root / "leaky" / "assessment.yaml").write_text(yaml.safe_dump(spec))
    assessment = load_assessment(root / "leaky")
    release = assessment.notebooks[0].release
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ANSWERS:
            cell.source = ANSWERS[grade_id]
    factory.write(release, root / "subs" / "mallory" / "leaky.ipynb")
    options = GradeOptions(runner=KernelRunner(), feedback_dir=root / "feedback")
    return assessment, grade_submission(assessment, root / "subs" / "mallory", options=options)


def feedback(result: GradeResult) -> dict[str, dict[str, Any]]:
    return {c["cell"]: c["feedback"] for c in result.as_json()["cells"]}


def test_a_failing_visible_line_is_shown_with_its_message(graded: tuple[Assessment, GradeResult]) -> None:
    area = feedback(graded[1])["test_area"]
    assert area["status"] == "failed" and area["origin"] == "visible"
    assert area["location"] == "test_area, line 1"
    assert area["line"].startswith("assert area(2, 3) == 6")
    assert area["message"] == "AssertionError: area(2, 3) should be 6, got 5"


def test_an_error_in_the_learners_code_names_their_line(graded: tuple[Assessment, GradeResult]) -> None:
    price = feedback(graded[1])["test_price"]
    assert price["origin"] == "learner"
    assert price["location"] == "your cell price, line 2"
    assert price["line"] == "return item['price']  # <script>alert(1)</script>"
    assert price["message"] == "KeyError: 'price'"
    ratio = feedback(graded[1])["test_ratio"]  # raised while a hidden test ran it
    assert (ratio["origin"], ratio["line"]) == ("learner", "return a / b")
    assert ratio["message"].startswith("ZeroDivisionError: division by zero")
    assert "hidden check was running your code" in ratio["message"]


def test_a_failing_hidden_line_says_only_that(graded: tuple[Assessment, GradeResult]) -> None:
    scale = feedback(graded[1])["test_scale"]
    assert scale == {"status": "failed", "origin": "hidden", "location": "", "line": "",
                     "message": "A hidden check failed (AssertionError)."}


def test_messages_echoing_hidden_values_or_code_are_withheld(
    graded: tuple[Assessment, GradeResult],
) -> None:
    parse = feedback(graded[1])["test_parse"]
    assert parse["origin"] == "learner" and "raise ValueError" in parse["line"]
    assert parse["message"].startswith("ValueError (the message is withheld")
    echo = feedback(graded[1])["test_echo"]  # wrote the hidden test's source to stderr
    assert echo["status"] == "failed" and "withheld" in echo["message"]
    smuggled = feedback(graded[1])["test_globals"]  # a hidden value read from the namespace
    assert smuggled["origin"] == "learner" and "withheld" in smuggled["message"]


def test_no_hidden_line_marker_or_value_reaches_the_learner(
    graded: tuple[Assessment, GradeResult],
) -> None:
    assessment, result = graded
    assert result.feedback is not None
    page = Path(result.feedback).read_text()
    record = json.dumps(result.as_json())
    for text in (page, record):
        for secret in SECRETS:
            assert secret not in text
        for line in assessment.notebooks[0].hidden.lines:
            assert line not in squash(text)
    assert "area(2, 3) should be 6, got 5" in page and "return item[&#39;price&#39;]" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)" in page  # learner text is escaped


def test_scores_are_unchanged_by_feedback(graded: tuple[Assessment, GradeResult]) -> None:
    scores = {c.cell: c.score for c in graded[1].cells}
    assert scores == {"test_area": 0.0, "test_scale": 0.0, "test_parse": 0.0, "test_ratio": 0.0,
                      "test_price": 0.0, "test_echo": 0.0, "test_globals": 0.0}


def test_stored_result_keeps_the_feedback(graded: tuple[Assessment, GradeResult], tmp_path: Path) -> None:
    assessment, result = graded
    store = Store.open(f"sqlite:///{tmp_path / 'gradebook.sqlite'}")
    store.record(result, fingerprint=assessment.fingerprint, title="Leaky")
    found = store.find_graded(learner=result.learner, assessment_id="leaky",
                              fingerprint=assessment.fingerprint, content_hash=result.content_hash)
    assert found is not None
    assert found[1].as_json()["cells"] == result.as_json()["cells"]


def test_hidden_regions_follow_nbgraders_markers() -> None:
    source = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3"
    assert hidden_lines(source) == {2, 3, 4}
    assert released_line(source, 5) == 2


def test_hidden_content_flags_quotes_and_values_but_not_visible_ones() -> None:
    release = factory.notebook(*[factory.code(_released(c.source)) for c in SOURCE.cells])
    content = HiddenContent.of(SOURCE, release)
    assert content.reveals("got 48151623")
    assert content.reveals("### end hidden tests")
    assert content.reveals("x: assert scale(7)==hidden_helper(7), f'scale(7) must be {7 * 918273}'")
    assert not content.reveals("area(2, 3) should be 6, got 5")
    assert content.reveals("cannot parse 7", strict=True) and not content.reveals("cannot parse 7")


def _released(source: str) -> str:
    return "\n".join(line for n, line in enumerate(source.split("\n"), 1)
                     if n not in hidden_lines(source))


def test_a_courses_own_hidden_test_delimiters_are_honoured(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.ClearHiddenTests.begin_test_delimeter = 'BEGIN SECRET CHECKS'\n"
        "c.ClearHiddenTests.end_test_delimeter = 'END SECRET CHECKS'\n")
    factory.write(factory.notebook(
        factory.solution("f", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
        factory.test("test_f", "assert f() == 1\n### BEGIN SECRET CHECKS\nassert f() != 48151623\n"
                     "### END SECRET CHECKS"),
    ), course / "source" / "ps1" / "p.ipynb")
    notebook = load_assessment(course / "source" / "ps1").notebooks[0]
    assert "48151623" not in json.dumps(notebook.release)
    assert notebook.hidden_markers == ("BEGIN SECRET CHECKS", "END SECRET CHECKS")
    assert [c.has_hidden_tests for c in notebook.grade_cells] == [True]
    assert notebook.hidden.reveals("f() != 48151623") and notebook.hidden.reveals("end secret checks")
