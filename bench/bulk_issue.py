"""Bulk issuance throughput: N credentials from a generated roster into PostgreSQL.

Usage: .venv/bin/python bench/bulk_issue.py [-n 100000] [--workers CORES] [--db URL] [--sample 200]
       [--baseline 100] [--target 1500]

Creates a fresh PostgreSQL database (from NBCRED_TEST_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test) unless --db is given, generates a roster of N
learners for the sample catalogue's pandas-cleaning badge, runs ``nbcred credential issue-bulk``'s
service, and prints credentials per second, peak memory, the time split between building the
documents, JSON-LD expansion (template misses), canonicalisation, signing and storage, and the
machine's load. A random sample of the stored credentials is then verified on the full path
(pyld expansion), against the published status lists; and the plain path (full pyld expansion
per credential, one process) is timed on a few hundred credentials as the baseline.

CPU is counted for every process the run uses: this one, the signing workers (their start-up
included: they are reaped before the figure is read) and the PostgreSQL server processes serving
the run's connections (read from /proc while they live). Their sum per credential gives the
rate the cores allow (cores / CPU per credential), which a loaded machine's wall time hides.
The heavy imports are inside ``main`` so that the workers (started with "spawn", which imports
this file again) pay what the ``nbcred`` command's workers pay.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import threading  # noqa: E402
from typing import Any  # noqa: E402

POSTGRES = os.environ.get("NBCRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_database() -> tuple[str, str]:
    """Create an empty PostgreSQL database; (its URL, its name)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"nbcred_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}", name


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def write_roster(path: Path, count: int) -> None:
    """A roster of ``count`` learners for one badge (streamed to disk)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "name", "email", "achievement"])
        for n in range(count):
            writer.writerow([f"learner{n:07d}", f"Learner {n}", f"learner{n}@example.org", "pandas-cleaning"])


def peak_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """CPU seconds of the PostgreSQL processes serving one database, sampled while they live."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url)
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            pids = [int(pid) for pid in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars()]
        for pid in pids:
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                self.start.setdefault(pid, seconds)
                self.seen[pid] = seconds

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> ServerCpu:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.engine.dispose()

    @property
    def seconds(self) -> float:
        """CPU used since sampling began (connections opened meanwhile count from zero)."""
        return sum(value - self.start.get(pid, 0.0) for pid, value in self.seen.items())


def plain_rate(bulk: Any, count: int) -> float:
    """Credentials per second on the plain path (full JSON-LD expansion with pyld), one process."""
    from nbcred.bulk.signing import BulkItem, sign_plain

    now = datetime.now(UTC)
    item = BulkItem(line=0, learner="x", email="x@example.org", achievement="pandas-cleaning",
                    status_entry={"id": "https://nbcred.example.org/status/message/1#70000",
                                  "type": "BitstringStatusListEntry", "statusPurpose": "message",
                                  "statusListIndex": "70000", "statusSize": 2,
                                  "statusListCredential": "https://nbcred.example.org/status/message/1",
                                  "statusMessage": [{"status": "0x0", "message": "valid"},
                                                    {"status": "0x1", "message": "suspended"},
                                                    {"status": "0x2", "message": "revoked"},
                                                    {"status": "0x3", "message": "revoked"}]})
    started = time.perf_counter()
    for _ in range(count):
        sign_plain(bulk.context, item, now=now)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="credentials to issue")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--db", help="PostgreSQL URL (default: a fresh database, dropped afterwards)")
    parser.add_argument("--sample", type=int, default=200, help="stored credentials to verify")
    parser.add_argument("--baseline", type=int, default=100, help="credentials for the plain-path rate")
    parser.add_argument("--target", type=float, default=1500, help="credentials/s to compare with")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from nbcred.bulk.issue import BulkIssuer
    from nbcred.catalogue import load_catalogue
    from nbcred.issuance import CredentialIssuer
    from nbcred.issuance.verification import verify_issued
    from nbcred.settings import Settings
    from nbcred.store import Store
    from nbcred.store.models import IssuedCredential

    name = None
    url = args.db
    if url is None:
        url, name = fresh_database()
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            home = Path(scratch)
            settings = Settings(home=home / "home", database_url=url, catalogue=ROOT / "assessments")
            roster = home / "roster.csv"
            write_roster(roster, args.n)
            store = Store.open(url)
            bulk = BulkIssuer(settings=settings, store=store, catalogue=load_catalogue(settings.catalogue),
                              workers=args.workers, batch_size=args.batch_size)
            started = time.perf_counter()
            cpu_started = time.process_time()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            with ServerCpu(url) as server:
                check = bulk.validate(roster)
                validated = time.perf_counter() - started
                report = bulk.run(roster, check=check)
                total = time.perf_counter() - started
            main_cpu = time.process_time() - cpu_started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            workers_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
            load_after = os.getloadavg()
            own, child = peak_mb()
            with store.session() as session:
                stored = session.scalar(select(func.count()).select_from(IssuedCredential))
            t = report.timings
            print(f"roster: {args.n} rows, workers={args.workers}, batch={args.batch_size}, "
                  f"database: PostgreSQL")
            print(report.summary)
            print(f"stored: {stored}")
            print(f"wall: {total:.1f} s (validation {validated:.1f} s, issuing {report.seconds:.1f} s)")
            print(f"rate: {report.issued / report.seconds:.0f} credentials/s issued and stored "
                  f"({report.issued / total:.0f}/s including validation)")
            print(f"peak memory: main process {own:.0f} MB, largest worker {child:.0f} MB")
            per = 1000 / max(report.issued, 1)
            busy = t.expansion + t.canonicalisation + t.signing
            print(f"worker time (summed over workers, {busy:.1f} s): "
                  f"JSON-LD expansion (template misses) {t.expansion:.2f} s, canonicalisation "
                  f"{t.canonicalisation:.1f} s, documents + hash + sign {t.signing:.1f} s")
            print(f"main process: storage (COPY) {report.storage_seconds:.1f} s")
            print(f"per credential: expansion {t.expansion * per:.3f} ms, canonicalisation "
                  f"{t.canonicalisation * per:.3f} ms, documents + hash + sign {t.signing * per:.3f} ms, "
                  f"storage {report.storage_seconds * per:.3f} ms")
            whole = main_cpu + workers_cpu + server.seconds
            cores = os.cpu_count() or 1
            print(f"CPU per credential: main process {main_cpu * per:.3f} ms, signing workers "
                  f"{workers_cpu * per:.3f} ms (start-up included; {t.cpu * per:.3f} ms signing), "
                  f"PostgreSQL server {server.seconds * per:.3f} ms; total {whole * per:.3f} ms")
            allowed = report.issued / max(whole / cores, main_cpu)
            verdict = "met" if report.issued / report.seconds >= args.target else "NOT met"
            print(f"the {cores} cores allow {allowed:.0f}/s (total CPU / cores, or the main process "
                  f"alone if slower); measured {report.issued / report.seconds:.0f}/s: target "
                  f">= {args.target:.0f}/s {verdict}")
            print(f"status lists: {len(report.status_lists)}")
            print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
                  f"({os.cpu_count()} cores, shared machine)")
            issuer = CredentialIssuer(settings, store)
            sample = verify_issued(issuer, sample=args.sample)
            bad = [v for v in sample if not v.result.verified]
            print(f"verified a random sample on the full path: {len(sample) - len(bad)}/{len(sample)} ok")
            if args.baseline:
                rate = plain_rate(bulk, args.baseline)
                print(f"plain path (full pyld expansion, 1 process): {rate:.0f} credentials/s signed")
    finally:
        if name is not None:
            drop_database(name)


if __name__ == "__main__":
    main()
