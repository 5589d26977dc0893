"""Single-submission latency of a warm ``nbcred serve``: submit request → result seen by the client.

Used by ``bench/serve_load.py --latency N``. The service is started as in a load round (embedded
defaults, the local pool with its kernel templates), then W warm-up submissions go through it;
then N submissions, one at a time, each by a new learner (new content for the gradebook, so each
is graded and issued for real): the pandas-cleaning sample, which passes and earns a badge.

For each submission the client takes the time before ``POST /api/v1/submissions`` and when it
first sees ``status: graded`` with the score (polling ``GET /api/v1/submissions/{id}`` every
``--poll`` seconds, or with ``?wait=`` so the service answers when the status changes). The split
comes from the queue and gradebook rows' timestamps (the same clock, one machine):

* upload: client start → queue row written (request parsing, checks, storing the notebooks);
* claim wait: queue row written → claimed by the dispatcher;
* grading: the worker's own wall time for the submission (fork, cells, scoring, feedback);
* hand-off + record: claimed → grading row written, less the grading (pool hand-over, result
  pickled back, recorder thread, gradebook insert);
* credential + status: grading row written → queue row marked graded (issuing, signing,
  credential files, the status update's commit);
* client sees it: queue row marked graded → the client has the result (poll interval, request).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from nbcred.service import ServiceContext
from nbcred.settings import Settings
from nbcred.store.models import Grading, WebSubmission

STEPS = ("upload", "claim wait", "grading", "hand-off + record", "credential + status",
         "client sees it")
TARGET = 0.2


@dataclass
class Observed:
    """One submission as the client saw it (wall-clock seconds since the epoch)."""

    id: str
    started: float
    accepted: float
    seen: float
    score: float | None


@dataclass
class LatencyRun:
    """The latencies (client start → result seen) and the per-step medians."""

    totals: list[float]
    steps: dict[str, list[float]] = field(default_factory=dict)
    own: list[float] = field(default_factory=list)  # total less the grading: the service's part
    problems: list[str] = field(default_factory=list)


def _stamp(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def one(client: httpx.AsyncClient, token: str, files: list[tuple[str, tuple[str, bytes]]],
              *, poll: float, wait: float) -> Observed:
    """Submit once and follow the status until it is final."""
    auth = {"Authorization": f"Bearer {token}"}
    started = time.time()
    response = await client.post("/api/v1/submissions", headers=auth,
                                 data={"assessment": "pandas-cleaning"}, files=files)
    accepted = time.time()
    if response.status_code != 202:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    sid = response.json()["id"]
    params = {"wait": str(wait)} if wait else {}
    while True:
        body = (await client.get(f"/api/v1/submissions/{sid}", headers=auth, params=params)).json()
        if body["status"] in ("graded", "error"):
            seen = time.time()
            result = body.get("result") or {}
            return Observed(sid, started, accepted, seen, result.get("score"))
        if not wait:
            await asyncio.sleep(poll)


async def observe(url: str, tokens: list[str], files: list[tuple[str, tuple[str, bytes]]],
                  *, warmup: int, poll: float, wait: float) -> list[Observed]:
    """``warmup`` submissions, then one per remaining token, one at a time; returns those after
    the warm-up."""
    seen = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for token in tokens:
            seen.append(await one(client, token, files, poll=poll, wait=wait))
            await asyncio.sleep(0.05)  # the service's follow-up work is not on the next one's clock
    return seen[warmup:]


def split(settings: Settings, observed: list[Observed]) -> LatencyRun:
    """Total and per-step seconds of each submission, from the client's and the rows' times."""
    run = LatencyRun([o.seen - o.started for o in observed], {name: [] for name in STEPS})
    ctx = ServiceContext.open(settings)
    with ctx.store.session() as session:
        for o in observed:
            row = session.get(WebSubmission, o.id)
            grading = session.get(Grading, row.grading_id) if row and row.grading_id else None
            if row is None or grading is None or row.started_at is None or row.finished_at is None:
                run.problems.append(f"{o.id}: no result recorded")
                continue
            if row.status != "graded" or o.score is None or not row.credential_id:
                run.problems.append(f"{o.id}: {row.status}, score {o.score}, credential {row.credential_id}")
            queued, claimed, recorded, finished = (_stamp(t) for t in (
                row.submitted_at, row.started_at, grading.graded_at, row.finished_at))
            for name, value in zip(STEPS, (
                queued - o.started, claimed - queued, grading.seconds,
                recorded - claimed - grading.seconds, finished - recorded, o.seen - finished,
            ), strict=True):
                run.steps[name].append(value)
            run.own.append(o.seen - o.started - grading.seconds)
    ctx.store.engine.dispose()
    return run


def report(runs: list[LatencyRun], *, wait: float, poll: float, load: str) -> bool:
    """Print p50/p95 and the split; True when the p50 meets the target."""
    totals = [t for r in runs for t in r.totals]
    ordered = sorted(totals)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    how = f"?wait={wait:g}" if wait else f"polling every {poll * 1000:.0f} ms"
    print(f"\nsubmit -> result seen, one at a time, {len(totals)} submissions ({how})")
    print(f"  p50 {p50:.3f} s, p95 {p95:.3f} s, min {ordered[0]:.3f} s "
          f"(target p50 <= {TARGET} s: {'met' if p50 <= TARGET else 'missed'})")
    print("  where the time goes (median s; the steps' medians need not add up to the total's):")
    for name in STEPS:
        values = [v for r in runs for v in r.steps.get(name, [])]
        if values:
            print(f"    {name:<22} {statistics.median(values):.3f}")
    own = [v for r in runs for v in r.own]
    if own:
        print(f"  the service's own part (total less grading): p50 {statistics.median(own):.3f} s")
    problems = [p for r in runs for p in r.problems]
    print(f"  every submission graded with its credential: {'yes' if not problems else problems[:5]}")
    print(f"  load average now {load}")
    return p50 <= TARGET and not problems


def files_of(root: Path) -> list[tuple[str, tuple[str, bytes]]]:
    folder = root / "notebooks" / "pandas-cleaning" / "alice"
    return [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ipynb"))]
