"""``nbcred credential issue-bulk``: validated first, exactly once, verifiable, as the plain path signs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from credentials.proof import sign
from nbcred.bulk.signing import SigningContext
from nbcred.cli import app
from nbcred.issuance import CredentialIssuer, change_status
from nbcred.issuance.verification import verify_issued
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential
from tests.nbcred.bulk.bulk_helpers import read_csv, roster_rows, write_csv

runner = CliRunner()
HEADER = ["learner", "name", "email", "achievement"]


def _issue(roster: Path, *extra: str) -> Any:
    return runner.invoke(app, ["credential", "issue-bulk", str(roster), *extra])


def _store() -> Store:
    return Store.open(Settings().resolved_database_url())


def _count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(IssuedCredential)) or 0)


def test_invalid_roster_lists_every_bad_row_and_issues_nothing(home: Path, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "bad.csv", HEADER, [
        ["ok1", "Ok One", "ok1@example.org", "pandas-cleaning"],
        ["bad/id", "Bad Id", "bad@example.org", "pandas-cleaning"],
        ["x2", "", "not-an-email", "pandas-cleaning"],
        ["x3", "X Three", "x3@example.org", "no-such-badge"],
        ["ok2", "Ok Two", "ok2@example.org", "data-analyst-foundations"],
    ])
    result = _issue(roster)
    assert result.exit_code == 2, result.output
    for expected in ("line 3, column learner", "line 4, column name", "line 4, column email",
                     "line 5, column achievement: unknown achievement 'no-such-badge'"):
        assert expected in result.output
    assert "line 2" not in result.output and "line 6" not in result.output
    assert _count(_store()) == 0
    assert not (tmp_path / "bad.results.csv").exists()


def test_missing_columns_are_named(home: Path, tmp_path: Path) -> None:
    result = _issue(write_csv(tmp_path / "cols.csv", ["learner", "email"], [["a", "a@example.org"]]))
    assert result.exit_code == 2
    assert "line 1, column achievement: no 'achievement' column" in result.output
    assert "line 1, column name" in result.output


def test_credly_and_canvas_templates_are_accepted(home: Path, tmp_path: Path) -> None:
    credly = write_csv(tmp_path / "credly.csv",
                       ["Badge Template ID", "Recipient Email", "First Name", "Last Name", "Issued at",
                        "Issuer Earner ID", "Expiration Date", "Locale"],
                       [["pandas-cleaning", "ada@example.org", "Ada", "Lovelace", "03/01/26", "ada", "",
                         "en"]])
    canvas = write_csv(tmp_path / "canvas.csv",
                       ["Badge Class ID", "Identifier", "First Name", "Last Name", "Narrative",
                        "Evidence Narrative", "Evidence URL", "Issue Date", "Expiration Date"],
                       [["sql-from-python", "Grace@Example.org", "Grace", "Hopper", "Well done",
                         "Capstone", "https://evidence.example/1", "2026-03-01", "2027-03-01"]])
    assert _issue(credly).exit_code == 0
    assert _issue(canvas).exit_code == 0
    with _store().session() as session:
        rows = {r.learner_id: r for r in session.scalars(select(IssuedCredential))}
    assert set(rows) == {"ada", "grace@example.org"}
    assert rows["ada"].document["validFrom"] == "2026-03-01T00:00:00Z"
    grace = rows["grace@example.org"].document
    assert grace["validUntil"] == "2027-03-01T00:00:00Z"
    assert grace["description"] == "Well done"
    assert grace["evidence"][0]["id"] == "https://evidence.example/1"


def test_bulk_run_issues_once_verifies_and_matches_the_plain_path(home: Path, tmp_path: Path) -> None:
    rows = roster_rows(24) + roster_rows(6, "data-analyst-foundations") + [roster_rows(1)[0]]
    roster = write_csv(tmp_path / "cohort.csv", HEADER, rows)
    first = _issue(roster, "--workers", "2", "--batch-size", "7")
    assert first.exit_code == 0, first.output
    assert "issued 30, skipped 1 (already issued), failed 0" in first.output
    results = read_csv(tmp_path / "cohort.results.csv")
    assert str(tmp_path / "cohort.results.csv") in first.output.replace("\n", "")
    assert [r["result"] for r in results] == ["issued"] * 30 + ["skipped"]
    assert [int(r["line"]) for r in results] == list(range(2, 33))

    second = _issue(roster, "--workers", "1")
    assert second.exit_code == 0
    assert "issued 0, skipped 31 (already issued), failed 0" in second.output
    assert {r["credential_id"] for r in read_csv(tmp_path / "cohort.results.csv")} >= {
        r["credential_id"] for r in results if r["result"] == "issued"}

    store = _store()
    issuer = CredentialIssuer(Settings(), store)
    checks = verify_issued(issuer)
    assert len(checks) == 30
    assert all(c.result.verified for c in checks), [c.result for c in checks if not c.result.verified]

    # the parallel (template) path signed exactly what full JSON-LD expansion signs
    identity = issuer.identity
    context = SigningContext(issuer=identity.profile, key=identity.key,
                             verification_method=identity.verification_method, plans={})
    with store.session() as session:
        sample = [dict(r.document) for r in session.scalars(select(IssuedCredential).limit(5))]
    for document in sample:
        proof = document["proof"][0]
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        plain = sign(unsigned, context.key, verification_method=context.verification_method,
                     created=proof["created"], canonicalizer="pyld")
        assert plain == document


def test_revoke_in_any_status_list_and_lists_roll_over(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credentials.statuslist import StatusList
    from nbcred.issuance import statuslists

    capacity = StatusList(url="https://badges.test/status/message/1", purpose="message").capacity
    monkeypatch.setattr(statuslists, "LIST_FILL_LIMIT", 8.5 / capacity)  # a list takes 8 credentials
    roster = write_csv(tmp_path / "many.csv", HEADER, roster_rows(20))
    assert _issue(roster).exit_code == 0
    store = _store()
    with store.session() as session:
        placed = [(r.id, r.status_list, r.status_index) for r in session.scalars(select(IssuedCredential))]
    lists = sorted({url for _, url, _ in placed})
    assert [url.rsplit("/", 1)[-1] for url in lists] == ["1", "2", "3"]
    assert len({(url, index) for _, url, index in placed}) == 20
    for url in lists:  # every list published, signed
        published = json.loads(statuslists.published_path(Settings(), url).read_text())
        assert published["id"] == url and published["proof"]
    issuer = CredentialIssuer(Settings(), store)
    in_third = next(cid for cid, url, _ in placed if url.endswith("/3"))
    change_status(issuer, in_third, "revoke", "issued in error")
    verdicts = {c.credential_id: c.result for c in verify_issued(issuer)}
    assert verdicts[in_third].checks["status"] == "revoked"
    assert all(v.verified for cid, v in verdicts.items() if cid != in_third)


def test_killed_run_resumes_and_issues_each_credential_exactly_once(home: Path, tmp_path: Path) -> None:
    total = 120
    roster = write_csv(tmp_path / "big.csv", HEADER, roster_rows(total))
    command = [sys.executable, "-m", "nbcred.cli", "credential", "issue-bulk", str(roster),
               "--workers", "1", "--batch-size", "10"]
    env = {**os.environ}
    process = subprocess.Popen([sys.executable, "-c", "from nbcred.cli import main; main()", *command[3:]],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    store = _store()
    deadline = time.monotonic() + 120
    while _count(store) < 20 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = _count(store)
    assert 0 < done < total, f"kill landed at {done} of {total}"

    result = _issue(roster, "--workers", "2", "--batch-size", "50")
    assert result.exit_code == 0, result.output
    assert f"issued {total - done}, skipped {done} (already issued), failed 0" in result.output
    with store.session() as session:
        keys = session.execute(select(IssuedCredential.learner_id, IssuedCredential.achievement_id)).all()
    assert len(keys) == total and len(set(keys)) == total


def test_exactly_once_on_both_databases(home: Path, tmp_path: Path, db_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBCRED_DATABASE_URL", db_url)
    roster = write_csv(tmp_path / "both.csv", HEADER, roster_rows(12) + roster_rows(2))
    first = _issue(roster, "--workers", "1", "--batch-size", "5")
    assert "issued 12, skipped 2 (already issued), failed 0" in first.output, first.output
    second = _issue(roster, "--workers", "1")
    assert "issued 0, skipped 14 (already issued), failed 0" in second.output
    store = _store()
    assert _count(store) == 12
    checks = verify_issued(CredentialIssuer(Settings(), store), sample=3)
    assert len(checks) == 3 and all(c.result.verified for c in checks)
