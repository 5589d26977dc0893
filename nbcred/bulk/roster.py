"""Roster CSV files: nbcred's own columns, or Credly's and Canvas Credentials' bulk templates.

A roster is validated completely (:func:`validate_roster`) before anything uses it, then read
again row by row (:func:`read_rows`): nothing is kept in memory but the problems found.

Columns are matched case-insensitively, ignoring spaces, ``_`` and ``-``:

======================  =====================================================================
field                   accepted headers
======================  =====================================================================
learner                 learner, learner id, student id, user id, sis user id, issuer earner id
                        (optional when there is an email: the learner id is then the email)
name                    name, full name, recipient name, student — or first name + last name
email                   email, email address, recipient email, identifier
achievement             achievement, assessment, badge, badge template id, badge class id
section                 section
issue_key               issue key, run
issued_at               issued at, issued at date, issue date
expires_at              expires at, expiration date, expiry date
narrative               narrative
evidence_url            evidence url
evidence_narrative      evidence narrative
======================  =====================================================================

Dates are ISO 8601 (``2026-05-01`` or ``2026-05-01T09:00:00Z``) or US short dates
(``05/01/26``, ``05/01/2026``) as Credly's template uses; dates without a zone are UTC.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FIELDS: dict[str, tuple[str, ...]] = {
    "learner": ("learner", "learnerid", "studentid", "userid", "sisuserid", "issuerearnerid",
                "learner_id"),
    "name": ("name", "fullname", "recipientname", "student", "learnername"),
    "first_name": ("firstname", "issuedtofirstname", "givenname"),
    "last_name": ("lastname", "issuedtolastname", "familyname", "surname"),
    "email": ("email", "emailaddress", "recipientemail", "identifier", "recipientidentifier"),
    "achievement": ("achievement", "assessment", "badge", "badgetemplateid", "badgeclassid",
                    "achievementid", "assessmentid", "pathway"),
    "section": ("section",),
    "issue_key": ("issuekey", "run"),
    "issued_at": ("issuedat", "issuedatdate", "issuedate", "issuedon"),
    "expires_at": ("expiresat", "expirationdate", "expirydate", "expires"),
    "narrative": ("narrative",),
    "evidence_url": ("evidenceurl",),
    "evidence_narrative": ("evidencenarrative",),
}
MAX_PROBLEMS_SHOWN = 1000
"""Problems beyond this many are counted, not listed (the rest of the file is still checked)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_LEARNER = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


@dataclass(frozen=True)
class RosterRow:
    """One valid row, with its 1-based line number in the file (the header is line 1)."""

    line: int
    learner: str
    name: str
    email: str
    achievement: str
    section: str | None = None
    issue_key: str = ""
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    narrative: str | None = None
    evidence_url: str | None = None
    evidence_narrative: str | None = None


@dataclass(frozen=True)
class RosterProblem:
    """Why a row (or the header, line 1) cannot be used."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class RosterCheck:
    """The outcome of validating a whole file."""

    path: Path
    rows: int
    problems: list[RosterProblem]
    problem_count: int
    ignored_columns: list[str]

    @property
    def ok(self) -> bool:
        """True when every row is usable."""
        return self.problem_count == 0


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", header.strip().lstrip("\ufeff").lower())


def _columns(headers: list[str]) -> tuple[dict[str, int], list[str], list[RosterProblem]]:
    """Map fields to column positions; report missing required columns."""
    by_key: dict[str, str] = {alias.replace("_", ""): field for field, aliases in FIELDS.items()
                              for alias in aliases}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[RosterProblem] = []
    for position, header in enumerate(headers):
        field = by_key.get(_key(header))
        if field is None:
            ignored.append(header)
        elif field in positions:
            problems.append(RosterProblem(1, header, f"a second column for {field!r}; keep one"))
        else:
            positions[field] = position
    has_name = "name" in positions or "first_name" in positions or "last_name" in positions
    for field, present in (("email", "email" in positions), ("achievement", "achievement" in positions),
                           ("name", has_name)):
        if not present:
            problems.append(RosterProblem(1, field, f"no {field!r} column; accepted headers: "
                                          f"{', '.join(FIELDS[field])}"))
    return positions, ignored, problems


def parse_date(value: str) -> datetime:
    """An ISO 8601 or US short date (mm/dd/yy) as an aware UTC datetime; ValueError otherwise."""
    us = _US_DATE.match(value)
    if us:
        month, day, year = (int(g) for g in us.groups())
        return datetime(year + 2000 if year < 100 else year, month, day, tzinfo=UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_row(
    line: int, cells: list[str], positions: dict[str, int], headers: list[str],
    known: Callable[[str], str | None],
) -> tuple[RosterRow | None, list[RosterProblem]]:
    problems: list[RosterProblem] = []

    def cell(field: str) -> str:
        position = positions.get(field)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    def column(field: str) -> str:
        position = positions.get(field)
        return headers[position] if position is not None else field

    def bad(field: str, reason: str) -> None:
        problems.append(RosterProblem(line, column(field), reason))

    email = cell("email")
    if not _EMAIL.match(email):
        bad("email", f"{email!r} is not an email address (recipients are identified by a hashed "
                     "email; a URL or phone number cannot be used)" if email else "empty; give the "
                     "learner's email address")
    learner = cell("learner") or email.lower()
    if learner and not _LEARNER.match(learner):
        bad("learner", f"{learner[:60]!r} is not a usable learner id (1-200 characters, no '/', "
                       "'\\' or control characters)")
    name = cell("name") or " ".join(p for p in (cell("first_name"), cell("last_name")) if p)
    if not name:
        bad("name" if "name" in positions else "first_name", "empty; give the learner's name")
    achievement = cell("achievement")
    if not achievement:
        bad("achievement", "empty; give an assessment id of the catalogue or a pathway id")
    else:
        problem = known(achievement)
        if problem:
            bad("achievement", problem)
    dates: dict[str, datetime | None] = {}
    for field in ("issued_at", "expires_at"):
        value = cell(field)
        dates[field] = None
        if value:
            try:
                dates[field] = parse_date(value)
            except ValueError:
                bad(field, f"{value!r} is not a date (use 2026-05-01, 2026-05-01T09:00:00Z or 05/01/26)")
    if dates["issued_at"] and dates["expires_at"] and dates["expires_at"] <= dates["issued_at"]:
        bad("expires_at", "the expiry date is not after the issue date")
    evidence_url = cell("evidence_url")
    if evidence_url and not _URI.match(evidence_url):
        bad("evidence_url", f"{evidence_url[:80]!r} is not an absolute URL (https://...)")
    if len(cells) > len(headers):
        problems.append(RosterProblem(line, "-", f"{len(cells)} cells but {len(headers)} headers; "
                                      "quote values that contain commas"))
    if problems:
        return None, problems
    return RosterRow(
        line=line, learner=learner, name=name, email=email, achievement=achievement,
        section=cell("section") or None, issue_key=cell("issue_key"), issued_at=dates["issued_at"],
        expires_at=dates["expires_at"], narrative=cell("narrative") or None,
        evidence_url=evidence_url or None, evidence_narrative=cell("evidence_narrative") or None,
    ), []


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for cells in reader:
            yield reader.line_num, cells


def _iterate(
    path: Path, known: Callable[[str], str | None]
) -> Iterator[tuple[RosterRow | None, list[RosterProblem], list[str]]]:
    records = _records(path)
    try:
        _line, headers = next(records)
    except StopIteration:
        yield None, [RosterProblem(1, "-", "the file is empty; the first line must name the columns")], []
        return
    positions, ignored, problems = _columns(headers)
    yield None, problems, ignored
    if problems:
        return
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        row, row_problems = _parse_row(line, cells, positions, headers, known)
        yield row, row_problems, ignored


def validate_roster(path: Path, *, known: Callable[[str], str | None]) -> RosterCheck:
    """Check every row of ``path``; ``known(achievement)`` returns why an id is unusable, or None."""
    problems: list[RosterProblem] = []
    count, rows = 0, 0
    ignored: list[str] = []
    try:
        for row, found, columns in _iterate(path, known):
            ignored = columns
            rows += row is not None
            count += len(found)
            problems.extend(found[: max(0, MAX_PROBLEMS_SHOWN - len(problems))])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(RosterProblem(0, "-", f"cannot read {path}: {exc} (save it as UTF-8 CSV)"))
        count += 1
    if rows == 0 and count == 0:
        problems.append(RosterProblem(2, "-", "the file has a header but no rows"))
        count = 1
    return RosterCheck(path=path, rows=rows, problems=problems, problem_count=count,
                       ignored_columns=ignored)


def read_rows(path: Path, *, known: Callable[[str], str | None]) -> Iterator[RosterRow]:
    """Stream the rows of a roster that :func:`validate_roster` accepted."""
    for row, problems, _ignored in _iterate(path, known):
        if problems:
            raise ValueError(f"{path} changed since it was validated: {problems[0]}")
        if row is not None:
            yield row
