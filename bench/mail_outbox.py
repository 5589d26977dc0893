"""Bulk issuance with ``--notify`` against without, and the outbox drained to a local SMTP server.

Usage: .venv/bin/python bench/mail_outbox.py [-n 10000] [--repeat 3] [--workers CORES]
       [--db-kind postgresql|sqlite] [--no-drain]

Issues the same N-learner roster (the sample catalogue's pandas-cleaning badge) 2 × REPEAT times,
each into a fresh gradebook, plainly and with ``--notify`` (a claim link and its e-mail queued per
new credential, in the transaction that stores it) interleaved — plain, notify, notify, plain, … —
so a neighbour's load falls on both. Prints each run's credentials per second, the main process's
CPU per credential (what ``--notify`` adds; signing runs in worker processes) and the load average
at its start, then the medians and the --notify/plain ratios. Then an aiosmtpd server (a separate
process, discarding what it accepts) receives the last --notify run's N messages from one sender
(`Sender.send_pending`, what ``nbcred mail flush`` runs; rendering included): messages per second.
PostgreSQL comes from NBCRED_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from nbcred.bulk.issue import BulkIssuer  # noqa: E402
from nbcred.catalogue import load_catalogue  # noqa: E402
from nbcred.mail import Sender  # noqa: E402
from nbcred.settings import Settings  # noqa: E402
from nbcred.store import Store  # noqa: E402
from nbcred.store.models import MailMessage  # noqa: E402

POSTGRES = os.environ.get("NBCRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'gradebook.sqlite'}", None
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"nbcred_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}", name


def drop(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def write_roster(path: Path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "name", "email", "achievement"])
        for n in range(count):
            writer.writerow([f"learner{n:06d}", f"Learner {n}", f"learner{n}@example.org", "pandas-cleaning"])


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def issue(settings: Settings, roster: Path, workers: int, notify: bool) -> tuple[float, float, int]:
    """(wall seconds, main-process CPU seconds, credentials issued)."""
    store = Store.open(settings.resolved_database_url())
    bulk = BulkIssuer(settings=settings, store=store, catalogue=load_catalogue(settings.catalogue),
                      workers=workers, notify=notify)
    check = bulk.validate(roster)
    started, used = time.perf_counter(), cpu()
    report = bulk.run(roster, check=check)
    return time.perf_counter() - started, cpu() - used, report.issued


def smtp_sink() -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                               "-l", f"127.0.0.1:{port}"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP server did not start")


def median(values: list[float]) -> float:
    return statistics.median(values)


def drain(settings: Settings) -> None:
    """Send what the last --notify run queued to a local aiosmtpd server: messages per second."""
    store = Store.open(settings.resolved_database_url())
    with store.session() as session:
        queued = int(session.scalar(select(func.count()).select_from(MailMessage)) or 0)
    server, port = smtp_sink()
    try:
        sender = Sender(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}), store)
        load = os.getloadavg()[0]
        started, used = time.perf_counter(), cpu()
        report = sender.send_pending(due_only=False)
        drained = time.perf_counter() - started
        per_message = 1000 * (cpu() - used) / max(1, report.sent)
        print(f"outbox: {queued} queued; sent {report.sent} in {drained:.1f} s → "
              f"{report.sent / drained:.0f} messages/s (sender CPU {per_message:.2f} ms per message, "
              f"rendering included; failed {report.failed}, waiting {report.deferred}; load {load:.1f})")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--db-kind", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--repeat", type=int, default=3,
                        help="pairs of runs, interleaved (plain, notify, notify, plain, …); medians")
    parser.add_argument("--no-drain", action="store_true", help="skip the outbox drain")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    order = [mode for r in range(args.repeat) for mode in ((False, True) if r % 2 == 0 else (True, False))]
    figures: dict[bool, list[tuple[float, float, int, float]]] = {False: [], True: []}
    last_notify: Settings | None = None
    kept: str | None = None
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        write_roster(roster, args.n)
        names: list[str | None] = []
        try:
            for run, notify in enumerate(order):
                home = Path(folder) / f"home-{run}"
                home.mkdir()
                url, name = database(args.db_kind, home)
                names.append(name)
                settings = Settings(home=home, database_url=url, catalogue=ROOT / "assessments",
                                    base_url="https://badges.example.org")
                load = os.getloadavg()[0]
                wall, main_cpu, issued = issue(settings, roster, args.workers, notify)
                figures[notify].append((wall, main_cpu, issued, load))
                label = "--notify" if notify else "plain   "
                print(f"{label}  issued {issued} in {wall:.1f} s → {issued / wall:.0f} credentials/s; "
                      f"main process CPU {1000 * main_cpu / issued:.2f} ms per credential "
                      f"(load {load:.1f} at its start)", flush=True)
                if notify:  # only the last --notify run's outbox is drained: drop the one before
                    drop(kept)
                    last_notify, kept = settings, name
                else:
                    drop(name)
            plain, notified = figures[False], figures[True]
            rate = {k: median([n / w for w, _, n, _ in v]) for k, v in figures.items()}
            cost = {k: median([1000 * c / n for _, c, n, _ in v]) for k, v in figures.items()}
            loads = [load for v in figures.values() for *_, load in v]
            print(f"medians of {len(plain)} interleaved pairs (load {min(loads):.1f}–{max(loads):.1f}): "
                  f"plain {rate[False]:.0f} credentials/s, --notify {rate[True]:.0f} credentials/s "
                  f"(ratio {rate[True] / rate[False]:.2f}); main-process CPU {cost[False]:.2f} vs "
                  f"{cost[True]:.2f} ms per credential ({cost[True] - cost[False]:+.2f} ms)")
            pairs = [notified[i][0] / plain[i][0] for i in range(min(len(plain), len(notified)))]
            print("wall-time ratio --notify / plain per pair: " + ", ".join(f"{p:.2f}" for p in pairs)
                  + f" (median {median(pairs):.2f})")
            if last_notify is not None and not args.no_drain:
                drain(last_notify)
        finally:
            for name in names:
                drop(name)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
