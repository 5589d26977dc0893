"""Grading workers that can see no file of the app, and app processes that share no folder.

Real processes on real services: PostgreSQL (``NBCRED_TEST_POSTGRES_URL``) holds the gradebook and
the shared store (``NBCRED_STORAGE=database``), Redis (``NBCRED_TEST_REDIS_URL``) is the broker and
result backend, ``nbcred serve`` runs with its own NBCRED_HOME and an absolute NBCRED_CATALOGUE,
and ``nbcred worker`` runs in a mount namespace of its own where the app's homes, the catalogue
and the checkout's sample folders are empty tmpfs mounts, from another current folder, with an
empty NBCRED_HOME of its own.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from nbcred.store.models import Grading, IssuedCredential, StoredName, WebSubmission
from tests.nbcred.scale.cluster import NBCRED, App, Cluster, people, sample, slowed, submit, wait_done

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _hidden_from(worker_marker: Path) -> dict[str, int | bool]:
    seen: dict[str, int | bool] = json.loads(worker_marker.read_text())
    return seen


@pytest.fixture()
def tokens(cluster: Cluster) -> dict[str, str]:
    return people(cluster.database_url, cluster.root / "setup-home", ("ada", "learner"), ("bob", "learner"),
                  ("cyd", "learner"), ("ines", "instructor"), ("alan", "admin"))


def test_a_worker_that_sees_no_app_file_grades_and_the_credential_is_issued(
    cluster: Cluster, tokens: dict[str, str]
) -> None:
    app = cluster.start_app("app")
    worker = cluster.start_worker("worker", concurrency=2)
    seen = _hidden_from(worker.marker)
    assert seen == {str(p): 0 for p in cluster.hidden()}, f"the worker could see app files: {seen}"
    reached = json.loads(worker.reached.read_text())
    expected = {**dict.fromkeys(cluster.off_limits(), False), **dict.fromkeys(cluster.needed(), True)}
    assert reached == expected, f"the worker reaches only the broker and the database: {reached}"

    queued = {
        "ada": submit(app, tokens["ada"], "pandas-cleaning", sample("pandas-cleaning", "alice")),
        "bob": submit(app, tokens["bob"], "pandas-cleaning", sample("pandas-cleaning", "carol")),
        "cyd": submit(app, tokens["cyd"], "exploratory-stats", sample("exploratory-stats", "alice")),
    }
    done = {who: wait_done(app, tokens[who], body["id"]) for who, body in queued.items()}
    ada = done["ada"]
    assert ada["status"] == "graded", (ada.get("error"), ada["result"] and ada["result"]["errors"])
    assert ada["result"]["passed"] is True and ada["result"]["score"] == ada["result"]["max_score"] > 0
    assert ada["result"]["credential"], "a passing submission gets its credential"
    assert all(d["status"] == "graded" for d in done.values()), done

    # graded on the worker: it fetched each assessment version into its own cache, by fingerprint
    fetched = sorted(p.name for p in (worker.home / "cache" / "assessments").iterdir())
    assert len(fetched) == 2, fetched
    assert "Task nbcred.grade[" in worker.log.read_text()

    # the credential is served, and it verifies
    credential = ada["result"]["credential"]
    listed = app.get("/api/v1/credentials", tokens["ada"]).json()
    document = next(c for c in listed if c.get("id") == credential or c.get("credential", {}).get("id")
                    == credential)
    assert document
    # the feedback page and the executed notebook came back through the store
    feedback = app.get(f"/api/v1/submissions/{queued['ada']['id']}/feedback", tokens["ada"])
    assert feedback.status_code == 200 and "cleaning" in feedback.text.lower()
    executed = app.get(f"/api/v1/submissions/{queued['ada']['id']}/notebooks/cleaning", tokens["ines"])
    assert executed.status_code == 200, executed.text[:500]
    # monitoring: protected, and the figures come from the shared services
    assert httpx.get(app.base + "/metrics").status_code == 401
    assert app.get("/metrics", tokens["ada"]).status_code == 403
    for token in ("scale-metrics-token", tokens["alan"]):
        scraped = app.get("/metrics", token)
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    figures = _figures(scraped.text)
    assert figures["nbcred_workers"] == 2, scraped.text  # --concurrency 2: two processes beat
    assert figures["nbcred_queue_depth"] == 0 and figures["nbcred_gradings"] == 3
    assert figures['nbcred_submissions{status="graded"}'] == 3
    assert figures['nbcred_grading_rate_per_minute{window="300s"}'] == pytest.approx(3 / 5)
    assert figures["nbcred_broker_up"] == 1
    with _engine(cluster) as engine, engine.connect() as conn:
        names = set(conn.scalars(select(StoredName.name)))
    assert any(n.startswith("feedback/pandas-cleaning/") for n in names), names
    assert any(n.startswith("submissions/pandas-cleaning/") for n in names), names


def test_two_app_processes_with_separate_homes_agree(cluster: Cluster, tokens: dict[str, str]) -> None:
    one, two = cluster.start_app("app-one"), cluster.start_app("app-two")
    cluster.start_worker("worker")
    first = submit(one, tokens["ada"], "pandas-cleaning", sample("pandas-cleaning", "alice"))
    second = submit(two, tokens["bob"], "exploratory-stats", sample("exploratory-stats", "alice"))
    wait_done(one, tokens["ada"], first["id"])
    wait_done(two, tokens["bob"], second["id"])
    staff = tokens["ines"]
    for path in ("/api/v1/submissions", f"/api/v1/submissions/{first['id']}",
                 f"/api/v1/submissions/{second['id']}"):
        seen = [app.get(path, staff).json() for app in (one, two)]
        assert seen[0] == seen[1], path
    listed = one.get("/api/v1/submissions", staff).json()
    assert {s["id"] for s in listed} == {first["id"], second["id"]}
    for who, sub, notebook in (("ada", first, "cleaning"), ("bob", second, "explore")):
        detail = one.get(f"/api/v1/submissions/{sub['id']}", tokens[who]).json()
        assert detail["status"] == "graded" and detail["result"]["credential"], detail
        for app in (one, two):  # uploads, feedback and executed notebooks from the shared store
            for path in (f"/api/v1/submissions/{sub['id']}/feedback",
                         f"/api/v1/submissions/{sub['id']}/notebooks/{notebook}"):
                response = app.get(path, tokens[who])
                assert response.status_code == 200, (app.base, path, response.text[:300])
        credentials = [app.get("/api/v1/credentials", tokens[who]).json() for app in (one, two)]
        assert credentials[0] == credentials[1] and credentials[0]
    # one issuer: both processes sign with the key the first one made, published once
    issuers = [httpx.get(app.base + "/issuer", headers={"Accept": "application/json"}).json()
               for app in (one, two)]
    assert issuers[0] == issuers[1]
    status = [httpx.get(app.base + "/status/message/1").json() for app in (one, two)]
    assert status[0] == status[1] and status[0]["proof"]
    # neither app process graded: each result came from the worker through the store
    assert not any((app.home / "cache" / "assessments").exists() for app in (one, two))


def test_a_worker_killed_mid_task_loses_nothing(cluster: Cluster, tokens: dict[str, str]) -> None:
    app = cluster.start_app("app")
    first = cluster.start_worker("worker-one")
    queued = submit(app, tokens["ada"], "pandas-cleaning", slowed(sample("pandas-cleaning", "alice"), 20))
    deadline = time.monotonic() + 120
    while first.received() < 1:
        assert time.monotonic() < deadline, first.log.read_text()
        time.sleep(0.2)
    time.sleep(3)  # mid-task: the notebook is sleeping in the sandbox
    first.kill_tree()
    assert wait_status(app, tokens["ada"], queued["id"]) == "running"
    cluster.start_worker("worker-two")
    done = wait_done(app, tokens["ada"], queued["id"], timeout=240)
    assert done["status"] == "graded" and done["result"]["passed"], done
    with _engine(cluster) as engine, engine.connect() as conn:
        gradings = conn.scalar(select(func.count()).select_from(Grading))
        issued = conn.scalar(select(func.count()).select_from(IssuedCredential))
        rows = conn.execute(select(WebSubmission.status)).all()
    assert (gradings, issued, [r[0] for r in rows]) == (1, 1, ["graded"])


def wait_status(app: App, token: str, submission: str) -> str:
    status: str = app.get(f"/api/v1/submissions/{submission}", token).json()["status"]
    return status


@contextmanager
def _engine(cluster: Cluster) -> Iterator[Engine]:
    engine = create_engine(cluster.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _figures(text: str) -> dict[str, float]:
    """Prometheus text as ``{"name{labels}": value}``."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_doctor_checks_what_a_worker_must_reach(cluster: Cluster, tmp_path: Path) -> None:
    env = {**cluster.shared_env(), "NBCRED_HOME": str(tmp_path / "worker-home")}
    good = subprocess.run([NBCRED, "doctor"], env={**env, "COLUMNS": "300"}, capture_output=True,
                          text=True, timeout=300)
    rows = {line.split("│")[1].strip(): line for line in good.stdout.splitlines() if line.count("│") >= 3}
    for check in ("broker", "result backend", "database", "store"):
        assert "yes" in rows[check], good.stdout
    assert "database (postgresql" in rows["store"]
    bad = subprocess.run([NBCRED, "doctor"], capture_output=True, text=True, timeout=300, env={
        **env, "COLUMNS": "300", "NBCRED_BROKER_URL": "redis://127.0.0.1:1/0",
        "NBCRED_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    assert bad.returncode != 0
    rows = {line.split("│")[1].strip(): line for line in bad.stdout.splitlines() if line.count("│") >= 3}
    assert "no" in rows["broker"] and "unreachable" in rows["broker"], bad.stdout
    assert "no" in rows["database"] and "NBCRED_DATABASE_URL" in bad.stdout
    assert "no" in rows["store"]
