"""Bulk issuance from a roster CSV: validate everything, then stream, sign in parallel, store in batches.

Exactly once per learner × achievement × version × issue key: the gradebook's unique key is the
single source of truth. Each batch is checked against it before signing, and inserted with
"on conflict do nothing", so a run that is killed and started again (or two runs at once)
never issues a credential twice; a status list index reserved for a credential that was never
stored is simply left unused.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credentials.errors import CredentialError
from nbcred.bulk.fastsign import Signed
from nbcred.bulk.plans import achievement_plans, unknown_reason
from nbcred.bulk.roster import RosterCheck, RosterRow, read_rows, validate_roster
from nbcred.bulk.signing import (
    BulkItem,
    SignedChunk,
    SigningContext,
    Timings,
    build_document,
    init_worker,
    sign_in_worker,
    sign_items,
)
from nbcred.bulk.storing import holding_others, insert_new, issued, upsert_learners
from nbcred.catalogue import Catalogue
from nbcred.errors import NbcredError
from nbcred.issuance import statuslists
from nbcred.issuance.identity import load_identity
from nbcred.issuance.issuer import CredentialIssuer, mark_superseded
from nbcred.issuance.slots import parse_time
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential

RESULT_COLUMNS = ("line", "learner", "email", "achievement", "result", "credential_id", "reason")


class RosterInvalid(NbcredError):
    """The roster has problems; nothing was issued."""

    def __init__(self, check: RosterCheck) -> None:
        self.check = check
        shown = "\n".join(f"  {p}" for p in check.problems)
        more = check.problem_count - len(check.problems)
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(f"{check.path}: {check.problem_count} problem(s); nothing was issued. "
                         f"Fix these rows and run again:\n{shown}{tail}")


@dataclass
class BulkReport:
    """What a bulk run did."""

    issued: int = 0
    skipped: int = 0
    failed: int = 0
    results_path: Path = Path()
    seconds: float = 0.0
    storage_seconds: float = 0.0
    timings: Timings = field(default_factory=Timings)
    status_lists: list[str] = field(default_factory=list)
    pathway_lines: list[str] = field(default_factory=list)
    """What evaluating the pathways after the run did (stacked certificates issued)."""

    @property
    def summary(self) -> str:
        """The one-line summary the command prints."""
        return f"issued {self.issued}, skipped {self.skipped} (already issued), failed {self.failed}"


Progress = Callable[[BulkReport], None]


def results_path_for(roster: Path) -> Path:
    """The per-row result CSV written beside the roster."""
    return roster.with_name(f"{roster.stem}.results.csv")


def _chunks(rows: Iterable[RosterRow], size: int) -> Iterator[list[RosterRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Batch:
    """One chunk of rows on its way: rows to issue, rows already issued, the signing result."""

    rows: dict[int, RosterRow]
    items: list[BulkItem]
    skipped: dict[int, tuple[str, str]]
    """Rows not to issue: (credential id, reason) by line."""
    future: Future[SignedChunk] | None = None
    result: SignedChunk | None = None
    remote: tuple[Any, list[int], dict[int, str]] | None = None
    """A Celery batch: its AsyncResult, the lines it carries, the lines that failed to build."""


def _remote_result(pending: Any, lines: list[int], failed: dict[int, str]) -> SignedChunk:
    """Wait for a Celery worker's signed batch (redelivered and re-signed if a worker died)."""
    values = pending.get(propagate=False)
    signed: dict[int, Signed] = {}
    failed = dict(failed)
    if not isinstance(values, list) or len(values) != len(lines):
        failed.update({line: f"the signing task failed: {values!r}" for line in lines})
        return SignedChunk(signed, failed, Timings())
    for line, value in zip(lines, values, strict=True):
        if isinstance(value, dict):
            signed[line] = Signed(str(value["id"]), json.dumps(value), value.get("validUntil"))
        else:
            failed[line] = str(value)
    return SignedChunk(signed, failed, Timings())


class BulkIssuer:
    """Runs one roster through validation, signing and storage (see the module docstring)."""

    def __init__(self, *, settings: Settings, store: Store, catalogue: Catalogue,
                 workers: int = 1, batch_size: int = 500, executor: str = "local",
                 notify: bool = False) -> None:
        self.settings = settings
        self.notify = notify
        """Queue an e-mail (claim link) for each newly issued credential, in the same transaction."""
        self.queued_mail = 0
        self.executor = executor
        self.store = store
        self.issuer = CredentialIssuer(settings, store, catalogue=lambda: catalogue)
        self.identity = load_identity(settings)
        self.catalogue = catalogue
        self.plans = achievement_plans(self.issuer, catalogue)
        self.workers = max(1, workers)
        self.batch_size = max(1, batch_size)
        self.context = SigningContext(
            issuer=self.identity.profile, key=self.identity.key,
            verification_method=self.identity.verification_method, plans=self.plans,
            identity_salt=(settings.identity_salt.get_secret_value() or None
                           if settings.identity_salt is not None else None),
        )

    def known(self, achievement: str) -> str | None:
        """Why an achievement id of a roster cannot be issued (None when it can)."""
        return None if achievement in self.plans else unknown_reason(self.catalogue, achievement)

    def validate(self, roster: Path) -> RosterCheck:
        """Check the whole roster; raises :class:`RosterInvalid` listing every problem."""
        check = validate_roster(roster, known=self.known)
        if not check.ok:
            raise RosterInvalid(check)
        return check

    def run(self, roster: Path, *, progress: Progress | None = None,
            check: RosterCheck | None = None) -> BulkReport:
        """Validate (unless ``check`` says it was), then issue every row not issued before.

        Writes the per-row result CSV beside the roster; raises :class:`RosterInvalid` (nothing
        issued) when any row is bad.
        """
        if check is None or not check.ok:
            self.validate(roster)
        started = time.perf_counter()
        report = BulkReport(results_path=results_path_for(roster))
        lists: set[str] = set()
        celery = self._celery() if self.executor == "celery" else None
        pool = None if celery is not None else self._pool()
        window = 8 if celery is not None else 2 * self.workers
        try:
            with report.results_path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(RESULT_COLUMNS)
                pending: deque[_Batch] = deque()
                for chunk in _chunks(read_rows(roster, known=self.known), self.batch_size):
                    batch = self._prepare(chunk)
                    touched = {str(i.status_entry["statusListCredential"]) for i in batch.items}
                    if touched - lists:  # a list opened (or first used by this run): publish it now
                        statuslists.publish(self.settings, self.store, self.identity, missing_only=True,
                                            only=sorted(touched - lists))
                    lists.update(touched)
                    if celery is not None and batch.items:
                        batch.remote = self._send(celery, batch.items)
                    elif pool is not None and batch.items:
                        batch.future = pool.submit(sign_in_worker, batch.items)
                    elif batch.items:
                        batch.result = sign_items(self.context, batch.items)
                    pending.append(batch)
                    while pending and (len(pending) > window or (pool is None and celery is None)):
                        self._finish(pending.popleft(), writer, report, progress)
                while pending:
                    self._finish(pending.popleft(), writer, report, progress)
        except BrokenProcessPool as exc:
            raise NbcredError(
                f"a signing process died ({exc}); everything stored so far is kept: run the same "
                "command again to issue the rest (fewer --workers if memory is short)") from exc
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        report.status_lists = sorted(lists)
        if report.issued and self.catalogue.pathways:
            report.pathway_lines = issue_completed_pathways(self.issuer, self.catalogue)
        report.seconds = time.perf_counter() - started
        return report

    def _celery(self) -> Any:
        from nbcred.executors.celery_app import make_app

        return make_app(self.settings)

    def _send(self, celery: Any, items: list[BulkItem]) -> tuple[Any, list[int], dict[int, str]]:
        """Build the batch's documents here and queue them for a Celery worker to sign."""
        from nbcred.bulk.celery_signing import TASK

        now = datetime.now(UTC)
        lines: list[int] = []
        documents: list[dict[str, Any]] = []
        failed: dict[int, str] = {}
        for item in items:
            try:
                documents.append(build_document(self.context, item, now=now))
                lines.append(item.line)
            except (CredentialError, ValueError, KeyError) as exc:
                failed[item.line] = f"{type(exc).__name__}: {exc}"
        result = celery.send_task(TASK, args=[documents, self.context.verification_method])
        return result, lines, failed

    def _pool(self) -> ProcessPoolExecutor | None:
        if self.workers <= 1:
            return None
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=init_worker, initargs=(self.context,))

    def _prepare(self, chunk: list[RosterRow]) -> _Batch:
        """Skip rows already issued; record learners; reserve status indexes for the rest."""
        rows = {row.line: row for row in chunk}
        keys = {row.line: self._key(row) for row in chunk}
        with self.store.session() as session:
            existing = issued(session, set(keys.values()))
            skipped: dict[int, tuple[str, str]] = {}
            fresh: list[RosterRow] = []
            claimed: dict[tuple[str, str, str, str], int] = {}
            for row in chunk:
                key = keys[row.line]
                if key in existing:
                    skipped[row.line] = (existing[key], "already issued")
                elif key in claimed:
                    skipped[row.line] = ("", f"already issued (same as line {claimed[key]})")
                else:
                    claimed[key] = row.line
                    fresh.append(row)
            self._record_learners(session, fresh)
            slots = statuslists.allocate_slots(session, self.settings, len(fresh))
        items = [
            BulkItem(line=row.line, learner=row.learner, email=row.email, achievement=row.achievement,
                     status_entry=slot.entry,
                     issued_at=row.issued_at.isoformat() if row.issued_at else None,
                     expires_at=row.expires_at.isoformat() if row.expires_at else None,
                     narrative=row.narrative, evidence_url=row.evidence_url,
                     evidence_narrative=row.evidence_narrative)
            for row, slot in zip(fresh, slots, strict=True)
        ]
        return _Batch(rows=rows, items=items, skipped=skipped)

    def _key(self, row: RosterRow) -> tuple[str, str, str, str]:
        plan = self.plans[row.achievement]
        return (row.learner, plan.achievement_id, plan.version, row.issue_key)

    def _record_learners(self, session: Session, rows: list[RosterRow]) -> None:
        if not rows:
            return
        now = datetime.now(UTC)
        upsert_learners(session, list({row.learner: {"id": row.learner, "email": row.email, "name": row.name,
                                                     "created_at": now} for row in rows}.values()))

    def _finish(self, batch: _Batch, writer: Any, report: BulkReport, progress: Progress | None) -> None:
        """Store a signed batch (inserting only what is still new) and write its result rows."""
        result = batch.result
        if result is None and batch.future is not None:
            result = batch.future.result()
        if result is None and batch.remote is not None:
            result = _remote_result(*batch.remote)
        signed = result.signed if result is not None else {}
        failed = dict(result.failed) if result is not None else {}
        if result is not None:
            report.timings.add(result.timings)
        started = time.perf_counter()
        inserted = self._store(batch, signed)
        report.storage_seconds += time.perf_counter() - started
        for line in sorted(batch.rows):
            row = batch.rows[line]
            if line in batch.skipped:
                outcome, (credential, reason) = "skipped", batch.skipped[line]
                report.skipped += 1
            elif line in failed:
                outcome, credential, reason = "failed", "", failed[line]
                report.failed += 1
            elif line in signed and signed[line].id in inserted:
                outcome, credential, reason = "issued", signed[line].id, ""
                report.issued += 1
            else:  # stored meanwhile (an earlier row of the file, or another run): that one stands
                outcome, credential, reason = "skipped", "", "already issued"
                report.skipped += 1
            writer.writerow([line, row.learner, row.email, row.achievement, outcome, credential, reason])
        if progress is not None:
            progress(report)

    def _store(self, batch: _Batch, signed: dict[int, Signed]) -> set[str]:
        if not signed:
            return set()
        now = datetime.now(UTC)
        rows = []
        for item in batch.items:
            credential = signed.get(item.line)
            if credential is None:
                continue
            row = batch.rows[item.line]
            plan = self.plans[row.achievement]
            entry = item.status_entry
            rows.append((credential.id, row.learner, plan.achievement_id, plan.version, plan.kind, None,
                         "active", None, entry["statusListCredential"], int(entry["statusListIndex"]),
                         credential.text, now, parse_time(credential.valid_until), row.issue_key, None))
        with self.store.session() as session:
            inserted = insert_new(session, rows)
            others = holding_others(session, {r[1] for r in rows if r[0] in inserted}, inserted)
            mark_superseded(session, [(r[0], r[1], r[2]) for r in rows
                                      if r[0] in inserted and r[1] in others])
            if self.notify and inserted:
                self._notify(session, batch, signed, inserted)
            return inserted

    def _notify(self, session: Session, batch: _Batch, signed: dict[int, Signed],
                inserted: set[str]) -> None:
        from nbcred.service.claims import AchievementFacts, NewCredential, claim_messages

        facts: dict[str, AchievementFacts] = {}  # one document read per achievement, not per row
        fresh = []
        for line, credential in signed.items():
            if credential.id in inserted:
                row = batch.rows[line]
                if row.achievement not in facts:
                    facts[row.achievement] = AchievementFacts.of(json.loads(credential.text))
                fresh.append(NewCredential(credential.id, row.learner, row.name, row.email,
                                           facts[row.achievement]))
        report = claim_messages(session, self.settings, fresh)
        self.queued_mail += report


def issue_completed_pathways(issuer: CredentialIssuer, catalogue: Catalogue) -> list[str]:
    """Stacked certificates for every learner who holds all badges of a pathway and not yet it."""
    from nbcred.issuance.pathways import issue_for_learner, to_pathway

    lines = []
    base = issuer.settings.public_base_url.rstrip("/")
    for spec in catalogue.pathways:
        holders: set[str] | None = None
        with issuer.store.session() as session:
            for assessment_id in spec.requires:
                found = set(session.scalars(select(IssuedCredential.learner_id).where(
                    IssuedCredential.status == "active", IssuedCredential.kind == "badge",
                    IssuedCredential.achievement_id.startswith(f"{base}/achievements/{assessment_id}/"))))
                holders = found if holders is None else holders & found
            pathway_id = to_pathway(issuer, catalogue, spec).id
            done = set(session.scalars(select(IssuedCredential.learner_id).where(
                IssuedCredential.achievement_id == pathway_id)))
        for learner in sorted((holders or set()) - done):
            line = issue_for_learner(issuer, catalogue, learner, spec)
            if line:
                lines.append(line)
    return lines
