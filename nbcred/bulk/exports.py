"""Reporting to an LMS: gradebook CSVs for Canvas and Moodle, credential zips, CLR bundles.

**Canvas** (gradebook "Import" of a CSV): the first five columns are ``Student, ID, SIS User ID,
SIS Login ID, Section`` in that order; each further column is a gradebook column headed
``<Title> (<id>)``; the second row is ``Points Possible`` with each column's maximum; scores
are numbers, a blank cell is "no grade". Canvas matches students by any of its identifiers:
nbcred fills ``SIS User ID`` with the learner id and ``SIS Login ID`` with the email (``ID``
is Canvas's internal number, which nbcred does not know, so it is left blank). An id that is
not a Canvas assignment number makes Canvas create a new column named after the whole header.

**Moodle** (Grades › Import › CSV file): one header row, then one row per learner; users are
mapped "from" the ``Email address`` or ``ID number`` column to the Moodle user field of that
name; each grade item is a column of numbers headed by the grade item's name; ``-`` or blank
means no grade.

Per assessment: the total score and one column per competency, from each learner's latest
grading of that assessment (like Canvas, the most recent submission counts).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from nbcred.bulk.cohorts import CohortError, cohort_members, cohort_terms
from nbcred.catalogue import Catalogue
from nbcred.errors import NbcredError
from nbcred.issuance import badges
from nbcred.issuance.issuer import CredentialIssuer
from nbcred.issuance.manage import learner_clr
from nbcred.store import Store
from nbcred.store.models import (
    Cohort,
    CompetencyResult,
    Grading,
    IssuedCredential,
    Learner,
    Submission,
)
from nbcred.store.queries import latest_gradings

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Email address")


class ExportError(NbcredError):
    """An export was asked for something that does not exist."""


@dataclass(frozen=True)
class Column:
    """One gradebook column: an assessment total or one of its competencies."""

    assessment: str
    competency: str | None
    title: str
    max_score: float


@dataclass
class ExportRow:
    """One learner and their scores by column index."""

    learner: str
    name: str
    email: str
    section: str | None
    scores: dict[int, float] = field(default_factory=dict)


@dataclass
class GradeTable:
    """Columns and learner rows for an assessment or a cohort."""

    columns: list[Column]
    rows: list[ExportRow]


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def _latest_gradings(store: Store, assessment_id: str) -> dict[str, int]:
    """The latest grading id of each learner for an assessment (any version)."""
    query = latest_gradings(assessment_id).with_only_columns(Submission.learner_id, Grading.id)
    with store.session() as session:
        found = session.execute(query).all()
    return {learner: grading for learner, grading in found}  # oldest first: the latest wins


def gradebook(store: Store, catalogue: Catalogue, target: str) -> GradeTable:
    """Scores of a cohort (its roster and assessments) or of one assessment (everyone graded)."""
    with store.session() as session:
        is_cohort = session.get(Cohort, target) is not None
    if is_cohort:
        try:
            members = cohort_members(store, target)
        except CohortError as exc:
            raise ExportError(str(exc)) from exc
        assessment_ids = [t.assessment_id for t in cohort_terms(store, target)]
        people: list[tuple[str, str, str, str | None]] = [
            (m.learner, m.name, m.email, m.section) for m in members]
    elif target in catalogue.assessments:
        assessment_ids = [target]
        learners = sorted(_latest_gradings(store, target))
        with store.session() as session:
            known = {r.id: r for r in session.scalars(select(Learner).where(Learner.id.in_(learners)))}
        people = [(lid, str(known[lid].name or lid) if lid in known else lid,
                   str(known[lid].email or "") if lid in known else "", None) for lid in learners]
    else:
        raise ExportError(f"{target!r} is neither a cohort nor an assessment of the catalogue "
                          f"({', '.join(sorted(catalogue.assessments))})")
    columns: list[Column] = []
    rows = {lid: ExportRow(lid, name, email, section) for lid, name, email, section in people}
    for assessment_id in assessment_ids:
        assessment = catalogue.assessments.get(assessment_id)
        title = assessment.spec.title if assessment is not None else assessment_id
        latest = _latest_gradings(store, assessment_id)
        with store.session() as session:
            chosen = list(latest.values())
            gradings = {g.id: g for g in session.scalars(select(Grading).where(Grading.id.in_(chosen)))}
            competencies = list(session.scalars(
                select(CompetencyResult).where(CompetencyResult.grading_id.in_(latest.values()))))
        max_total = max((g.max_score for g in gradings.values()), default=0.0)
        total_index = len(columns)
        columns.append(Column(assessment_id, None, title, max_total))
        spec_competencies = ([(c.id, c.name) for c in assessment.spec.competencies]
                             if assessment is not None else [])
        seen = {c.competency_id: c.name for c in competencies}
        index_of: dict[str, int] = {}
        for competency_id, name in spec_competencies + [(k, v) for k, v in seen.items()
                                                        if k not in dict(spec_competencies)]:
            maximum = max((c.max_score for c in competencies if c.competency_id == competency_id),
                          default=0.0)
            index_of[competency_id] = len(columns)
            columns.append(Column(assessment_id, competency_id, f"{title}: {name}", maximum))
        learner_of = {grading_id: learner for learner, grading_id in latest.items()}
        for learner, grading_id in latest.items():
            row = rows.get(learner)
            if row is None:
                continue
            row.scores[total_index] = gradings[grading_id].score
        for result in competencies:
            owner = learner_of.get(result.grading_id)
            if owner is not None and owner in rows and result.competency_id in index_of:
                rows[owner].scores[index_of[result.competency_id]] = result.score
    return GradeTable(columns, sorted(rows.values(), key=lambda r: r.learner))


def _column_id(column: Column) -> str:
    return column.assessment if column.competency is None else f"{column.assessment}.{column.competency}"


def canvas_csv(book: GradeTable) -> str:
    """The gradebook as Canvas's gradebook importer reads it (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*CANVAS_IDENTITY, *(f"{c.title} ({_column_id(c)})" for c in book.columns)])
    writer.writerow([CANVAS_POINTS_POSSIBLE, "", "", "", "", *(_number(c.max_score) for c in book.columns)])
    for row in book.rows:
        scores = (_number(row.scores[i]) if i in row.scores else "" for i in range(len(book.columns)))
        writer.writerow([_sortable(row.name), "", row.learner, row.email, row.section or "", *scores])
    return buffer.getvalue()


def _sortable(name: str) -> str:
    """Canvas lists students as "Last, First"."""
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


def moodle_csv(book: GradeTable) -> str:
    """The gradebook as Moodle's CSV grade import reads it (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*MOODLE_IDENTITY, *(c.title for c in book.columns)])
    for row in book.rows:
        parts = row.name.split()
        first, last = (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (row.name, "")
        scores = (_number(row.scores[i]) if i in row.scores else "-" for i in range(len(book.columns)))
        writer.writerow([first, last, row.learner, row.email, *scores])
    return buffer.getvalue()


def _credential_rows(store: Store, learners: set[str] | None, achievement_prefix: str | None
                     ) -> list[IssuedCredential]:
    with store.session() as session:
        query = select(IssuedCredential).order_by(IssuedCredential.learner_id, IssuedCredential.issued_at)
        if achievement_prefix is not None:
            query = query.where(IssuedCredential.achievement_id.startswith(achievement_prefix))
        rows = list(session.scalars(query))
    return [r for r in rows if learners is None or r.learner_id in learners]


def _scope(store: Store, catalogue: Catalogue, issuer: CredentialIssuer, target: str
           ) -> tuple[set[str] | None, str | None]:
    """Learners (a cohort's) or an achievement id prefix (an assessment's) to export."""
    with store.session() as session:
        if session.get(Cohort, target) is not None:
            return {m.learner for m in cohort_members(store, target)}, None
    if target in catalogue.assessments:
        return None, badges.achievement_id(issuer.settings, target, "")
    raise ExportError(f"{target!r} is neither a cohort nor an assessment of the catalogue")


def credentials_zip(store: Store, catalogue: Catalogue, issuer: CredentialIssuer, target: str,
                    output: Path) -> int:
    """A zip of every credential of a cohort or assessment: ``<learner>/<id>.json`` and a baked badge."""
    from credentials.baking import bake

    learners, prefix = _scope(store, catalogue, issuer, target)
    rows = _credential_rows(store, learners, prefix)
    images: dict[str, tuple[str, bytes]] = {}
    for assessment in catalogue.assessments.values():
        path = badges.image_file(assessment)
        if path is not None and path.suffix.lower() in badges.MEDIA_TYPES:
            images[badges.achievement_id(issuer.settings, assessment.id, assessment.spec.version)] = (
                path.suffix.lower(), path.read_bytes())
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            stem = f"{row.learner_id}/{row.id.rsplit(':', 1)[-1]}"
            archive.writestr(f"{stem}.json", json.dumps(row.document, indent=2, ensure_ascii=False))
            suffix, picture = images.get(row.achievement_id, (".svg", badges.generated_svg(
                str(row.document.get("name") or "Badge"))))
            archive.writestr(f"{stem}{suffix}", bake(dict(row.document), picture))
    return len(rows)


def clr_bundle(store: Store, catalogue: Catalogue, issuer: CredentialIssuer, target: str,
               output: Path) -> int:
    """A zip with one signed CLR 2.0 per learner (``<learner>.clr.json``) of a cohort or assessment."""
    learners, prefix = _scope(store, catalogue, issuer, target)
    rows = [r for r in _credential_rows(store, learners, prefix) if r.status == "active"]
    by_learner: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_learner.setdefault(row.learner_id, []).append(dict(row.document))
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for learner, documents in sorted(by_learner.items()):
            clr = learner_clr(issuer, learner, documents)  # type: ignore[arg-type]
            archive.writestr(f"{learner}.clr.json", json.dumps(clr, indent=2, ensure_ascii=False))
    return len(by_learner)
