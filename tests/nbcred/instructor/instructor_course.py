"""A service over the sample catalogue with a graded submission to mark by hand (instructor tests)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from pathlib import Path

from grader.results import CellScore, GradeResult
from grader.score import decide, roll_up
from nbcred.catalogue import Catalogue, load_catalogue
from nbcred.service import ServiceContext
from nbcred.service.users import Account, account_for_token, add_user, create_token
from nbcred.settings import Settings
from nbcred.store.models import WebSubmission
from tests.paths import ROOT

CATALOGUE = ROOT / "assessments"
SAMPLES = ROOT / "notebooks"
ASSESSMENT = "exploratory-stats"
MANUAL_CELL = ("explore", "interpretation")
#: autograded cells the synthetic learner failed: without the 2 manual points they do not pass
FAILED = {"test_welch_t", "test_review_effect"}


@functools.cache
def catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE)


@dataclass
class Course:
    ctx: ServiceContext
    tokens: dict[str, str]
    submission: str  # the web submission id

    def account(self, who: str) -> Account:
        found = account_for_token(self.ctx, self.tokens[who])
        assert found is not None
        return found


def open_course(home: Path, database_url: str | None = None, *, password: str | None = None,
                **changes: object) -> Course:
    values: dict = {"public_base_url": "https://badges.test", "serve_grading": False,
                    "catalogue": CATALOGUE, **changes}
    settings = Settings(home=home, workers=1, database_url=database_url, **values)
    ctx = ServiceContext.open(settings)
    ctx._catalogue = catalogue()
    tokens = {}
    for who, role in (("ada", "learner"), ("grace", "instructor"), ("alan", "admin")):
        add_user(ctx, email=f"{who}@example.org", name=who.title(), role=role,
                 password=password if who == "grace" else None)
        tokens[who] = create_token(ctx, email=f"{who}@example.org").token
    learner = account_for_token(ctx, tokens["ada"])
    assert learner is not None
    return Course(ctx, tokens, graded_submission(ctx, learner))


def graded_submission(ctx: ServiceContext, learner: Account, *, content: str = "one",
                      tampered: tuple[str, ...] = (), upload: Path | None = None) -> str:
    """A web submission with an automatic grading that passes only with the manual cell's points."""
    assessment = ctx.catalogue.assessments[ASSESSMENT]
    cells = []
    for cell in assessment.grade_cells():
        manual = cell.kind != "autograded"
        score = 0.0 if manual or cell.grade_id in FAILED else cell.points
        cells.append(CellScore(cell.notebook, cell.grade_id, score, cell.points, cell.kind, manual))
    score = sum(c.score for c in cells)
    maximum = sum(c.max_score for c in cells)
    competencies = roll_up(assessment.spec, cells)
    result = GradeResult(
        learner=learner.learner, assessment=ASSESSMENT, assessment_version=assessment.spec.version,
        score=score, max_score=maximum, passed=decide(assessment, score, maximum, competencies, []),
        cells=cells, competencies=competencies, tampered_cells=list(tampered), errors=[],
        content_hash=content * 8, needs_manual=True,
    )
    assert not result.passed
    recorded = ctx.store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
    row_id = uuid.uuid4().hex
    with ctx.store.session() as session:
        session.add(WebSubmission(
            id=row_id, user_id=learner.id, learner_id=learner.learner, assessment_id=ASSESSMENT,
            assessment_version=assessment.spec.version, fingerprint=assessment.fingerprint,
            content_hash=result.content_hash, upload_path=str(upload or SAMPLES / ASSESSMENT / "alice"),
            status="graded", attempt=recorded.attempt, tries=1, grading_id=recorded.grading_id,
        ))
    return row_id

