"""The instructor's gradebook: every learner's latest and best attempt, per assessment and cohort.

Built from the gradebook's latest grading of each submission (manual grades included). Pictures
(competency heat map, score distribution, per-test difficulty) are matplotlib figures rendered
to PNG or SVG; the table downloads as CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, Unprocessable
from nbcred.store.models import CohortMember, WebSubmission
from nbcred.store.queries import latest_gradings
from nbcred.store.store import to_result

SORTS = ("learner", "score", "attempts", "graded")
STATUSES = ("passed", "failed", "needs_manual")
Chart = Literal["heatmap", "scores", "difficulty"]


@dataclass(frozen=True)
class GradedAttempt:
    """One graded attempt as the gradebook shows it."""

    attempt: int
    score: float
    max_score: float
    passed: bool
    needs_manual: bool
    competencies: dict[str, float]  # competency id -> fraction of its points
    cells: dict[str, float]  # "<notebook>/<cell>" -> fraction of the cell's points (autograded)
    graded_at: datetime
    origin: str
    submission: str | None  # the web submission id, when it came through the service
    flags: tuple[str, ...] = ()  # integrity flags (instructors only; they change no score)
    version: str = ""  # the assessment version it was graded with
    tampered: tuple[str, ...] = ()  # locked cells the learner changed (restored before grading)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class LearnerRow:
    learner: str
    latest: GradedAttempt
    best: GradedAttempt
    attempts: int


@dataclass(frozen=True)
class Gradebook:
    assessment: str
    title: str
    competencies: list[tuple[str, str]]  # (id, name)
    rows: list[LearnerRow]
    tests: list[str] = field(default_factory=list)

    def difficulty(self) -> dict[str, float]:
        """Share of learners (latest attempt) scoring full marks on each autograded test."""
        if not self.rows:
            return {t: 0.0 for t in self.tests}
        return {t: sum(r.latest.cells.get(t, 0.0) >= 1 - 1e-9 for r in self.rows) / len(self.rows)
                for t in self.tests}


def gradebook(
    ctx: ServiceContext, *, assessment: str, cohort: str | None = None, status: str | None = None,
    sort: str = "learner", descending: bool = False,
) -> Gradebook:
    """The gradebook of ``assessment`` (optionally one cohort's learners), filtered and sorted."""
    spec = ctx.catalogue.assessments.get(assessment)
    if spec is None:
        raise NotFound(f"assessment {assessment!r} is not in the catalogue")
    if sort not in SORTS:
        raise Unprocessable(f"sort must be one of {', '.join(SORTS)}")
    if status and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}")
    attempts = _attempts(ctx, assessment, cohort)
    rows = []
    for learner, mine in sorted(attempts.items()):
        latest = max(mine, key=lambda a: a.attempt)
        best = max(mine, key=lambda a: (a.fraction, a.passed, -a.attempt))
        row = LearnerRow(learner, latest, best, len(mine))
        if (status == "passed" and not latest.passed) or (status == "failed" and latest.passed):
            continue
        if status == "needs_manual" and not latest.needs_manual:
            continue
        rows.append(row)
    keys = {"learner": lambda r: r.learner, "score": lambda r: r.latest.fraction,
            "attempts": lambda r: r.attempts, "graded": lambda r: r.latest.graded_at}
    rows.sort(key=keys[sort], reverse=descending)  # type: ignore[arg-type]
    tests = [c.key for c in spec.grade_cells() if c.kind == "autograded" and c.points > 0]
    return Gradebook(assessment, spec.spec.title,
                     [(c.id, c.name) for c in spec.spec.competencies], rows, tests)


def _attempts(ctx: ServiceContext, assessment: str, cohort: str | None) -> dict[str, list[GradedAttempt]]:
    out: dict[str, list[GradedAttempt]] = {}
    with ctx.store.session() as session:
        members = None
        if cohort:
            members = set(session.scalars(select(CohortMember.learner_id)
                                          .where(CohortMember.cohort_id == cohort)))
            if not members:
                raise NotFound(f"cohort {cohort!r} has no learners")
        web = {g: s for s, g in session.execute(select(WebSubmission.id, WebSubmission.grading_id))}
        for grading in session.scalars(latest_gradings(assessment, learners=members)):
            result = to_result(grading)
            out.setdefault(result.learner, []).append(GradedAttempt(
                attempt=grading.submission.attempt, score=result.score, max_score=result.max_score,
                passed=result.passed, needs_manual=result.needs_manual,
                competencies={c.id: (c.score / c.max_score if c.max_score else 0.0)
                              for c in result.competencies},
                cells={f"{c.notebook}/{c.cell}": (c.score / c.max_score if c.max_score else 0.0)
                       for c in result.cells},
                graded_at=grading.graded_at, origin=grading.origin, submission=web.get(grading.id),
                flags=tuple(f"{f.notebook}/{f.cell}: {f.message}" for f in result.integrity),
                version=result.assessment_version, tampered=tuple(result.tampered_cells),
            ))
    return out


def to_csv(book: Gradebook) -> str:
    """One line per learner: latest and best attempt, and each competency of the latest."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["learner", "attempts", "latest_attempt", "latest_score", "max_score", "passed",
                     "needs_manual", "best_attempt", "best_score",
                     *[f"competency:{cid}" for cid, _ in book.competencies], "latest_version"])
    for row in book.rows:
        writer.writerow([row.learner, row.attempts, row.latest.attempt, f"{row.latest.score:g}",
                         f"{row.latest.max_score:g}", row.latest.passed, row.latest.needs_manual,
                         row.best.attempt, f"{row.best.score:g}",
                         *[f"{row.latest.competencies.get(cid, 0.0):.3f}" for cid, _ in book.competencies],
                         row.latest.version])
    return buffer.getvalue()


def chart(book: Gradebook, kind: Chart, *, fmt: str = "png") -> bytes:
    """A picture of the gradebook: ``heatmap`` (learners x competencies), ``scores``, ``difficulty``."""
    if fmt not in ("png", "svg"):
        raise Unprocessable("charts come as png or svg")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = max(2.5, 0.35 * len(book.rows) + 1.5) if kind == "heatmap" else 3.2
    fig = Figure(figsize=(7, height), dpi=100)
    ax = fig.add_subplot()
    if kind == "heatmap":
        _heatmap(fig, ax, book)
    elif kind == "scores":
        values = [100 * r.latest.fraction for r in book.rows]
        ax.hist(values, bins=10, range=(0, 100), color="#2a6f97", edgecolor="white")
        ax.set_xlabel("latest attempt, % of points")
        ax.set_ylabel("learners")
        ax.set_title(f"Score distribution — {book.title}")
    elif kind == "difficulty":
        shares = book.difficulty()
        names = list(shares)
        ax.barh(names, [100 * shares[n] for n in names], color="#468faf")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of learners passing the test (latest attempt)")
        ax.invert_yaxis()
        ax.set_title("Per-test difficulty")
    else:
        raise Unprocessable("chart must be heatmap, scores or difficulty")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    return out.getvalue()


def _heatmap(fig: object, ax: object, book: Gradebook) -> None:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    data = [[100 * r.latest.competencies.get(cid, 0.0) for cid, _ in book.competencies] for r in book.rows]
    image = ax.imshow(data or [[0.0] * len(book.competencies)], cmap="RdYlGn", vmin=0, vmax=100,
                      aspect="auto")
    ax.set_xticks(range(len(book.competencies)), [name for _, name in book.competencies],
                  rotation=20, ha="right", fontsize=8)
    ax.set_yticks(range(len(book.rows)), [r.learner for r in book.rows], fontsize=8)
    ax.set_title("Competencies (latest attempt, % of points)")
    fig.colorbar(image, ax=ax)
