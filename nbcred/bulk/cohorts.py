"""Cohorts: a roster of learners taking assessments with deadlines, graded at once.

``import_cohort`` records the roster (learner id, name, email, optional section) and the
assessments with their deadlines and attempt limits. ``grade_cohort`` grades what was
submitted for each assessment, in nbgrader's ``submitted/<learner>/<assessment>/`` layout, and
sorts every roster learner into passed, failed, errored, late or missing; folders of learners who
are not on the roster are reported and never graded. Late submissions are graded (the learner
gets feedback) but earn no credential; attempts beyond the limit are not graded.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select

from grader.assessment import Assessment
from grader.grade import content_hash
from grader.results import GradeResult
from nbcred.bulk.roster import FIELDS, RosterProblem, parse_date
from nbcred.catalogue import Catalogue
from nbcred.errors import NbcredError
from nbcred.pipeline import Executor, Issuer, grade_batch
from nbcred.store import Store
from nbcred.store.models import (
    AssessmentVersion,
    Cohort,
    CohortAssessment,
    CohortMember,
    Learner,
    Submission,
)

TIMESTAMP_FILE = "timestamp.txt"
"""nbgrader's submission timestamp (``nbgrader submit`` writes it); else the folder's mtime."""


class CohortError(NbcredError):
    """A cohort cannot be imported or graded as asked."""


@dataclass(frozen=True)
class Member:
    """One roster learner."""

    learner: str
    name: str
    email: str
    section: str | None = None


@dataclass(frozen=True)
class AssessmentTerms:
    """A cohort's assessment with its deadline and attempt limit."""

    assessment_id: str
    deadline: datetime | None = None
    attempts: int | None = None


@dataclass
class CohortImport:
    """What an import did."""

    cohort: str
    members: int
    added: int
    assessments: list[str]


@dataclass
class AssessmentOutcome:
    """Per assessment: learner ids by outcome, and folders of learners not on the roster."""

    assessment: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    over_attempts: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass
class CohortReport:
    """The outcome of grading a cohort."""

    cohort: str
    assessments: list[AssessmentOutcome]


def read_members(path: Path) -> list[Member]:
    """Read a cohort roster CSV (learner, name, email, section); every bad row is reported."""
    aliases = {a.replace("_", ""): f for f in ("learner", "name", "first_name", "last_name", "email",
                                              "section") for a in FIELDS[f]}
    problems: list[RosterProblem] = []
    members: dict[str, Member] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = {aliases.get("".join(h.lower().split()).replace("_", "").replace("-", "")): h
                       for h in reader.fieldnames or []}
            for required in ("learner", "email"):
                if required not in columns:
                    problems.append(RosterProblem(1, required, f"no {required!r} column; accepted: "
                                                  f"{', '.join(FIELDS[required])}"))
            if not problems:
                for record in reader:
                    line = reader.line_num

                    def cell(name: str, record: dict[str, str] = record) -> str:
                        header = columns.get(name)
                        return (record.get(header) or "").strip() if header else ""

                    learner, email = cell("learner"), cell("email")
                    name = cell("name") or " ".join(p for p in (cell("first_name"), cell("last_name")) if p)
                    if not learner or "/" in learner:
                        problems.append(RosterProblem(line, columns["learner"], "empty or contains '/'"))
                    elif learner in members:
                        problems.append(RosterProblem(line, columns["learner"],
                                                      f"{learner!r} is listed twice"))
                    if "@" not in email:
                        problems.append(RosterProblem(line, columns["email"], f"{email!r} is not an email"))
                    if not problems:
                        members[learner] = Member(learner, name or learner, email, cell("section") or None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CohortError(f"cannot read roster {path}: {exc} (save it as UTF-8 CSV)") from exc
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise CohortError(f"{path}: {len(problems)} problem(s); nothing was imported:\n{listed}")
    return list(members.values())


def parse_terms(spec: str) -> AssessmentTerms:
    """``ID``, ``ID@DEADLINE`` or ``ID@DEADLINE@ATTEMPTS`` (deadline ISO 8601 or mm/dd/yy)."""
    parts = spec.split("@")
    try:
        deadline = parse_date(parts[1]) if len(parts) > 1 and parts[1] else None
        attempts = int(parts[2]) if len(parts) > 2 and parts[2] else None
    except ValueError as exc:
        raise CohortError(f"--assessment {spec!r}: {exc}; use ID@2026-05-01T17:00:00Z@3") from exc
    return AssessmentTerms(parts[0], deadline, attempts)


def import_cohort(
    store: Store, catalogue: Catalogue, *, cohort: str, roster: Path, title: str | None = None,
    assessments: list[AssessmentTerms] = (),  # type: ignore[assignment]
) -> CohortImport:
    """Record (or update) a cohort's roster and assessments."""
    unknown = [a.assessment_id for a in assessments if a.assessment_id not in catalogue.assessments]
    if unknown:
        raise CohortError(f"unknown assessment(s) {', '.join(unknown)}; the catalogue has: "
                          f"{', '.join(sorted(catalogue.assessments))}")
    members = read_members(roster)
    added = 0
    with store.session() as session:
        row = session.get(Cohort, cohort)
        if row is None:
            session.add(Cohort(id=cohort, title=title or cohort, created_at=datetime.now(UTC)))
        elif title:
            row.title = title
        for member in members:
            learner = session.get(Learner, member.learner)
            if learner is None:
                session.add(Learner(id=member.learner, email=member.email, name=member.name))
            else:
                learner.email, learner.name = member.email, member.name
            existing = session.get(CohortMember, (cohort, member.learner))
            if existing is None:
                added += 1
                session.add(CohortMember(cohort_id=cohort, learner_id=member.learner, name=member.name,
                                         email=member.email, section=member.section))
            else:
                existing.name, existing.email, existing.section = member.name, member.email, member.section
        session.flush()
        for terms in assessments:
            session.execute(delete(CohortAssessment).where(
                CohortAssessment.cohort_id == cohort, CohortAssessment.assessment_id == terms.assessment_id))
            session.add(CohortAssessment(cohort_id=cohort, assessment_id=terms.assessment_id,
                                         deadline=terms.deadline, attempts=terms.attempts))
        names = sorted(session.scalars(select(CohortAssessment.assessment_id)
                                       .where(CohortAssessment.cohort_id == cohort)))
        total = session.scalar(select(func.count()).select_from(CohortMember)
                               .where(CohortMember.cohort_id == cohort)) or 0
    return CohortImport(cohort, int(total), added, names)


def cohort_members(store: Store, cohort: str) -> list[Member]:
    """The roster of ``cohort`` (raises :class:`CohortError` if there is no such cohort)."""
    with store.session() as session:
        if session.get(Cohort, cohort) is None:
            known = ", ".join(sorted(session.scalars(select(Cohort.id)))) or "none yet"
            raise CohortError(f"no cohort {cohort!r} (cohorts: {known}); create it with "
                              "`nbcred cohort import COHORT ROSTER.csv`")
        rows = session.scalars(select(CohortMember).where(CohortMember.cohort_id == cohort)
                               .order_by(CohortMember.learner_id))
        return [Member(r.learner_id, r.name, r.email, r.section) for r in rows]


def cohort_terms(store: Store, cohort: str) -> list[AssessmentTerms]:
    """The cohort's assessments, deadlines and attempt limits."""
    with store.session() as session:
        rows = session.scalars(select(CohortAssessment).where(CohortAssessment.cohort_id == cohort)
                               .order_by(CohortAssessment.assessment_id))
        return [AssessmentTerms(r.assessment_id, _aware(r.deadline), r.attempts) for r in rows]


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def submitted_at(folder: Path) -> datetime:
    """When a submission was made: nbgrader's timestamp.txt, else the folder's modification time."""
    stamp = folder / TIMESTAMP_FILE
    if stamp.is_file():
        words = stamp.read_text(encoding="utf-8").split()
        try:
            moment = parse_date("T".join(words[:2]))
            if len(words) > 2:  # "2015-02-02 14:58:23.948203 America/Los_Angeles"
                moment = moment.replace(tzinfo=ZoneInfo(words[2])).astimezone(UTC)
            return moment
        except (ValueError, ZoneInfoNotFoundError):
            pass
    return datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC)


def _over_limit(store: Store, assessment: Assessment, folder: Path, learner: str, limit: int) -> bool:
    """True when this is content the learner never submitted and every allowed attempt is used."""
    digest = content_hash(folder, assessment)
    with store.session() as session:
        attempts = session.execute(
            select(Submission.content_hash).join(AssessmentVersion)
            .where(Submission.learner_id == learner, AssessmentVersion.assessment_id == assessment.id)
        ).scalars().all()
    return digest not in attempts and len(attempts) >= limit


def grade_cohort(
    *, store: Store, catalogue: Catalogue, cohort: str, submitted: Path, executor: Executor,
    issuer: Issuer | None, on_result: Callable[[GradeResult], None] | None = None,
) -> CohortReport:
    """Grade every roster learner's submission of every cohort assessment (see the module doc)."""
    members = {m.learner for m in cohort_members(store, cohort)}
    terms = cohort_terms(store, cohort)
    if not terms:
        raise CohortError(f"cohort {cohort!r} has no assessments; add them with "
                          f"`nbcred cohort import {cohort} ROSTER.csv --assessment ID@DEADLINE`")
    if not submitted.is_dir():
        raise CohortError(f"submission folder {submitted} not found (nbgrader's submitted/ folder: "
                          "submitted/<learner>/<assessment>/)")
    outcomes = []
    for term in terms:
        assessment = catalogue.assessments.get(term.assessment_id)
        if assessment is None:
            raise CohortError(f"assessment {term.assessment_id!r} is no longer in the catalogue")
        outcome = AssessmentOutcome(term.assessment_id)
        on_time: list[Path] = []
        late: list[Path] = []
        found = {p.parent.name: p for p in sorted(submitted.glob(f"*/{term.assessment_id}")) if p.is_dir()}
        for learner, folder in found.items():
            if learner not in members:
                outcome.unknown.append(learner)
            elif term.attempts is not None and _over_limit(store, assessment, folder, learner, term.attempts):
                outcome.over_attempts.append(learner)
            elif term.deadline is not None and submitted_at(folder) > term.deadline:
                late.append(folder)
            else:
                on_time.append(folder)
        outcome.missing = sorted(members - set(found))
        for folders, credential in ((on_time, issuer), (late, None)):
            if not folders:
                continue
            results: list[GradeResult] = []

            def collect(result: GradeResult, results: list[GradeResult] = results) -> None:
                results.append(result)
                if on_result is not None:
                    on_result(result)

            grade_batch(assessment, folders, store=store, executor=executor, issuer=credential,
                        on_result=collect)
            for result in results:
                if credential is None:
                    outcome.late.append(result.learner)
                elif result.errors:
                    outcome.errored.append(result.learner)
                elif result.passed:
                    outcome.passed.append(result.learner)
                else:
                    outcome.failed.append(result.learner)
        outcomes.append(outcome)
    return CohortReport(cohort, outcomes)
