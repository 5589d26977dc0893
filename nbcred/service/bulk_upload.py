"""Bulk issue, revoke and suspend from a CSV uploaded on a page: preview first, then confirm.

The preview stores the upload under ``<home>/bulk-uploads/<token>.csv`` and says what would happen
(rows and their problems for a roster; the credentials found for a revoke or suspend list); only the
confirmation, which names the token, acts — with the same code ``nbcred credential issue-bulk`` and
``revoke-bulk``/``suspend-bulk`` run, so a roster is issued once however often it is confirmed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nbcred.bulk.issue import BulkReport, RosterInvalid
from nbcred.bulk.roster import RosterRow, read_rows
from nbcred.issuance.lifecycle import StatusReport, ids_from_csv
from nbcred.issuance.manage import CredentialInfo
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, TooLarge, Unprocessable

Action = Literal["issue", "revoke", "suspend"]
ACTIONS: tuple[Action, ...] = ("issue", "revoke", "suspend")
PREVIEW_ROWS = 50
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Preview:
    """What confirming ``token`` would do."""

    token: str
    action: Action
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    sample: list[RosterRow] = field(default_factory=list)  # issue: the first rows
    found: list[CredentialInfo] = field(default_factory=list)  # revoke/suspend: the credentials
    missing: list[str] = field(default_factory=list)  # revoke/suspend: ids not issued here

    @property
    def ok(self) -> bool:
        return not self.problems and (self.rows > 0 if self.action == "issue" else bool(self.found))


def _folder(ctx: ServiceContext) -> Path:
    folder = ctx.settings.home / "bulk-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(ctx: ServiceContext, token: str) -> Path:
    path = _folder(ctx) / f"{token}.csv"
    if not _TOKEN.match(token) or not path.is_file():
        raise NotFound("this upload is gone: upload the CSV again")
    return path


def preview(ctx: ServiceContext, action: str, data: bytes) -> Preview:
    """Store ``data`` (a CSV) and say what ``action`` would do with it; nothing changes yet."""
    if action not in ACTIONS:
        raise Unprocessable(f"action must be one of {', '.join(ACTIONS)}")
    if len(data) > ctx.settings.upload_max_bytes:
        raise TooLarge(f"the CSV is larger than {ctx.settings.upload_max_bytes} bytes")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the file is not UTF-8 text: save it as CSV (UTF-8)") from None
    token = uuid.uuid4().hex
    path = _folder(ctx) / f"{token}.csv"
    path.write_bytes(data)
    shown = Preview(token, action)  # type: ignore[arg-type]
    if action == "issue":
        _preview_roster(ctx, path, shown)
    else:
        _preview_ids(ctx, path, shown)
    return shown


def _preview_roster(ctx: ServiceContext, path: Path, shown: Preview) -> None:
    from nbcred.service.programs import bulk_issuer

    bulk = bulk_issuer(ctx, workers=1)
    try:
        check = bulk.validate(path)
    except RosterInvalid as exc:
        shown.rows = exc.check.rows
        shown.problems = [str(p) for p in exc.check.problems]
        return
    shown.rows, shown.ignored_columns = check.rows, check.ignored_columns
    for row in read_rows(path, known=bulk.known):
        shown.sample.append(row)
        if len(shown.sample) >= PREVIEW_ROWS:
            break


def _preview_ids(ctx: ServiceContext, path: Path, shown: Preview) -> None:
    from nbcred.errors import IssuanceError
    from nbcred.service.courseware import search_credentials

    try:
        ids = list(dict.fromkeys(ids_from_csv(path)))
    except IssuanceError as exc:
        shown.problems = [str(exc).replace(str(path), "the file")]
        return
    by_id = {c.id: c for c in search_credentials(ctx, "", limit=1_000_000)} if ids else {}
    shown.found = [by_id[i] for i in ids if i in by_id]
    shown.missing = [i for i in ids if i not in by_id]
    shown.rows = len(ids)
    if not ids:
        shown.problems = ["the file names no credential (a credential_id column, one id per row)"]


@dataclass(frozen=True)
class IssueDone:
    """What confirming a bulk issue did, and how many claim e-mails it queued."""

    report: BulkReport
    mail_queued: int


def confirm_issue(ctx: ServiceContext, token: str, *, notify: bool = False) -> IssueDone:
    """Issue every row of the previewed roster not issued before; ``notify``: mail each learner
    whose credential is new a claim link (as ``issue-bulk --notify``)."""
    from nbcred.service.programs import bulk_issuer

    path = _path(ctx, token)
    try:
        bulk = bulk_issuer(ctx, workers=1, notify=notify)
        return IssueDone(bulk.run(path), bulk.queued_mail)
    except RosterInvalid as exc:
        raise Unprocessable(str(exc).replace(str(path), "the roster")) from None


def confirm_status(ctx: ServiceContext, token: str, action: str, reason: str) -> StatusReport:
    """Revoke or suspend the credentials the previewed file names."""
    from nbcred.errors import IssuanceError
    from nbcred.service.programs import change_status_many

    if action not in ("revoke", "suspend"):
        raise Unprocessable("action must be revoke or suspend")
    if not reason.strip():
        raise Unprocessable(f"give a reason to {action} these credentials")
    try:
        return change_status_many(ctx, action, reason, csv_file=_path(ctx, token))  # type: ignore[arg-type]
    except IssuanceError as exc:
        raise Unprocessable(str(exc)) from None
