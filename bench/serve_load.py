"""Load on the web service: N submissions from concurrent API clients against a real ``nbcred serve``.

Each round starts ``nbcred serve`` (embedded defaults: SQLite, the local worker pool) on a
loopback port in a fresh home, creates one learner account and API token per client, and then:

* **idle**: one client uploads the pandas-cleaning sample K times, one at a time, polling every
  10 ms; upload start → graded, p50 (after one warm-up submission);
* **load**: C clients upload N submissions in all (the four catalogue assessments, samples alice …
  erin) through ``POST /api/v1/submissions`` and poll ``GET /api/v1/submissions`` with the
  feedback page's back-off (0.4 s growing to 3 s); submissions/s over first upload → last graded,
  p50/p95 upload → graded (the graded time is the queue row's ``finished_at``, so polling does
  not blur it), and that every upload got exactly one result: status graded, a result whose
  learner and content hash are the upload's, claimed once (``tries`` = 1), one grading row;
* **baseline**: ``nbcred grade`` on the same notebooks (one run per assessment, learner folders
  as in nbgrader's layout), same worker count, wall clock including its start-up.

``--latency N`` measures only one thing instead: on a warm service (pool started, warm-up
submissions done), submit request → result seen by the client, one submission at a time, N times,
with p50/p95 and where the time goes (``bench/serve_latency.py``).

Rounds alternate service and baseline so both see the same machine load; medians are reported
with the load average. Exit status 1 when a target is missed::

    .venv/bin/python bench/serve_load.py                       # N=200, C=50, 3 rounds
    .venv/bin/python bench/serve_load.py -n 40 --clients 10 --rounds 1
    .venv/bin/python bench/serve_load.py --latency 20 --rounds 1 [--wait 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import serve_latency  # noqa: E402
from nbcred.service import ServiceContext  # noqa: E402
from nbcred.service.submissions import memory_hash  # noqa: E402
from nbcred.service.users import add_user, create_token  # noqa: E402
from nbcred.settings import Settings  # noqa: E402
from nbcred.store.models import Grading, WebSubmission  # noqa: E402

ASSESSMENTS = ("pandas-cleaning", "exploratory-stats", "data-visualisation", "sql-from-python")
SAMPLES = ("alice", "bob", "carol", "dave", "erin")  # frank's notebook is refused at upload
NBCRED = Path(sys.executable).parent / "nbcred"
RATE_TARGET = 0.8
IDLE_TARGET = 0.5


@dataclass(frozen=True)
class Upload:
    """One submission: who sends it, for which assessment, which sample notebooks."""

    client: int
    assessment: str
    sample: str

    def files(self) -> list[tuple[str, tuple[str, bytes]]]:
        folder = ROOT / "notebooks" / self.assessment / self.sample
        return [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ipynb"))]


@dataclass
class Sent:
    """What a client observed of one upload."""

    upload: Upload
    id: str
    started: float  # wall clock, before the POST
    seen_graded: float | None = None


@dataclass
class ServiceRound:
    rate: float
    p50: float
    p95: float
    seen_p50: float
    idle: list[float]
    problems: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)


def plan(n: int, clients: int) -> list[Upload]:
    """N uploads spread over the clients, each client cycling through the assessments."""
    return [Upload(k % clients, ASSESSMENTS[(k // clients) % len(ASSESSMENTS)],
                   SAMPLES[(k + k // clients) % len(SAMPLES)]) for k in range(n)]


def email(client: int) -> str:
    return f"learner{client:03d}@bench.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_for(home: Path, workers: int | None) -> Settings:
    extra: dict[str, Any] = {"workers": workers} if workers else {}
    return Settings(home=home, catalogue=ROOT / "assessments",
                    database_url=f"sqlite:///{home / 'gradebook.sqlite'}", **extra)


def make_accounts(settings: Settings, clients: int) -> list[str]:
    """One learner and API token per client."""
    ctx = ServiceContext.open(settings)
    tokens = []
    for client in range(clients):
        add_user(ctx, email=email(client), name=f"Learner {client}", role="learner")
        tokens.append(create_token(ctx, email=email(client), label="bench").token)
    ctx.store.engine.dispose()
    return tokens


class Server:
    """``nbcred serve`` in a subprocess, stopped with SIGINT (uvicorn's graceful shutdown)."""

    def __init__(self, settings: Settings, port: int, log: Path) -> None:
        env = {**os.environ, "NBCRED_HOME": str(settings.home), "NBCRED_CATALOGUE": str(settings.catalogue),
               "NBCRED_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
               "NBCRED_WORKERS": str(settings.workers)}
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(NBCRED), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--db", str(settings.database_url)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"nbcred serve exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"nbcred serve not ready within {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


async def post(client: httpx.AsyncClient, token: str, upload: Upload) -> Sent:
    started = time.time()
    response = await client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"},
                                 data={"assessment": upload.assessment}, files=upload.files())
    if response.status_code != 202:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    return Sent(upload, response.json()["id"], started)


async def learner(client: httpx.AsyncClient, token: str, uploads: list[Upload]) -> list[Sent]:
    """Upload everything, then poll the submission list with back-off until all are graded."""
    sent = [await post(client, token, u) for u in uploads]
    pending = {s.id: s for s in sent}
    delay = 0.4
    while pending:
        await asyncio.sleep(delay)
        delay = min(delay * 1.3, 3.0)
        try:
            listed = (await client.get("/api/v1/submissions",
                                       headers={"Authorization": f"Bearer {token}"})).json()
        except httpx.TransportError:  # a dropped connection: poll again
            continue
        for row in listed:
            if row["id"] in pending and row["status"] in ("graded", "error"):
                pending.pop(row["id"]).seen_graded = time.time()
    return sent


async def idle_latencies(url: str, tokens: list[str]) -> list[Sent]:
    """Upload → graded of one submission at a time on an idle service, one learner each (new
    content for the gradebook); the first is a warm-up."""
    sent = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for token in tokens:
            one = await post(client, token, Upload(-1, "pandas-cleaning", "alice"))
            while True:
                body = (await client.get(f"/api/v1/submissions/{one.id}",
                                         headers={"Authorization": f"Bearer {token}"})).json()
                if body["status"] in ("graded", "error"):
                    one.seen_graded = time.time()
                    break
                await asyncio.sleep(0.01)
            sent.append(one)
    return sent[1:]


def stages(settings: Settings, sent: list[Sent]) -> dict[str, float]:
    """Median seconds of each step of the idle submissions, from the queue rows' timestamps."""
    ctx = ServiceContext.open(settings)
    steps: dict[str, list[float]] = {"upload (client start -> queued)": [],
                                     "queued -> claimed": [], "grading in the worker": [],
                                     "record + credential + status": [], "graded -> seen by client": []}
    with ctx.store.session() as session:
        for s in sent:
            row = session.get(WebSubmission, s.id)
            grading = session.get(Grading, row.grading_id) if row and row.grading_id else None
            if row is None or grading is None or row.started_at is None or row.finished_at is None:
                continue
            queued, claimed, finished = (t.replace(tzinfo=UTC).timestamp() for t in
                                         (row.submitted_at, row.started_at, row.finished_at))
            steps["upload (client start -> queued)"].append(queued - s.started)
            steps["queued -> claimed"].append(claimed - queued)
            steps["grading in the worker"].append(grading.seconds)
            steps["record + credential + status"].append(finished - claimed - grading.seconds)
            steps["graded -> seen by client"].append((s.seen_graded or finished) - finished)
    ctx.store.engine.dispose()
    return {name: statistics.median(values) for name, values in steps.items() if values}


async def load(url: str, tokens: list[str], uploads: list[Upload]) -> list[Sent]:
    # idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout, so a
    # poll never reuses a connection the server is closing
    limits = httpx.Limits(max_connections=len(tokens) + 1, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        per_client: dict[int, list[Upload]] = {}
        for u in uploads:
            per_client.setdefault(u.client, []).append(u)
        done = await asyncio.gather(*(learner(client, tokens[c], us) for c, us in per_client.items()))
    return [s for batch in done for s in batch]


def check(
    settings: Settings, url: str, tokens: list[str], sent: list[Sent], clients: int
) -> tuple[list[str], dict[str, float]]:
    """Every upload got exactly one result, its own; returns the problems and the graded times."""
    problems: list[str] = []
    ctx = ServiceContext.open(settings)
    with ctx.store.session() as session:
        rows = {r.id: r for r in session.scalars(select(WebSubmission))}
        per_submission = Counter(session.scalars(select(Grading.submission_id)))
        submission_of = {g: sid for g, sid in session.execute(select(Grading.id, Grading.submission_id))}
        finished = {i: r.finished_at.replace(tzinfo=UTC).timestamp() for i, r in rows.items()
                    if r.finished_at is not None}
        for s in sent:
            row = rows.get(s.id)
            if row is None:
                problems.append(f"{s.id}: lost (no queue row)")
            elif row.status != "graded" or row.grading_id is None:
                problems.append(f"{s.id}: status {row.status} ({row.error})")
            elif row.tries != 1:
                problems.append(f"{s.id}: claimed {row.tries} times")
            elif per_submission[submission_of[row.grading_id]] != 1:
                problems.append(f"{s.id}: {per_submission[submission_of[row.grading_id]]} gradings")
        loaded = {email(c) for c in range(clients)}
        if sum(1 for r in rows.values() if r.learner_id in loaded) != len(sent):
            problems.append(f"{len(rows)} queue rows (idle clients' included) for {len(sent)} uploads")
    ctx.store.engine.dispose()
    with httpx.Client(base_url=url, timeout=60) as client:
        for s in sent:
            body = client.get(f"/api/v1/submissions/{s.id}",
                              headers={"Authorization": f"Bearer {tokens[s.upload.client]}"}).json()
            result = body.get("result") or {}
            files = {name: data for _, (name, data) in s.upload.files()}
            if result.get("learner") != email(s.upload.client):
                problems.append(f"{s.id}: result for {result.get('learner')!r}")
            if result.get("content_hash") != _hash(s.upload.assessment, files):
                problems.append(f"{s.id}: result is not for the uploaded content")
    return problems, finished


_CATALOGUE: dict[str, Any] = {}


def _hash(assessment_id: str, files: dict[str, bytes]) -> str:
    if not _CATALOGUE:
        from nbcred.catalogue import load_catalogue

        _CATALOGUE.update(load_catalogue(ROOT / "assessments").assessments)
    return memory_hash(_CATALOGUE[assessment_id], files)


def service_round(args: argparse.Namespace, uploads: list[Upload], work: Path) -> ServiceRound:
    home = work / "service"
    home.mkdir()
    settings = settings_for(home, args.workers)
    tokens = make_accounts(settings, args.clients + args.idle + 1)
    server = Server(settings, free_port(), work / "serve.log")
    try:
        server.wait_ready()
        idle_sent = asyncio.run(idle_latencies(server.url, tokens[args.clients:]))
        idle = [(s.seen_graded or 0.0) - s.started for s in idle_sent]
        steps = stages(settings, idle_sent)
        started = time.perf_counter()
        sent = asyncio.run(load(server.url, tokens[:args.clients], uploads))
        log(f"service: {len(sent)} graded in {time.perf_counter() - started:.1f} s")
        problems, finished = check(settings, server.url, tokens, sent, args.clients)
    finally:
        server.stop()
    latencies = [finished[s.id] - s.started for s in sent if s.id in finished]
    seen = [s.seen_graded - s.started for s in sent if s.seen_graded is not None]
    first = min(s.started for s in sent)
    last = max(finished.get(s.id, time.time()) for s in sent)
    return ServiceRound(len(sent) / (last - first), percentile(latencies, 50), percentile(latencies, 95),
                        percentile(seen, 50), idle, problems, steps)


def baseline_round(args: argparse.Namespace, uploads: list[Upload], work: Path) -> float:
    """Submissions/s of ``nbcred grade`` over the same notebooks (one run per assessment)."""
    home = work / "baseline"
    folders: dict[str, list[str]] = {}
    for u in uploads:
        folder = home / "submitted" / u.assessment / email(u.client).split("@")[0]
        folder.mkdir(parents=True, exist_ok=True)
        for _, (name, data) in u.files():
            (folder / name).write_bytes(data)
        folders.setdefault(u.assessment, []).append(str(folder))
    env = {**os.environ, "NBCRED_HOME": str(home)}
    command = [str(NBCRED), "grade", "--format", "json", "--db", f"sqlite:///{home / 'gradebook.sqlite'}"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    start = time.perf_counter()
    lines = 0
    for assessment, subs in folders.items():
        out = subprocess.run([*command, str(ROOT / "assessments" / assessment), *subs], env=env,
                             capture_output=True, text=True, cwd=ROOT, check=False)
        if out.returncode != 0:
            raise SystemExit(f"nbcred grade failed ({out.returncode}): {out.stderr[-2000:]}")
        lines += sum(1 for line in out.stdout.splitlines() if line.startswith("{"))
    seconds = time.perf_counter() - start
    log(f"nbcred grade: {lines} graded in {seconds:.1f} s")
    if lines != len(uploads):
        raise SystemExit(f"nbcred grade printed {lines} results for {len(uploads)} submissions")
    return len(uploads) / seconds


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}; load {loadavg()}", flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_round(args: argparse.Namespace, work: Path) -> serve_latency.LatencyRun:
    """A fresh warm service; ``args.warmup`` then ``args.latency`` single submissions."""
    home = work / "service"
    home.mkdir()
    settings = settings_for(home, args.workers)
    tokens = make_accounts(settings, args.warmup + args.latency)
    server = Server(settings, free_port(), work / "serve.log")
    try:
        server.wait_ready()
        observed = asyncio.run(serve_latency.observe(
            server.url, tokens, serve_latency.files_of(ROOT), warmup=args.warmup,
            poll=args.poll, wait=args.wait))
    finally:
        server.stop()
    return serve_latency.split(settings, observed)


def latency_main(args: argparse.Namespace) -> int:
    print(f"single submissions on a warm service: {args.rounds} round(s) of {args.warmup} warm-up + "
          f"{args.latency}, {os.cpu_count()} cores, load average {loadavg()}", flush=True)
    runs = []
    for number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="nbcred-serve-latency-") as tmp:
            runs.append(latency_round(args, Path(tmp)))
        log(f"round {number}: p50 {statistics.median(runs[-1].totals):.3f} s")
    return 0 if serve_latency.report(runs, wait=args.wait, poll=args.poll, load=loadavg()) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="submissions per round (default 200)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent API clients (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="service/baseline pairs (default 3)")
    parser.add_argument("--idle", type=int, default=7, help="idle single submissions per round")
    parser.add_argument("--workers", type=int, default=None, help="grading workers (default: cores)")
    parser.add_argument("--skip-baseline", action="store_true", help="service only (no ratio)")
    parser.add_argument("--latency", type=int, default=0, metavar="N",
                        help="only the single-submission latency mode, N submissions per round")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up submissions (latency mode)")
    parser.add_argument("--poll", type=float, default=0.01, help="client poll interval, s (latency mode)")
    parser.add_argument("--wait", type=float, default=0.0,
                        help="long-poll with ?wait=SECONDS instead of polling (latency mode)")
    args = parser.parse_args()
    if args.latency:
        return latency_main(args)
    uploads = plan(args.n, args.clients)
    print(f"{args.n} submissions from {args.clients} clients, {args.rounds} round(s), "
          f"{os.cpu_count()} cores, load average {loadavg()}", flush=True)
    services: list[ServiceRound] = []
    baselines: list[float] = []
    for number in range(1, args.rounds + 1):
        if args.skip_baseline:
            baselines.append(float("nan"))
        else:
            with tempfile.TemporaryDirectory(prefix="nbcred-serve-load-") as tmp:
                baselines.append(baseline_round(args, uploads, Path(tmp)))
        with tempfile.TemporaryDirectory(prefix="nbcred-serve-load-") as tmp:
            services.append(service_round(args, uploads, Path(tmp)))
        s = services[-1]
        print(f"round {number}: nbcred grade {baselines[-1]:.2f} subs/s | serve {s.rate:.2f} subs/s "
              f"({s.rate / baselines[-1]:.0%}), p50 {s.p50:.1f} s, p95 {s.p95:.1f} s, "
              f"idle p50 {statistics.median(s.idle):.3f} s, problems {len(s.problems)}; "
              f"load {loadavg()}", flush=True)
        for problem in s.problems[:10]:
            print(f"  {problem}")
        print("  idle submission, median s: " + ", ".join(f"{k} {v:.3f}" for k, v in s.steps.items()))
    rate = statistics.median(s.rate for s in services)
    base = statistics.median(baselines)
    idle = statistics.median(x for s in services for x in s.idle)
    ratio = statistics.median(s.rate / b for s, b in zip(services, baselines, strict=True))
    problems = sum(len(s.problems) for s in services)
    print("\nmedians over rounds")
    print(f"  nbcred grade (baseline)         {base:6.2f} submissions/s")
    print(f"  nbcred serve, {args.clients} clients        {rate:6.2f} submissions/s  "
          f"({ratio:.0%} of baseline, target {RATE_TARGET:.0%})")
    print(f"  upload -> graded under load     p50 {statistics.median(s.p50 for s in services):.1f} s, "
          f"p95 {statistics.median(s.p95 for s in services):.1f} s "
          f"(client-observed p50 {statistics.median(s.seen_p50 for s in services):.1f} s)")
    print(f"  upload -> graded, idle          p50 {idle:.3f} s (target {IDLE_TARGET} s)")
    print(f"  exactly one result each         {'yes' if not problems else f'NO: {problems} problems'}")
    print(f"  load average now                {loadavg()}")
    met = ratio >= RATE_TARGET and idle <= IDLE_TARGET and not problems
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
