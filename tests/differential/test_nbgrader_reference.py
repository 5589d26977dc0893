"""The reference itself: real nbgrader on the corpus gives the numbers worked out by hand.

If one of these fails, the corpus or the reference runner is wrong, not nbcred.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbgrader_reference import (
    Results,
    SubmissionScore,
    corpus_hash,
    list_students,
    run_nbgrader_autograde,
)

pytestmark = pytest.mark.slow

STUDENTS = ["alice", "bob", "carol", "dave", "erin", "frank", "mallory"]
MAX = {"ps1": 11.0, "ps2": 8.0, "ps3": 8.0, "ps4": 13.0}
PS4_STUDENTS = ["alice", "bob", "carol"]


def cell(results: Results, student: str, assignment: str, name: str) -> Any:
    sub = results[(student, assignment)]
    matches = [c for (_, grade_id), c in sub.cells.items() if grade_id == name]
    assert len(matches) == 1, f"{student}/{assignment}: no single cell {name}"
    return matches[0]


def test_every_submission_is_graded(nbgrader_results: Results, manifest: list[dict[str, Any]]) -> None:
    expected = {(m["student"], m["assignment"]) for m in manifest}
    assert set(nbgrader_results) == expected
    assert len(expected) == len(STUDENTS) * (len(MAX) - 1) + len(PS4_STUDENTS)
    for (_, assignment), sub in nbgrader_results.items():
        assert sub.max_score == MAX[assignment]
        assert sum(c.max_score for c in sub.cells.values()) == MAX[assignment]
        assert sum(c.score for c in sub.cells.values()) == pytest.approx(sub.score)


def test_correct_student_gets_every_automatic_point(nbgrader_results: Results) -> None:
    # alice: all autograded points; manual answers and tasks wait for a human (0 so far)
    assert {a: nbgrader_results[("alice", a)].score for a in ("ps1", "ps2", "ps3")} == {
        "ps1": 6.0,
        "ps2": 7.0,
        "ps3": 5.0,
    }
    for assignment in ("ps1", "ps2", "ps3"):
        for c in nbgrader_results[("alice", assignment)].cells.values():
            if c.kind == "autograded":
                assert (c.score, c.needs_manual) == (c.max_score, False), c
            else:
                assert (c.score, c.needs_manual) == (0.0, True), c


def test_partial_credit(nbgrader_results: Results) -> None:
    # fib_partial prints 3 * passed / cases; bob's fib is wrong only for n == 0:
    # 7 of the 8 cases (hidden ones restored by nbgrader) -> 2.625
    assert cell(nbgrader_results, "bob", "ps2", "fib_partial").score == 2.625
    # mallory's fib always returns 0: right for n == 0 only -> 3 / 8
    assert cell(nbgrader_results, "mallory", "ps2", "fib_partial").score == 0.375
    # bob: 2.625 + normalize_bool (a False comparison is not a number: full credit)
    assert nbgrader_results[("bob", "ps2")].score == 3.625
    assert cell(nbgrader_results, "bob", "ps2", "normalize_bool").score == 1.0
    assert cell(nbgrader_results, "bob", "ps2", "safe_div_test").score == 0.0
    # np.float64(0.5) is not parsed as a number either: full credit
    assert cell(nbgrader_results, "bob", "ps1", "partial_mean").score == 2.0
    assert nbgrader_results[("bob", "ps1")].score == 3.0


def test_output_parsing(nbgrader_results: Results) -> None:
    # worked out from nbgrader.utils.determine_grade / get_partial_grade
    alice = {
        "out_number": 1.5,  # 1.5 of 2
        "out_str": 1.0,  # "'0.5'" is not a float: full credit
        "out_list": 1.0,  # "[0.5]": full credit
        "out_negative": 1.0,  # -0.5 < 0: full credit
        "out_zero": 0.0,
        "out_nan": 1.0,  # nan >= 0 is False: full credit
        "out_semicolon": 1.0,  # no execute_result
        "out_print_then_value": 0.25,  # stdout is ignored, the value counts
        "out_display": 1.0,  # display_data is not an execute_result
        "out_fraction": 1.0,  # "Fraction(1, 4)": full credit
        "out_float_text": 0.30000000000000004,
        "out_warning": 0.0,  # the warning goes to stderr
    }
    got = {c.cell: c.score for c in nbgrader_results[("alice", "ps4")].cells.values()}
    assert got == alice
    assert nbgrader_results[("alice", "ps4")].score == pytest.approx(9.05)
    # bob's ratio rounds: ratio(3, 2) == 2 (full 2 points), ratio(-1, 2) == 0, 0 / 0 raises
    bob = {c.cell: c.score for c in nbgrader_results[("bob", "ps4")].cells.values()}
    assert (bob["out_number"], bob["out_negative"], bob["out_nan"]) == (2.0, 0.0, 0.0)
    assert nbgrader_results[("bob", "ps4")].score == 7.0


def test_stderr_output_scores_zero(nbgrader_results: Results) -> None:
    # frank's normalize is right but prints to stderr
    assert cell(nbgrader_results, "frank", "ps2", "normalize_quiet").score == 0.0
    assert cell(nbgrader_results, "frank", "ps2", "normalize_bool").score == 0.0
    assert nbgrader_results[("frank", "ps2")].score == 5.0


def test_instructor_files_are_used(nbgrader_results: Results) -> None:
    # frank's edited data.csv is replaced by the source one: his mean is right
    assert cell(nbgrader_results, "frank", "ps1", "correct_mean").score == 2.0
    assert nbgrader_results[("frank", "ps1")].score == 6.0
    # alice's .ipynb_checkpoints copy is not graded
    assert {c.notebook for c in nbgrader_results[("alice", "ps2")].cells.values()} == {"functions"}


def test_no_response(nbgrader_results: Results) -> None:
    for assignment in MAX:
        sub = nbgrader_results[("carol", assignment)]
        assert sub.score == 0.0
        for c in sub.cells.values():
            # unchanged answers are known to be empty; tasks always need a human
            assert c.needs_manual == (c.kind == "task"), c


def test_missing_notebook_and_deleted_cell(nbgrader_results: Results) -> None:
    erin1 = nbgrader_results[("erin", "ps1")]
    assert erin1.score == 2.0
    missing = [c for c in erin1.cells.values() if c.notebook == "problem2"]
    assert len(missing) == 4
    assert all((c.score, c.needs_manual, c.present) == (0.0, False, False) for c in missing)
    deleted = cell(nbgrader_results, "erin", "ps2", "safe_div_test")
    # a deleted grade cell is never scored: 0, and nbgrader leaves it flagged for review
    assert (deleted.score, deleted.auto_score, deleted.present) == (0.0, None, False)
    assert deleted.needs_manual
    assert nbgrader_results[("erin", "ps2")].score == 5.0


def test_unanswered_manual_cells(nbgrader_results: Results) -> None:
    # erin left 'explore' unanswered and raised its points: points are restored
    # before the checksum is compared, so it is still "no response"
    explore = cell(nbgrader_results, "erin", "ps3", "explore")
    assert (explore.score, explore.max_score, explore.needs_manual) == (0.0, 2.0, False)
    # bob's unanswered 'explore' has one extra newline: a response, to be read by a human
    assert cell(nbgrader_results, "bob", "ps3", "explore").needs_manual


def test_tampering_is_undone(nbgrader_results: Results) -> None:
    # mallory's edited tests are replaced by the originals (hidden tests included)
    assert cell(nbgrader_results, "mallory", "ps1", "correct_squares").score == 0.0
    assert cell(nbgrader_results, "mallory", "ps1", "correct_mean").score == 0.0
    assert cell(nbgrader_results, "mallory", "ps2", "safe_div_test").score == 0.0
    # her edit of the locked data cell is undone too, so her parser fails
    assert cell(nbgrader_results, "mallory", "ps3", "records_ok").score == 0.0
    # raised points are put back
    assert cell(nbgrader_results, "mallory", "ps2", "normalize_bool").max_score == 1.0
    assert cell(nbgrader_results, "dave", "ps1", "correct_mean").max_score == 2.0
    assert nbgrader_results[("mallory", "ps3")].score == 0.0


def test_cascading_failure(nbgrader_results: Results) -> None:
    # dave's records cell raises; later tests fail with NameError
    assert nbgrader_results[("dave", "ps3")].score == 0.0
    # frank changed a locked test cell to markdown: nbgrader turns it back and runs it
    assert cell(nbgrader_results, "frank", "ps3", "parse_ok").score == 2.0


def test_run_nbgrader_autograde_for_a_benchmark(course_dir: Path, nbgrader_results: Results) -> None:
    results, seconds = run_nbgrader_autograde(course_dir, "ps2", ["frank"])
    assert set(results) == {("frank", "ps2")}
    assert 0.0 < seconds < 120.0
    for key, sub in results.items():
        assert isinstance(sub, SubmissionScore)
        assert sub == nbgrader_results[key]
    assert list_students(course_dir, "ps2") == STUDENTS
    assert list_students(course_dir, "ps4") == PS4_STUDENTS


def test_committed_corpus_matches_generator(course_dir: Path, tmp_path: Path) -> None:
    import make_corpus

    fresh = tmp_path / "course"
    make_corpus.main(fresh)
    assert corpus_hash(fresh) == corpus_hash(course_dir), (
        "tests/differential/course is stale: run python tests/differential/make_corpus.py"
    )
    assert (fresh / "manifest.json").read_text() == (course_dir / "manifest.json").read_text()
