"""A grading job crosses machines as identifiers: the ticket names content, the store holds it."""

from __future__ import annotations

from pathlib import Path

from grader.assessment import load_assessment
from nbcred.executors import GradeJob
from nbcred.executors.celery_app import CeleryExecutor
from nbcred.executors.shipping import AssessmentCache, Ticket, fetch_submission
from nbcred.settings import Settings
from tests.nbcred.scale.cluster import ROOT


def test_a_ticket_names_content_and_a_fresh_cache_rebuilds_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "sender", storage="local", executor="celery")
    executor = CeleryExecutor(settings=settings)
    assessment = ROOT / "assessments" / "pandas-cleaning"
    submission = ROOT / "notebooks" / "pandas-cleaning" / "alice"
    ticket = executor.ticket(GradeJob(str(assessment), str(submission), "ada"))
    assert ticket is not None
    sent = ticket.as_json()
    assert not any("/" in value or str(ROOT) in value for value in sent.values()), sent
    assert Ticket.from_json(sent) == ticket
    loaded = load_assessment(assessment)
    assert (ticket.assessment, ticket.fingerprint, ticket.learner) == ("pandas-cleaning", loaded.fingerprint,
                                                                       "ada")
    assert ticket.key == f"ada:{loaded.fingerprint}:{ticket.submission}"

    # what a worker on another machine does with it: its own cache, nothing but the store
    store = executor.storage
    cache = tmp_path / "worker" / "cache"
    fetched = AssessmentCache(store, cache).get(ticket.fingerprint, ticket.assessment)
    assert fetched.fingerprint == loaded.fingerprint and fetched.root.is_relative_to(cache)
    folder = fetch_submission(store, ticket.assessment, ticket.submission, cache)
    assert (folder / "cleaning.ipynb").read_bytes() == (submission / "cleaning.ipynb").read_bytes()


def test_a_worker_that_cannot_reach_the_content_says_which_setting_to_change(tmp_path: Path) -> None:
    from nbcred.executors.celery_app import WorkerGrader

    sender = CeleryExecutor(settings=Settings(home=tmp_path / "sender", storage="local", executor="celery"))
    ticket = sender.ticket(GradeJob(str(ROOT / "assessments" / "pandas-cleaning"),
                                    str(ROOT / "notebooks" / "pandas-cleaning" / "alice"), "ada"))
    assert ticket is not None
    elsewhere = WorkerGrader(Settings(home=tmp_path / "worker", storage="local"), "plain")
    result = elsewhere.grade(ticket)
    assert result.score == 0 and not result.content_hash  # not pinned: a retry can still grade it
    assert "NBCRED_STORAGE=database" in result.errors[0] and "could not fetch" in result.errors[0]
