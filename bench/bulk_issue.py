"""Bulk issuance throughput: N credentials from a generated roster into PostgreSQL.

Usage: .venv/bin/python bench/bulk_issue.py [-n 100000] [--workers CORES] [--db URL] [--sample 200]

Creates a fresh PostgreSQL database (from NBCRED_TEST_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test) unless --db is given, generates a roster of N
learners for the sample catalogue's pandas-cleaning badge, runs ``nbcred credential issue-bulk``'s
service, and prints credentials per second, peak memory, the time split between building the
documents, JSON-LD expansion (template misses), canonicalisation, signing and storage, and the
machine's load. A random sample of the stored credentials is then verified on the full path
(pyld expansion), against the published status lists; and the plain path (full pyld expansion
per credential, one process) is timed on a few hundred credentials as the baseline.
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

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from nbcred.bulk.issue import BulkIssuer  # noqa: E402
from nbcred.bulk.signing import BulkItem, sign_plain  # noqa: E402
from nbcred.catalogue import load_catalogue  # noqa: E402
from nbcred.issuance import CredentialIssuer  # noqa: E402
from nbcred.issuance.verification import verify_issued  # noqa: E402
from nbcred.settings import Settings  # noqa: E402
from nbcred.store import Store  # noqa: E402
from nbcred.store.models import IssuedCredential  # noqa: E402

POSTGRES = os.environ.get("NBCRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_database() -> tuple[str, str]:
    """Create an empty PostgreSQL database; (its URL, its name)."""
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"nbcred_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}", name


def drop_database(name: str) -> None:
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


def plain_rate(bulk: BulkIssuer, count: int) -> float:
    """Credentials per second on the plain path (full JSON-LD expansion with pyld), one process."""
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
    args = parser.parse_args()

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
            check = bulk.validate(roster)
            validated = time.perf_counter() - started
            report = bulk.run(roster, check=check)
            total = time.perf_counter() - started
            main_cpu = time.process_time() - cpu_started
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
            busy = t.build + t.expansion + t.canonicalisation + t.signing
            print(f"worker time (summed over workers, {busy:.1f} s): build documents {t.build:.1f} s, "
                  f"JSON-LD expansion {t.expansion:.2f} s, canonicalisation {t.canonicalisation:.1f} s, "
                  f"hash+sign {t.signing:.1f} s")
            print(f"main process: storage (batched inserts) {report.storage_seconds:.1f} s")
            estimate = report.issued / max((t.cpu + main_cpu) / args.workers, main_cpu)
            print(f"CPU: signing workers {t.cpu:.1f} s ({t.cpu * per:.2f} ms per credential), "
                  f"main process {main_cpu:.1f} s ({main_cpu * per:.2f} ms per credential); "
                  f"CPU-bound estimate on {args.workers} idle cores: {estimate:.0f}/s")
            print(f"per credential: build {t.build * per:.2f} ms, expansion {t.expansion * per:.3f} ms, "
                  f"canonicalisation {t.canonicalisation * per:.2f} ms, hash+sign {t.signing * per:.2f} ms, "
                  f"storage {report.storage_seconds * per:.2f} ms")
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
