"""A small production layout on this machine: PostgreSQL and Redis, app processes (``nbcred
serve``) each with its own NBCRED_HOME, and grading workers (``nbcred worker``) that see none of
the app's files and reach only the broker and the database: each worker runs in a mount namespace
of its own where the app's homes, the catalogue and the checkout's sample folders are covered by
empty tmpfs mounts, inside a network namespace whose one link leads to the two services
(``network.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.browsing import free_port
from tests.conftest import POSTGRES_URL
from tests.nbcred.scale.network import Bridge
from tests.paths import ROOT

NBCRED = str(Path(sys.executable).parent / "nbcred")
#: A Redis database of these tests' own: the server of ``NBCRED_TEST_REDIS_URL``, database 13 (the
#: Celery tests use 9-12; database 0 is shared by the rest of the suite). Never emptied: every
#: cluster has a queue of its own, and every key the service writes names its queue.
REDIS_URL = os.environ.get("NBCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/13"


def _port(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or default


@dataclass
class App:
    """One ``nbcred serve``: its address, home and process."""

    base: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, token: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


@dataclass
class Worker:
    """One ``nbcred worker`` in its own mount namespace."""

    home: Path
    process: subprocess.Popen[bytes]
    log: Path
    marker: Path  # written inside the namespaces: what the worker could see of the app
    reached: Path  # written inside the namespaces: which addresses of this machine answered it

    def kill_tree(self) -> None:
        """SIGKILL the worker and everything it started (a machine lost mid-task), until nothing of
        it is left: a pool may start a process between one look and the next."""
        try:
            root = psutil.Process(self.process.pid)
        except psutil.NoSuchProcess:
            return
        seen: dict[int, psutil.Process] = {}
        for _ in range(20):
            with contextlib.suppress(psutil.NoSuchProcess):
                for proc in [root, *root.children(recursive=True)]:
                    seen.setdefault(proc.pid, proc)
            alive = [proc for proc in seen.values() if proc.is_running()
                     and proc.status() != psutil.STATUS_ZOMBIE]
            if not alive:
                break
            for proc in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.send_signal(signal.SIGKILL)
            psutil.wait_procs(alive, timeout=5)
        self.process.wait(timeout=30)

    def received(self) -> int:
        """How many grading tasks this worker has taken from the queue so far (its log says)."""
        return self.log.read_text(errors="replace").count("Task nbcred.grade[")  \
            - self.log.read_text(errors="replace").count("succeeded in")


@dataclass
class Cluster:
    """The settings every process shares, and the processes started so far."""

    root: Path
    database_url: str  # the same for every process: the host end of the workers' link
    redis_url: str
    catalogue: Path
    bridge: Bridge
    queue: str = field(default_factory=lambda: f"nbcred-scale-{uuid.uuid4().hex[:8]}")
    apps: list[App] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def shared_env(self) -> dict[str, str]:
        """The five settings (and the test's queue) every app process and worker gets."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith("NBCRED_")}
        return {**keep, "NBCRED_DATABASE_URL": self.database_url, "NBCRED_STORAGE": "database",
                "NBCRED_EXECUTOR": "celery", "NBCRED_BROKER_URL": self.redis_url,
                "NBCRED_RESULT_BACKEND": self.redis_url, "NBCRED_CELERY_QUEUE": self.queue,
                "NBCRED_CELERY_VISIBILITY_TIMEOUT": "15", "NBCRED_KEY_PASSPHRASE": "scale-test-keys",
                "NBCRED_SEED_SECRET": "scale-test-seed"}

    def start_app(self, name: str) -> App:
        port = free_port()
        home = self.root / name / "home"
        home.mkdir(parents=True)
        log = self.root / name / "serve.log"
        env = {**self.shared_env(), "NBCRED_HOME": str(home), "NBCRED_CATALOGUE": str(self.catalogue),
               "NBCRED_SESSION_SECRET": "scale-test-session-secret-" + "x" * 40,
               "NBCRED_PUBLIC_BASE_URL": "http://127.0.0.1:9",  # the same in every app process
               "NBCRED_METRICS_TOKEN": "scale-metrics-token"}
        process = subprocess.Popen([NBCRED, "serve", "--port", str(port)], cwd=self.root / name, env=env,
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT)
        app = App(f"http://127.0.0.1:{port}", home, process, log)
        self.apps.append(app)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"nbcred serve stopped:\n{log.read_text()}")
            try:
                if httpx.get(app.base + "/healthz", timeout=2).status_code == 200:
                    return app
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"nbcred serve did not answer:\n{log.read_text()}")

    def hidden(self) -> list[Path]:
        """What a worker must not see: every app home, the catalogue, the checkout's samples."""
        return [*(a.home for a in self.apps), self.catalogue, ROOT / "assessments", ROOT / "notebooks"]

    def start_worker(self, name: str, concurrency: int = 1) -> Worker:
        home = self.root / name / "home"  # empty, its own
        cwd = self.root / name / "cwd"
        home.mkdir(parents=True)
        cwd.mkdir()
        log = self.root / name / "worker.log"
        marker = self.root / name / "seen.json"
        hide = " ".join(f"mount -t tmpfs -o size=1m,mode=000 nbcred-hidden {p};" for p in self.hidden())
        reached = self.root / name / "reached.json"
        probe = " ".join([sys.executable, str(Path(__file__).with_name("probe.py")), str(marker),
                          str(reached), *map(str, self.hidden()), "--", *self.off_limits(), *self.needed()])
        script = f"set -e; {hide} cd {cwd}; {probe}; " \
                 f"exec {NBCRED} worker --concurrency {concurrency} --loglevel=INFO"
        env = {**self.shared_env(), "NBCRED_HOME": str(home)}
        process = subprocess.Popen([*self.bridge.command(), "unshare", "--mount", "--propagation", "private",
                                    "sh", "-c", script],
                                   env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        worker = Worker(home, process, log, marker, reached)
        self.workers.append(worker)
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text().endswith("}")) and time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the worker stopped:\n{log.read_text()}")
            time.sleep(0.1)
        return worker

    def off_limits(self) -> list[str]:
        """Addresses of this machine a worker must not reach: the real PostgreSQL and Redis ports
        and every app process, on loopback and on the host end of the link."""
        ports = [_port(POSTGRES_URL, 5432), _port(REDIS_URL, 6379)]
        ports += [int(a.base.rsplit(":", 1)[1]) for a in self.apps]
        return [f"{host}:{port}" for port in ports for host in ("127.0.0.1", self.bridge.host)]

    def needed(self) -> list[str]:
        """What a worker does reach: the broker and the database, through the link."""
        return [f"{self.bridge.host}:{_port(url, 0)}" for url in (self.database_url, self.redis_url)]

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill_tree()
        for app in self.apps:
            if app.process.poll() is None:
                app.process.terminate()
                try:
                    app.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    app.process.kill()
                    app.process.wait()
        self.bridge.close()


def people(database_url: str, home: Path, *who: tuple[str, str]) -> dict[str, str]:
    """Accounts (email local part → role) made in the shared database; their API tokens."""
    from nbcred.service import ServiceContext
    from nbcred.service.users import add_user, create_token
    from nbcred.settings import Settings

    ctx = ServiceContext.open(Settings(home=home, database_url=database_url))
    tokens = {}
    for name, role in who:
        add_user(ctx, email=f"{name}@example.org", name=name.title(), role=role, password=None)
        tokens[name] = create_token(ctx, email=f"{name}@example.org", label="scale test").token
    ctx.store.engine.dispose()
    return tokens


def submit(app: App, token: str, assessment: str, notebooks: dict[str, bytes]) -> dict[str, Any]:
    files = [("files", (name, data, "application/x-ipynb+json")) for name, data in notebooks.items()]
    response = httpx.post(app.base + "/api/v1/submissions", data={"assessment": assessment}, files=files,
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_done(app: App, token: str, submission: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = app.get(f"/api/v1/submissions/{submission}", token).json()
        if body.get("status") in ("graded", "error"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"submission {submission} not graded in {timeout} s: {body}\n"
                         f"{app.log.read_text()[-4000:]}")


def sample(assessment: str, learner: str) -> dict[str, bytes]:
    folder = ROOT / "notebooks" / assessment / learner
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.ipynb"))}


def slowed(notebooks: dict[str, bytes], seconds: float) -> dict[str, bytes]:
    """The notebooks with a pause added to the first answer cell (a submission that takes a while)."""
    out = {}
    for name, data in notebooks.items():
        nb = json.loads(data)
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                cell["source"] = f"import time as _t; _t.sleep({seconds})\n" + source
                break
        out[name] = json.dumps(nb).encode()
    return out


def copy_catalogue(target: Path, *ids: str) -> Path:
    target.mkdir(parents=True)
    for assessment in ids:
        shutil.copytree(ROOT / "assessments" / assessment, target / assessment)
    return target
