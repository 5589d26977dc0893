"""The gradebook behind a small API: open (and migrate), look up, record. Scores are explicit queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.results import CellScore, CompetencyScore, GradeResult, IntegrityFlag, TestFeedback
from nbcred.errors import StoreError
from nbcred.store.attempts import take_attempt
from nbcred.store.models import (
    AssessmentVersion,
    CompetencyResult,
    GradedCell,
    Grading,
    Learner,
    Submission,
)


@dataclass(frozen=True)
class Recorded:
    """Where a result went: its grading row, the attempt number, and whether it was new."""

    grading_id: int
    attempt: int
    created: bool


def migrate(engine: Engine) -> None:
    """Bring the schema up to date with Alembic."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("nbcred.store") / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class Store:
    """A gradebook on SQLite (default) or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and migrate it; a clear :class:`StoreError` if that fails."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            if upgrade:
                migrate(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(
                f"cannot open the gradebook at {_redact(url)}: {exc}. Check --db / "
                "NBCRED_DATABASE_URL (e.g. sqlite:///gradebook.sqlite or "
                "postgresql+psycopg://user@host/db) and that the server is running."
            ) from exc
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def find_graded(
        self, *, learner: str, assessment_id: str, fingerprint: str, content_hash: str
    ) -> tuple[int, GradeResult] | None:
        """The latest successful grading of exactly this content (its id and result), if any."""
        with self.session() as session:
            grading = session.scalars(
                select(Grading)
                .join(Submission)
                .join(AssessmentVersion)
                .where(
                    Submission.learner_id == learner,
                    Submission.content_hash == content_hash,
                    AssessmentVersion.assessment_id == assessment_id,
                    AssessmentVersion.fingerprint == fingerprint,
                    Grading.status == "graded",
                )
                .order_by(Grading.id.desc())
                .limit(1)
            ).first()
            return None if grading is None else (grading.id, to_result(grading))

    def record(self, result: GradeResult, *, fingerprint: str, title: str) -> Recorded:
        """Store ``result``; the same graded content again returns the existing row."""
        for tries in range(1, 6):
            try:
                return self._record(result, fingerprint=fingerprint, title=title)
            except IntegrityError:  # a concurrent writer created the same rows first: try again
                if tries == 5:
                    raise
            except OperationalError as exc:
                raise StoreError(f"could not write to the gradebook: {exc}") from exc
        raise AssertionError("unreachable")

    def _record(self, result: GradeResult, *, fingerprint: str, title: str) -> Recorded:
        with self.session() as session:
            version = _get_or_create_version(session, result, fingerprint, title)
            if session.get(Learner, result.learner) is None:
                session.add(Learner(id=result.learner))
                session.flush()
            submission = session.scalars(
                select(Submission).where(
                    Submission.learner_id == result.learner,
                    Submission.assessment_pk == version.pk,
                    Submission.content_hash == result.content_hash,
                )
            ).first()
            if submission is None:
                submission = Submission(
                    learner_id=result.learner, assessment_pk=version.pk,
                    content_hash=result.content_hash,
                    attempt=take_attempt(session, learner=result.learner, assessment_id=result.assessment,
                                         content_hash=result.content_hash),
                )
                session.add(submission)
                session.flush()
            else:
                existing = next((g for g in reversed(submission.gradings) if g.status == "graded"), None)
                if existing is not None:
                    return Recorded(existing.id, submission.attempt, False)
            grading = _new_grading(result)
            submission.gradings.append(grading)
            session.flush()
            return Recorded(grading.id, submission.attempt, True)

    def results(self, *, assessment_id: str | None = None) -> list[GradeResult]:
        """The latest grading of every submission, oldest first."""
        with self.session() as session:
            latest = (
                select(func.max(Grading.id)).group_by(Grading.submission_id).scalar_subquery()
            )
            query = select(Grading).join(Submission).join(AssessmentVersion).where(Grading.id.in_(latest))
            if assessment_id:
                query = query.where(AssessmentVersion.assessment_id == assessment_id)
            return [to_result(g) for g in session.scalars(query.order_by(Grading.id))]

    def count(self, model: type) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


def _get_or_create_version(
    session: Session, result: GradeResult, fingerprint: str, title: str
) -> AssessmentVersion:
    version = session.scalars(
        select(AssessmentVersion).where(
            AssessmentVersion.assessment_id == result.assessment,
            AssessmentVersion.fingerprint == fingerprint,
        )
    ).first()
    if version is None:
        version = AssessmentVersion(
            assessment_id=result.assessment, version=result.assessment_version,
            fingerprint=fingerprint, title=title,
        )
        session.add(version)
        session.flush()
    return version


def _new_grading(result: GradeResult) -> Grading:
    return Grading(
        status="error" if result.errors else "graded",
        score=result.score, max_score=result.max_score, passed=result.passed,
        needs_manual=result.needs_manual, errors=list(result.errors),
        tampered_cells=list(result.tampered_cells), feedback_path=result.feedback,
        seconds=result.seconds, tests=[asdict(t) for t in result.tests],
        integrity=[asdict(f) for f in result.integrity],
        cells=[
            GradedCell(notebook=c.notebook, cell=c.cell, kind=c.kind, score=c.score,
                      max_score=c.max_score, needs_manual=c.needs_manual)
            for c in result.cells
        ],
        competencies=[
            CompetencyResult(competency_id=c.id, name=c.name, score=c.score, max_score=c.max_score,
                             minimum=c.minimum, passed=c.passed)
            for c in result.competencies
        ],
    )


def to_result(grading: Grading) -> GradeResult:
    """The grading as the grader's result dataclass (used for look-ups and issuance retries)."""
    submission = grading.submission
    return GradeResult(
        learner=submission.learner_id,
        assessment=submission.assessment.assessment_id,
        assessment_version=submission.assessment.version,
        score=grading.score, max_score=grading.max_score, passed=grading.passed,
        cells=[CellScore(c.notebook, c.cell, c.score, c.max_score, c.kind, c.needs_manual)
               for c in grading.cells],
        competencies=[CompetencyScore(c.competency_id, c.name, c.score, c.max_score, c.minimum, c.passed)
                      for c in grading.competencies],
        tampered_cells=list(grading.tampered_cells), errors=list(grading.errors),
        content_hash=submission.content_hash, feedback=grading.feedback_path,
        needs_manual=grading.needs_manual, attempt=submission.attempt, seconds=grading.seconds,
        tests=[_stored_feedback(entry) for entry in grading.tests or []],
        integrity=[IntegrityFlag(**flag) for flag in grading.integrity or []],
    )


_FEEDBACK_FIELDS = {f.name for f in fields(TestFeedback)}


def _stored_feedback(entry: dict[str, Any]) -> TestFeedback:
    """A stored learner feedback entry (keys a newer or older version wrote are tolerated)."""
    return TestFeedback(**{k: v for k, v in entry.items() if k in _FEEDBACK_FIELDS})
