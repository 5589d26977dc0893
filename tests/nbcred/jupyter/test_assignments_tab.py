"""What JupyterLab's Assignments tab gets: nbgrader's own server-side manager (the object behind the
tab's ``/assignments`` handlers) driving the nbcred exchange against a live service.

Listings have the shapes the tab renders (released → fetched → submitted, feedback flags); a refused
or failed submission comes back as ``success: false`` with the service's reason, which the tab
shows in its "Invalid Submission" dialog.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nbgrader.apps import NbGrader
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

from nbcred.jupyter.exchange import ExchangeFetchAssignment, ExchangeSubmit
from nbcred.jupyter.feedback import STAMP
from tests.nbcred.jupyter.conftest import (
    ASSESSMENT,
    INSTRUCTOR,
    PASSING,
    Learner,
    LiveService,
    free_port,
    learner_folder,
)

pytestmark = pytest.mark.integration
COURSE = "nbcred"


@dataclass
class Tab:
    """The tab's server side for one learner."""

    learner: Learner
    manager: AssignmentList

    def assignments(self) -> list[dict[str, Any]]:
        answer = self.manager.list_assignments(course_id=COURSE)
        assert answer["success"], answer["value"]
        value: list[dict[str, Any]] = answer["value"]
        return value

    def one(self, status: str) -> dict[str, Any]:
        [entry] = [a for a in self.assignments() if a["status"] == status]
        return entry


@pytest.fixture
def open_tab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def make(service: LiveService, name: str, **env: str) -> Tab:
        learner = learner_folder(tmp_path, service, name)
        for key, value in {**learner.env, **env}.items():
            if key.startswith(("NBCRED_", "JUPYTER")):
                monkeypatch.setenv(key, value)
        manager = AssignmentList()
        manager.root_dir = str(learner.root)
        monkeypatch.chdir(learner.root)  # Jupyter runs in its root folder; nbgrader relies on it
        return Tab(learner, manager)

    yield make


def test_tab_goes_from_catalogue_to_feedback(sqlite_service: LiveService, open_tab: Any) -> None:
    tab: Tab = open_tab(sqlite_service, "carol")
    assert tab.manager.list_courses() == {"success": True, "value": [COURSE]}
    released = tab.one("released")
    assert (released["course_id"], released["assignment_id"]) == (COURSE, ASSESSMENT)
    assert [nb["notebook_id"] for nb in released["notebooks"]] == ["cleaning"]

    assert tab.manager.fetch_assignment(COURSE, ASSESSMENT) == {"success": True}
    fetched = tab.one("fetched")
    assert fetched["path"] == ASSESSMENT  # relative to Jupyter's root, as the tab opens it
    assert fetched["notebooks"] == [{"notebook_id": "cleaning", "path": f"{ASSESSMENT}/cleaning.ipynb"}]

    assert tab.manager.submit_assignment(COURSE, ASSESSMENT) == {"success": True}  # the blank release
    [submission] = tab.one("submitted")["submissions"]
    assert submission["student_id"] == "carol@example.org" and submission["timestamp"]
    assert submission["grading_status"] in ("queued", "running", "graded")

    sqlite_service.wait_graded("carol")
    [submission] = tab.one("submitted")["submissions"]
    assert submission["has_exchange_feedback"] and not submission["has_local_feedback"]

    assert tab.manager.fetch_feedback(COURSE, ASSESSMENT) == {"success": True}
    [submission] = tab.one("submitted")["submissions"]
    assert submission["has_local_feedback"] and not submission["feedback_updated"]
    folder = f"{ASSESSMENT}/feedback/{submission['timestamp']}"
    assert submission["local_feedback_path"] == folder
    page = (tab.learner.root / folder / "cleaning.html").read_text()
    assert f'href="{sqlite_service.url}/wallet"' in page
    assert "/credentials/" not in page  # a failing submission earns no badge

    assert (tab.learner.root / folder / STAMP).is_file()

    regraded = httpx.put(  # the instructor grades a cell by hand: the feedback changes
        f"{sqlite_service.url}/api/v1/submissions/{submission['submission_id']}/cells/cleaning/test_load_orders",
        json={"score": 1, "comment": "Loaded correctly after all: see my note"},
        headers={"Authorization": f"Bearer {sqlite_service.tokens[INSTRUCTOR]}"})
    assert regraded.status_code == 200, regraded.text
    [submission] = tab.one("submitted")["submissions"]
    assert submission["feedback_updated"] and submission["has_exchange_feedback"]
    assert tab.manager.fetch_feedback(COURSE, ASSESSMENT) == {"success": True}
    [submission] = tab.one("submitted")["submissions"]
    assert submission["has_local_feedback"] and not submission["feedback_updated"]
    assert "Loaded correctly after all" in (tab.learner.root / folder / "cleaning.html").read_text()

    shutil.copy(PASSING, tab.learner.root / ASSESSMENT / "cleaning.ipynb")
    refused = tab.manager.submit_assignment(COURSE, ASSESSMENT)
    assert not refused["success"]
    assert "you have used all 1 attempt(s) of pandas-cleaning" in refused["value"]
    assert len(tab.one("submitted")["submissions"]) == 1


def test_rejected_upload_is_reported_and_stores_nothing(sqlite_service: LiveService, open_tab: Any) -> None:
    tab: Tab = open_tab(sqlite_service, "dan")
    assert tab.manager.fetch_assignment(COURSE, ASSESSMENT) == {"success": True}
    (tab.learner.root / ASSESSMENT / "cleaning.ipynb").write_text('{"cells": [')
    refused = tab.manager.submit_assignment(COURSE, ASSESSMENT)
    assert not refused["success"]
    assert "cleaning.ipynb is not a Jupyter notebook (not valid JSON" in refused["value"]
    assert not [a for a in tab.assignments() if a["status"] == "submitted"]


def test_service_down_is_reported_by_listing_and_submitting(
    sqlite_service: LiveService, open_tab: Any
) -> None:
    tab: Tab = open_tab(sqlite_service, "bob", NBCRED_URL=f"http://127.0.0.1:{free_port()}")
    (tab.learner.root / ASSESSMENT).mkdir()
    (tab.learner.root / ASSESSMENT / "cleaning.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}))
    for answer in (tab.manager.list_assignments(course_id=COURSE),
                   tab.manager.submit_assignment(COURSE, ASSESSMENT)):
        assert not answer["success"]
        assert "cannot reach the nbcred service" in answer["value"]
        assert "exchange directory does not exist" not in answer["value"]


def test_a_hanging_service_times_out_as_configured(
    sqlite_service: LiveService, open_tab: Any, silent_server: int
) -> None:
    tab: Tab = open_tab(sqlite_service, "bob", NBCRED_URL=f"http://127.0.0.1:{silent_server}")
    with (tab.learner.root / "nbgrader_config.py").open("a") as config:
        config.write("c.Exchange.timeout = 0.5\n")
    started = time.monotonic()
    answer = tab.manager.list_assignments(course_id=COURSE)
    assert not answer["success"] and "did not answer within 0.5 s" in answer["value"]
    assert time.monotonic() - started < 10


def test_a_refused_token_says_how_to_fix_it(sqlite_service: LiveService, open_tab: Any) -> None:
    tab: Tab = open_tab(sqlite_service, "bob", NBCRED_TOKEN="nbc_not-a-token")
    answer = tab.manager.list_assignments(course_id=COURSE)
    assert not answer["success"] and "set NBCRED_TOKEN" in answer["value"]


def test_the_command_line_gets_nbgraders_exchange_error(sqlite_service: LiveService, tmp_path: Path) -> None:
    """Under ``nbgrader submit`` (the app is the parent) a failure is nbgrader's ExchangeError: the
    command logs the reason and exits 1."""
    learner = learner_folder(tmp_path, sqlite_service, "bob")
    (learner.root / ASSESSMENT).mkdir()
    coursedir = CourseDirectory(course_id=COURSE, assignment_id=ASSESSMENT)
    submit = ExchangeSubmit(coursedir=coursedir, authenticator=Authenticator(), parent=NbGrader(),
                            assignment_dir=str(learner.root), url=f"http://127.0.0.1:{free_port()}",
                            token="t")
    with pytest.raises(ExchangeError, match="cannot reach the nbcred service"):
        submit.start()


def test_an_unknown_assessment_names_the_closest_one(sqlite_service: LiveService, tmp_path: Path) -> None:
    learner = learner_folder(tmp_path, sqlite_service, "bob")
    coursedir = CourseDirectory(course_id=COURSE, assignment_id="pandas-cleanin")
    fetch = ExchangeFetchAssignment(coursedir=coursedir, authenticator=Authenticator(), parent=NbGrader(),
                                    assignment_dir=str(learner.root), url=sqlite_service.url,
                                    token=sqlite_service.tokens["bob"])
    with pytest.raises(ExchangeError, match="did you mean pandas-cleaning"):
        fetch.start()
    assert not (learner.root / "pandas-cleanin").exists()
