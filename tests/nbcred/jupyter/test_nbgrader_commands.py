"""The contract: with the lines of docs/jupyterlab.md in nbgrader_config.py and NBCRED_URL + NBCRED_TOKEN set,
nbgrader's own commands list, fetch, submit and fetch feedback against a live service, which
grades the submission — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.nbcred.jupyter.conftest import ASSESSMENT, PASSING, Learner, LiveService, learner_folder

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> tuple[str, LiveService]:
    live: LiveService = request.getfixturevalue(f"{request.param}_service")
    return request.param, live


def ok(learner: Learner, *args: str) -> str:
    done = learner.nbgrader(*args)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_list_fetch_submit_fetch_feedback(backend: tuple[str, LiveService], tmp_path: Path) -> None:
    database, service = backend
    ada = learner_folder(tmp_path, service, "ada")
    folder = ada.root / ASSESSMENT

    assert f"nbcred {ASSESSMENT}\n" in ok(ada, "list")

    assert f"Fetched as: nbcred {ASSESSMENT}" in ok(ada, "fetch_assignment", ASSESSMENT)
    released = json.loads((folder / "cleaning.ipynb").read_text())
    sources = "".join("".join(cell["source"]) for cell in released["cells"])
    assert "BEGIN SOLUTION" not in sources and "BEGIN HIDDEN TESTS" not in sources
    assert (folder / "orders_raw.csv").is_file()

    shutil.copy(PASSING, folder / "cleaning.ipynb")  # the learner's work
    assert f"Submitted as: nbcred {ASSESSMENT}" in ok(ada, "submit", ASSESSMENT)
    if database == "sqlite":
        [row] = service.wait_graded("ada")
        assert row["status"] == "graded" and row["assessment"] == ASSESSMENT
    else:  # fetch_feedback itself waits for the grading (longer than its default on a busy machine)
        with (ada.root / "nbgrader_config.py").open("a") as config:
            config.write("c.ExchangeFetchFeedback.grading_wait = 90\n")

    assert "Fetched feedback:" in ok(ada, "fetch_feedback", ASSESSMENT)
    [row] = service.wait_graded("ada", timeout=0.1)
    assert row["status"] == "graded" and row["assessment"] == ASSESSMENT
    [page] = folder.glob("feedback/*/cleaning.html")
    html = page.read_text()
    assert f'href="{service.url}/wallet"' in html
    assert f'href="{service.url}/credentials/' in html  # passing earned the badge
    assert re.search(r'<body[^>]*><nav class="nbcred-links"', html)  # the links come first

    if database == "sqlite":  # the submitted listing's wording, checked once
        listing = ok(ada, "list", "--cached")
        line = f"ada@example.org {ASSESSMENT} {page.parent.name} (graded; feedback already fetched)"
        assert line in listing
