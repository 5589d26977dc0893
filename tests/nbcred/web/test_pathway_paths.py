"""The stacked certificate is issued the moment the last component passes, whichever way it passed.

Every path that issues a badge (the web and API queue, which the JupyterLab exchange also uses;
``nbcred grade``; manual grading; bulk issue, see tests/nbcred/bulk/test_lifecycle.py) ends in the
issuer's one stacking step. Each test holds three of the four badges of "Data Analyst Foundations"
and passes the fourth through one path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from grader.assessment import Assessment
from grader.results import CellScore, GradeResult
from grader.score import roll_up
from nbcred.issuance import CredentialIssuer
from nbcred.pipeline import GradeJob, grade_batch
from nbcred.service import ServiceContext
from nbcred.service.users import account_for_token
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential
from tests.nbcred.web.conftest import CATALOGUE, SAMPLES, Service, catalogue, grade_queued, sample

PATHWAY = "data-analyst-foundations"
COMPONENTS = ("pandas-cleaning", "exploratory-stats", "data-visualisation", "sql-from-python")


def passing(assessment: Assessment, learner: str, content: str = "p") -> GradeResult:
    """A full-marks result for ``assessment`` (what a passing grading records)."""
    cells = [CellScore(c.notebook, c.grade_id, c.points, c.points, c.kind, False)
             for c in assessment.grade_cells()]
    total = sum(c.max_score for c in cells)
    return GradeResult(
        learner=learner, assessment=assessment.id, assessment_version=assessment.spec.version,
        score=total, max_score=total, passed=True, cells=cells,
        competencies=roll_up(assessment.spec, cells), tampered_cells=[], errors=[],
        content_hash=content * 64,
    )


def hold(ctx: ServiceContext, learner: str, assessment_ids: Sequence[str]) -> None:
    """Issue these badges the ordinary way (recorded grading, then the issuer)."""
    for assessment_id in assessment_ids:
        assessment = ctx.catalogue.assessments[assessment_id]
        result = passing(assessment, learner)
        recorded = ctx.store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
        assert ctx.issuer(result, assessment, recorded.grading_id) is not None


def certificates(store: Store, learner: str) -> list[IssuedCredential]:
    with store.session() as session:
        return list(session.scalars(select(IssuedCredential).where(
            IssuedCredential.learner_id == learner, IssuedCredential.kind == "pathway")))


def assert_stacked(store: Store, settings: Settings, learner: str) -> None:
    found = certificates(store, learner)
    assert [row.achievement_id for row in found] == [f"{settings.public_base_url}/pathways/{PATHWAY}"]
    document = found[0].document
    assert "Data Analyst Foundations" in document["name"] and found[0].status == "active"
    folder = settings.home / "credentials" / learner
    assert (folder / f"{PATHWAY}-clr.json").is_file()


def test_web_and_api_submission_of_the_last_component_issues_the_certificate(
    quiet_service: Service,
) -> None:
    service = quiet_service
    ada = account_for_token(service.ctx, service.tokens["ada"])
    assert ada is not None
    hold(service.ctx, ada.learner, COMPONENTS[1:])
    assert certificates(service.ctx.store, ada.learner) == []  # 3 of 4: nothing yet

    queued = service.client.post("/api/v1/submissions", headers=service.auth("ada"),
                                 data={"assessment": COMPONENTS[0]}, files=sample(COMPONENTS[0], "alice"))
    assert queued.status_code == 202
    assert grade_queued(service.ctx) == ["graded"]
    assert_stacked(service.ctx.store, service.ctx.settings, ada.learner)
    wallet = service.client.get("/api/v1/credentials", headers=service.auth("ada")).json()
    assert {c["kind"] for c in wallet} == {"badge", "pathway"} and len(wallet) == 5


def test_cli_grading_issues_the_certificate_from_the_settings_catalogue(tmp_path: Path) -> None:
    """``nbcred grade`` has no service context: the issuer reads the pathways from settings."""
    settings = Settings(home=tmp_path / "home", catalogue=CATALOGUE, public_base_url="https://badges.test")
    store = Store.open(settings.resolved_database_url())
    issuer = CredentialIssuer(settings, store)  # what nbcred grade builds
    assert issuer is not None
    for assessment_id in COMPONENTS:
        assessment = catalogue().assessments[assessment_id]

        class Graded:  # the executor is the edge: it returns this assessment's passing result
            def grade(self, jobs: Sequence[GradeJob], *,
                      on_result: Callable[[GradeJob, GradeResult], None],
                      assessment: Assessment = assessment) -> None:
                for job in jobs:
                    on_result(job, passing(assessment, "lin", content=assessment.id[0]))

        if assessment_id == COMPONENTS[-1]:
            assert certificates(store, "lin") == []
        report = grade_batch(assessment, [tmp_path / "lin"], store=store, executor=Graded(), issuer=issuer)
        assert report.passed == 1
    assert_stacked(store, settings, "lin")


def test_manual_grade_that_passes_the_last_component_issues_the_certificate(tmp_path: Path) -> None:
    from nbcred.service.manual import grade_cell
    from tests.nbcred.instructor.instructor_course import ASSESSMENT, MANUAL_CELL, open_course

    course = open_course(tmp_path / "home")
    ada = course.account("ada")
    hold(course.ctx, ada.learner, [a for a in COMPONENTS if a != ASSESSMENT])
    assert certificates(course.ctx.store, ada.learner) == []
    detail = grade_cell(course.ctx, course.account("grace"), course.submission,
                        notebook=MANUAL_CELL[0], grade_id=MANUAL_CELL[1], score=2)
    assert detail.as_json()["result"]["passed"]
    assert_stacked(course.ctx.store, course.ctx.settings, ada.learner)


def test_certificate_is_issued_once_however_often_the_last_badge_is_reissued(quiet_service: Service) -> None:
    ctx = quiet_service.ctx
    hold(ctx, "kim", COMPONENTS)
    hold(ctx, "kim", COMPONENTS[:1])  # passing again finds the same badge and certificate
    assert len(certificates(ctx.store, "kim")) == 1


@pytest.mark.slow
def test_the_nbcred_grade_command_issues_the_certificate(tmp_path: Path) -> None:
    """The console script, a real kernel: the last component graded by ``nbcred grade``."""
    home, db = tmp_path / "home", f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    settings = Settings(home=home, catalogue=CATALOGUE, database_url=db, public_base_url="https://badges.test")
    store = Store.open(settings.resolved_database_url())
    issuer = CredentialIssuer(settings, store)
    for assessment_id in COMPONENTS[1:]:
        assessment = catalogue().assessments[assessment_id]
        result = passing(assessment, "alice", content=assessment_id[0])
        recorded = store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
        assert issuer(result, assessment, recorded.grading_id) is not None
    assert certificates(store, "alice") == []
    env = {**os.environ, "NBCRED_HOME": str(home), "NBCRED_CATALOGUE": str(CATALOGUE), "NBCRED_WORKERS": "1",
           "NBCRED_PUBLIC_BASE_URL": "https://badges.test"}
    command = [str(Path(sys.executable).parent / "nbcred"), "grade", str(CATALOGUE / COMPONENTS[0]),
               str(SAMPLES / COMPONENTS[0] / "alice"), "--db", db, "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1])["passed"] is True
    assert_stacked(store, settings, "alice")
