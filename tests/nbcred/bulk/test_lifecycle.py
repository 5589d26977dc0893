"""Expiry, re-certification (superseded), bulk revoke/suspend and stacked certificates following badges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.issuance import CredentialIssuer
from nbcred.issuance.verification import verify_issued
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential
from tests.nbcred.bulk.bulk_helpers import read_csv, write_csv

runner = CliRunner()
BADGES = ["pandas-cleaning", "exploratory-stats", "data-visualisation", "sql-from-python"]


def _rows(store: Store) -> dict[str, IssuedCredential]:
    with store.session() as session:
        return {r.id: r for r in session.scalars(select(IssuedCredential))}


def test_expiring_and_recertification_supersedes_but_both_verify(home: Path, tmp_path: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    header = ["learner", "name", "email", "achievement", "expires_at", "issue_key"]
    first = write_csv(tmp_path / "first.csv", header, [
        ["ada", "Ada L", "ada@example.org", "pandas-cleaning", soon, ""],
        ["alan", "Alan T", "alan@example.org", "pandas-cleaning", later, ""],
    ])
    assert runner.invoke(app, ["credential", "issue-bulk", str(first), "--workers", "1"]).exit_code == 0
    listed = runner.invoke(app, ["credential", "expiring", "--within", "30d", "--format", "json"])
    assert listed.exit_code == 0 and '"learner": "ada"' in listed.output and "alan" not in listed.output
    assert "ada" in runner.invoke(app, ["credential", "expiring", "--within", "9w"]).output

    recert = write_csv(tmp_path / "recert.csv", header, [
        ["ada", "Ada L", "ada@example.org", "pandas-cleaning", later, "recert-2026"]])
    result = runner.invoke(app, ["credential", "issue-bulk", str(recert), "--workers", "1"])
    assert "issued 1, skipped 0" in result.output
    store = Store.open(Settings().resolved_database_url())
    ada = sorted((r for r in _rows(store).values() if r.learner_id == "ada"), key=lambda r: r.issue_key)
    assert [r.issue_key for r in ada] == ["", "recert-2026"]
    assert ada[0].superseded_by == ada[1].id and ada[1].superseded_by is None
    assert "ada" not in runner.invoke(app, ["credential", "expiring", "--within", "30d"]).output
    checks = {v.credential_id: v.result for v in verify_issued(CredentialIssuer(Settings(), store))}
    assert checks[ada[0].id].verified and checks[ada[1].id].verified
    assert ada[0].document["validUntil"].startswith(soon) and ada[1].document["validUntil"].startswith(later)
    bad = runner.invoke(app, ["credential", "expiring", "--within", "soon"])
    assert bad.exit_code == 2 and "30d" in bad.output


def test_bulk_status_changes_and_stacked_certificates_follow(home: Path, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "all.csv", ["learner", "name", "email", "achievement"],
                       [["ada", "Ada L", "ada@example.org", b] for b in BADGES]
                       + [["alan", "Alan T", "alan@example.org", "pandas-cleaning"]])
    first = runner.invoke(app, ["credential", "issue-bulk", str(roster), "--workers", "1"])
    assert first.exit_code == 0 and "issued 5" in first.output
    store = Store.open(Settings().resolved_database_url())
    stacked = [r for r in _rows(store).values() if r.kind == "pathway"]
    assert [r.learner_id for r in stacked] == ["ada"]  # the pathway, issued once after the run
    runner.invoke(app, ["credential", "issue-bulk", str(roster), "--workers", "1"])
    assert len([r for r in _rows(store).values() if r.kind == "pathway"]) == 1
    certificate = stacked[0].id

    suspended = runner.invoke(app, ["credential", "suspend-bulk", "--achievement", "pandas-cleaning",
                                    "--reason", "appeal"])
    assert "suspend: 2 credential(s), 1 stacked certificate(s)" in suspended.output, suspended.output
    rows = _rows(store)
    assert rows[certificate].status == "suspended"
    issuer = CredentialIssuer(Settings(), store)
    statuses = {v.credential_id: v.result.checks["status"] for v in verify_issued(issuer)}
    assert statuses[certificate] == "suspended"

    results = tmp_path / "all.results.csv"
    assert len(read_csv(results)) == 5
    lifted = runner.invoke(app, ["credential", "unsuspend-bulk", "--csv", str(results), "--reason", "ok"])
    assert "unsuspend: 2 credential(s), 1 stacked" in lifted.output, lifted.output
    assert _rows(store)[certificate].status == "active"

    revoked = runner.invoke(app, ["credential", "revoke-bulk", "--achievement", "sql-from-python",
                                  "--issued-from", "2000-01-01", "--reason", "misconduct"])
    assert "revoke: 1 credential(s), 1 stacked" in revoked.output
    statuses = {v.credential_id: v.result.checks["status"] for v in verify_issued(issuer)}
    assert statuses[certificate] == "revoked"
    assert sorted(statuses.values()).count("revoked") == 2
    nothing = runner.invoke(app, ["credential", "revoke-bulk", "--reason", "x"])
    assert nothing.exit_code == 2 and "say which credentials" in nothing.output
