"""Integrity flags and similar pairs reach the instructor's cohort report, and change no score."""

from __future__ import annotations

from pathlib import Path

from grader.results import CellScore, GradeResult, IntegrityFlag
from nbcred.catalogue import Catalogue
from nbcred.report import write_cohort_report
from nbcred.similarity import Pair, SimilarityReport


def result(learner: str, flags: list[IntegrityFlag]) -> GradeResult:
    return GradeResult(
        learner=learner, assessment="ps1", assessment_version="1", score=1.0, max_score=2.0,
        passed=False, cells=[CellScore("nb", "t1", 1.0, 2.0, "autograded", False)], competencies=[],
        tampered_cells=[], errors=[], content_hash="x", integrity=flags)


def test_cohort_report_shows_flags_and_similar_pairs(tmp_path: Path) -> None:
    flag = IntegrityFlag("nb", "t1", "learner-object",
                         "the comparison '==' met an object of class 'Anything'")
    results = [result("mallory", [flag]), result("alice", []), result("bob", [])]
    similarity = {"ps1": SimilarityReport("ps1", 3, [Pair("alice", "bob", 0.91, 40, False, [])])}
    page = write_cohort_report(results, Catalogue(tmp_path, {}, []), tmp_path, similarity).read_text()
    assert "Integrity flags" in page
    assert "class &#x27;Anything&#x27;" in page and "learner-object" in page
    assert "<b>alice</b> &amp; <b>bob</b>: written code 91% similar" in page
    assert page.count("&#9873;") == 3  # mallory, alice and bob each carry a flag in the table
    assert all(r.score == 1.0 for r in results)  # flags never change a score


def test_no_flags_no_section(tmp_path: Path) -> None:
    page = write_cohort_report([result("alice", [])], Catalogue(tmp_path, {}, []), tmp_path).read_text()
    assert "Integrity flags" not in page and "&#9873;" not in page


def test_flags_are_stored_with_the_grading_and_reach_the_gradebook(tmp_path: Path) -> None:
    from sqlalchemy import select

    from nbcred.service.gradebook import _attempts
    from nbcred.store import Store
    from nbcred.store.models import Grading
    from nbcred.store.store import to_result

    class Context:
        store = Store.open(f"sqlite:///{tmp_path / 'gb.sqlite'}")

    flag = IntegrityFlag("nb", "t1", "contained", "the notebook redefines the builtin 'len'")
    Context.store.record(result("mallory", [flag]), fingerprint="f" * 64, title="PS 1")
    with Context.store.session() as session:
        stored = to_result(session.scalars(select(Grading)).one())
    assert stored.integrity == [flag] and stored.score == 1.0
    attempts = _attempts(Context(), "ps1", None)  # type: ignore[arg-type]
    assert attempts["mallory"][0].flags == ("nb/t1: the notebook redefines the builtin 'len'",)
