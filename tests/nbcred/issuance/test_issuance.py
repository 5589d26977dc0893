"""Issuing, revoking, suspending, expiring and stacking credentials (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from credentials import proof
from credentials import statuslist as sl
from credentials.baking import unbake
from credentials.did import Resolver
from credentials.verify import VerificationResult, verify_credential
from grader.assessment import Assessment, load_assessment
from grader.results import CellScore, CompetencyScore, GradeResult
from grader.spec import PathwaySpec
from nbcred.catalogue import Catalogue
from nbcred.issuance import CredentialIssuer, change_status, export_clr, list_credentials
from nbcred.issuance.pathways import issue_pathways_with
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import Grading, IssuedCredential, PendingIssuance
from tests.grader import factory
from tests.paths import SHARED

BASE = "https://badges.test"
BADGE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'


def write_assessment(root: Path, name: str, *, expires: int | None = 365) -> Assessment:
    """A one-notebook assessment with two competencies and a badge."""
    folder = root / "catalogue" / name
    factory.write(factory.squares_source(), folder / "source" / "problem1.ipynb")
    (folder / "badge.svg").write_text(BADGE_SVG)
    spec = {
        "id": name, "title": f"Title {name}", "version": "2",
        "competencies": [
            {"id": "functions", "name": "Write functions",
             "alignment": [{"target_name": "Functions", "target_url": "https://framework.test/F1",
                            "target_framework": "Test framework", "target_code": "F1"}]},
            {"id": "numbers", "name": "Compute", "min_score": 0.5},
        ],
        "rubric": [{"cell": "problem1/test_squares", "competency": "functions"},
                   {"cell": "problem1/test_partial", "competency": "numbers"}],
        "pass": {"threshold": 0.5, "competency_minimum": 0.6},
        "badge": {"name": f"Badge {name}", "description": "Squares badge", "criteria": "Pass the tests.",
                  "image": "badge.svg", "achievement_type": "Competency", "tags": ["python"],
                  "expires_after_days": expires},
    }
    (folder / "assessment.yaml").write_text(yaml.safe_dump(spec))
    return load_assessment(folder)


def result(assessment: Assessment, learner: str = "alice", *, passed: bool = True,
           content: str = "a") -> GradeResult:
    score = 4.0 if passed else 1.0
    return GradeResult(
        learner=learner, assessment=assessment.id, assessment_version=assessment.spec.version,
        score=score, max_score=4.0, passed=passed,
        cells=[CellScore("problem1", "test_squares", score / 2, 2.0, "autograded", False)],
        competencies=[CompetencyScore("functions", "Write functions", score / 2, 2.0, 0.6, passed),
                      CompetencyScore("numbers", "Compute", score / 2, 2.0, 0.5, passed)],
        tampered_cells=[], errors=[], content_hash=content * 64,
    )


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url, public_base_url=BASE)


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store.open(settings.resolved_database_url())


@pytest.fixture
def assessment(tmp_path: Path) -> Assessment:
    return write_assessment(tmp_path, "squares")


def grade(store: Store, assessment: Assessment, graded: GradeResult) -> int:
    return store.record(graded, fingerprint=assessment.fingerprint, title=assessment.spec.title).grading_id


def published(settings: Settings) -> dict[str, dict[str, Any]]:
    lists = {}
    for path in sorted((settings.home / "public" / "status").rglob("*")):
        if path.is_file():
            document = json.loads(path.read_text())
            if "BitstringStatusListCredential" in document.get("type", []):  # not the plain
                lists[document["id"]] = document  # JSON revocation list CLR copies point at
    return lists


def verify(
    settings: Settings, document: dict[str, Any], *, now: datetime | None = None
) -> VerificationResult:
    """Verify offline against the published status lists (whose own proofs must verify)."""
    lists = published(settings)
    for status_list in lists.values():
        assert verify_credential(status_list, resolver=Resolver()).proof == "ok"

    def checker(entry: dict[str, Any]) -> str:
        return sl.check_status(entry, fetch=lambda url: lists[url])

    return verify_credential(document, resolver=Resolver(), status_checker=checker, now=now)


def stored(store: Store, credential_id: str) -> dict[str, Any]:
    with store.session() as session:
        row = session.get(IssuedCredential, credential_id)
        assert row is not None
        return dict(row.document)


def test_passing_result_gets_a_verifying_badge(settings: Settings, store: Store,
                                               assessment: Assessment) -> None:
    issuer = CredentialIssuer(settings, store)
    credential_id = issuer(result(assessment), assessment, grade(store, assessment, result(assessment)))
    assert credential_id is not None
    document = stored(store, credential_id)
    checked = verify(settings, document)
    assert checked.verified
    assert checked.checks == {"proof": "ok", "dates": "ok", "status": "ok", "schema": "ok"}
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["id"] == f"{BASE}/achievements/squares/2"
    assert achievement["achievementType"] == "Competency"
    assert achievement["image"]["id"].startswith("data:image/svg+xml;base64,")
    assert [a["targetCode"] for a in achievement["alignment"]] == ["F1"]
    assert [r["requiredValue"] for r in achievement["resultDescription"]] == ["60", "50"]
    assert [r["value"] for r in document["credentialSubject"]["result"]] == ["100", "100"]
    assert "Competencies passed: functions, numbers" in document["evidence"][0]["narrative"]
    status = document["credentialStatus"]
    assert isinstance(status, dict) and status["statusPurpose"] == "message"
    assert status["statusSize"] == 2 and status["statusListCredential"] == f"{BASE}/status/message/1"
    assert document["validUntil"] > document["validFrom"]
    folder = settings.home / "credentials" / "alice"
    assert json.loads((folder / "squares-v2.json").read_text())["id"] == credential_id
    assert unbake((folder / "squares-v2.svg").read_bytes())["id"] == credential_id  # type: ignore[index]


def test_the_issuer_signs_what_the_full_pyld_path_signs(settings: Settings, store: Store,
                                                       assessment: Assessment) -> None:
    issuer = CredentialIssuer(settings, store)
    first = stored(store, str(issuer(result(assessment), assessment,
                                     grade(store, assessment, result(assessment)))))
    bob = result(assessment, "bob")
    second = stored(store, str(issuer(bob, assessment, grade(store, assessment, bob))))
    identity = issuer.identity
    for document in (first, second):  # the second one is canonicalised from the cached template
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        again = proof.sign(unsigned, identity.key, verification_method=identity.verification_method,
                           created=document["proof"][0]["created"], canonicalizer="pyld")
        assert again == document


def test_failing_result_gets_nothing_and_a_second_pass_reuses_the_credential(
    settings: Settings, store: Store, assessment: Assessment
) -> None:
    issuer = CredentialIssuer(settings, store)
    failed = result(assessment, passed=False)
    assert issuer(failed, assessment, grade(store, assessment, failed)) is None
    first = issuer(result(assessment, content="b"), assessment,
                   grade(store, assessment, result(assessment, content="b")))
    again = issuer(result(assessment, content="c"), assessment,
                   grade(store, assessment, result(assessment, content="c")))
    assert first is not None and again == first
    assert store.count(IssuedCredential) == 1


def test_revoke_suspend_and_unsuspend_change_the_published_status(
    settings: Settings, store: Store, assessment: Assessment
) -> None:
    issuer = CredentialIssuer(settings, store)
    alice = issuer(result(assessment), assessment, grade(store, assessment, result(assessment)))
    bob_result = result(assessment, "bob")
    bob = issuer(bob_result, assessment, grade(store, assessment, bob_result))
    assert alice and bob
    change_status(issuer, alice, "suspend", "appeal pending")
    assert verify(settings, stored(store, alice)).status == "suspended"
    change_status(issuer, alice, "unsuspend", "appeal rejected")
    assert verify(settings, stored(store, alice)).status == "ok"
    change_status(issuer, alice, "revoke", "plagiarism")
    checked = verify(settings, stored(store, alice))
    assert checked.status == "revoked" and not checked.verified
    assert verify(settings, stored(store, bob)).verified
    listed = list_credentials(issuer, learner="alice")
    assert [(c.status, c.reason) for c in listed] == [("revoked", "plagiarism")]


def test_expired_credential_verifies_as_expired(settings: Settings, store: Store, tmp_path: Path) -> None:
    short = write_assessment(tmp_path, "short", expires=30)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    issuer = CredentialIssuer(settings, store, clock=lambda: long_ago)
    credential_id = issuer(result(short), short, grade(store, short, result(short)))
    assert credential_id is not None
    checked = verify(settings, stored(store, credential_id))
    assert checked.dates == "expired" and checked.proof == "ok" and not checked.verified


def test_failed_signing_keeps_the_grade_and_is_retried(
    settings: Settings, store: Store, assessment: Assessment
) -> None:
    def broken(document: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("hardware security module offline")

    graded = result(assessment)
    grading_id = grade(store, assessment, graded)
    assert CredentialIssuer(settings, store, signer=broken)(graded, assessment, grading_id) is None
    with store.session() as session:
        pending = session.get(PendingIssuance, grading_id)
        assert pending is not None and "hardware security module offline" in pending.reason
        assert session.get(Grading, grading_id) is not None
    assert store.count(IssuedCredential) == 0
    report = CredentialIssuer(settings, store).retry_pending({assessment.id: assessment})
    assert len(report.issued) == 1 and not report.pending
    assert store.count(PendingIssuance) == 0
    assert verify(settings, stored(store, report.issued[0])).verified


def test_pathway_completes_only_with_every_badge(settings: Settings, store: Store, tmp_path: Path) -> None:
    first, second = write_assessment(tmp_path, "first"), write_assessment(tmp_path, "second")
    pathway = PathwaySpec(id="both", name="Both Badges", description="Two badges.",
                          criteria="Earn both.", requires=["first", "second"])
    catalogue = Catalogue(tmp_path / "catalogue", {"first": first, "second": second}, [pathway])
    issuer = CredentialIssuer(settings, store)
    issuer(result(first), first, grade(store, first, result(first)))
    lines = issue_pathways_with(issuer, catalogue)
    assert lines == ["alice: 1 of 2 badges toward Both Badges (missing: Badge second)"]
    issuer(result(second), second, grade(store, second, result(second)))
    assert issue_pathways_with(issuer, catalogue) == ["alice earned Both Badges (stacked from 2 badges)"]
    assert issue_pathways_with(issuer, catalogue) == ["alice holds Both Badges (stacked from 2 badges)"]
    with store.session() as session:
        row = session.scalars(select(IssuedCredential).where(IssuedCredential.kind == "pathway")).one()
        stacked = dict(row.document)
    assert stacked["credentialSubject"]["achievement"]["achievementType"] == "Certificate"
    assert verify(settings, stacked).verified
    clr = json.loads((settings.home / "credentials" / "alice" / "both-clr.json").read_text())
    assert "ClrCredential" in clr["type"] and len(clr["credentialSubject"]["verifiableCredential"]) == 3
    assert verify_credential(clr, resolver=Resolver()).proof == "ok"
    exported = export_clr(issuer, "alice", tmp_path / "alice-clr.json")
    assert verify_credential(exported, resolver=Resolver()).proof == "ok"


def test_did_web_issuer_publishes_its_did_document(
    tmp_path: Path, db_url: str, assessment: Assessment
) -> None:
    settings = Settings(home=tmp_path / "web", database_url=db_url, public_base_url=BASE,
                        issuer_did_web="badges.test")
    store = Store.open(db_url)
    credential_id = CredentialIssuer(settings, store)(result(assessment), assessment,
                                                     grade(store, assessment, result(assessment)))
    assert credential_id is not None
    did_document = json.loads((settings.home / "public" / ".well-known" / "did.json").read_text())
    document = stored(store, credential_id)
    assert document["issuer"]["id"] == did_document["id"] == "did:web:badges.test"
    resolver = Resolver()
    resolver.add_document(did_document)
    assert verify_credential(document, resolver=resolver).proof == "ok"


def test_cli_list_revoke_and_verify(settings: Settings, store: Store, assessment: Assessment,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from nbcred.cli import app

    credential_id = CredentialIssuer(settings, store)(result(assessment), assessment,
                                                      grade(store, assessment, result(assessment)))
    assert credential_id is not None
    monkeypatch.setenv("NBCRED_HOME", str(settings.home))
    monkeypatch.setenv("NBCRED_PUBLIC_BASE_URL", BASE)
    db = settings.resolved_database_url()
    runner = CliRunner()
    listed = runner.invoke(app, ["credential", "list", "--format", "json", "--db", db])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output.splitlines()[0])["id"] == credential_id
    revoked = runner.invoke(app, ["credential", "revoke", credential_id, "--reason", "misconduct",
                                  "--db", db])
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(app, ["credential", "revoke", credential_id, "--reason", "twice", "--db", db])
    assert again.exit_code == 2 and "it is revoked" in again.output
    file = settings.home / "credentials" / "alice" / "squares-v2.json"
    status = settings.home / "public" / "status"
    checked = runner.invoke(app, ["credential", "verify", str(file), "--format", "json",
                                  "--status-list", str(status / "message" / "1")])
    assert checked.exit_code == 1
    assert json.loads(checked.output)["checks"]["status"] == "revoked"


def issue_old_form(settings: Settings, store: Store, assessment: Assessment, learner: str) -> str:
    """A credential as nbcred issued it before message lists: two entries, one per purpose."""
    from credentials import ob3
    from nbcred.issuance import badges, statuslists

    issuer = CredentialIssuer(settings, store)
    revocation_url = statuslists.list_url(settings, "revocation")
    suspension_url = statuslists.list_url(settings, "suspension")
    with store.session() as session:
        revocation_record, revocations = statuslists._load(session, revocation_url)
        suspension_record, suspensions = statuslists._load(session, suspension_url)
        index = revocations.allocate()
        suspensions.reserve(index)
        statuslists._save(revocation_record, revocations)
        statuslists._save(suspension_record, suspensions)
        achievement = badges.achievement_spec(settings, assessment)
        document = ob3.build_credential(
            achievement=achievement, issuer=issuer.identity.profile,
            recipient=badges.recipient(settings, f"{learner}@example.org"),
            credential_status=revocations.entry(index),
        )
        document["credentialStatus"] = [revocations.entry(index), suspensions.entry(index)]
        signed = issuer.identity.sign(document)
        signed["proof"] = signed["proof"][0]  # the old single-object form
        session.add(IssuedCredential(
            id=signed["id"], learner_id=learner, achievement_id=achievement.id,
            achievement_version=assessment.spec.version, kind="badge", status="active",
            status_list=revocation_url, status_index=index, document=signed,
            issued_at=datetime.now(UTC)))
    statuslists.publish(settings, store, issuer.identity)
    return str(signed["id"])


def test_old_form_credentials_keep_verifying_and_can_still_change_status(
    settings: Settings, store: Store, assessment: Assessment
) -> None:
    from nbcred.store.models import Learner

    with store.session() as session:
        session.add(Learner(id="old"))
    old = issue_old_form(settings, store, assessment, "old")
    issuer = CredentialIssuer(settings, store)
    new = issuer(result(assessment), assessment, grade(store, assessment, result(assessment)))
    assert new is not None
    assert sorted(published(settings)) == [f"{BASE}/status/{p}/1"
                                           for p in ("message", "revocation", "suspension")]
    checked = verify(settings, stored(store, old))
    assert checked.verified and checked.status == "ok" and checked.proof == "ok"
    assert checked.schema == "ok"  # a single proof object is checked as a one-proof set
    change_status(issuer, old, "suspend", "appeal pending")
    assert verify(settings, stored(store, old)).status == "suspended"
    assert verify(settings, stored(store, new)).status == "ok"
    change_status(issuer, old, "unsuspend", "appeal upheld")
    assert verify(settings, stored(store, old)).verified
    change_status(issuer, old, "revoke", "plagiarism")
    assert verify(settings, stored(store, old)).status == "revoked"
    assert verify(settings, stored(store, new)).verified
    change_status(issuer, new, "suspend", "check")
    assert verify(settings, stored(store, new)).status == "suspended"
    assert verify(settings, stored(store, old)).status == "revoked"


def test_each_credential_gets_its_own_identity_salt(settings: Settings, store: Store, tmp_path: Path) -> None:
    from credentials import ob3

    first, second = write_assessment(tmp_path, "first"), write_assessment(tmp_path, "second")
    issuer = CredentialIssuer(settings, store)
    ids = [issuer(result(a), a, grade(store, a, result(a))) for a in (first, second)]
    identities = [stored(store, str(i))["credentialSubject"]["identifier"][0] for i in ids]
    assert identities[0]["salt"] != identities[1]["salt"]
    assert identities[0]["identityHash"] != identities[1]["identityHash"]  # not linkable
    email = "alice@" + settings.learner_email_domain
    for identity in identities:  # what a learner (or a verifier they tell) checks
        assert ob3.identity_matches(identity, email)
        assert identity["identityHash"] == ob3.hash_identity(email, identity["salt"])
        assert not ob3.identity_matches(identity, "mallory@example.org")


def test_a_configured_identity_salt_is_used_for_every_credential(
    tmp_path: Path, db_url: str
) -> None:
    from pydantic import SecretStr

    settings = Settings(home=tmp_path / "salted", database_url=db_url, public_base_url=BASE,
                        identity_salt=SecretStr("deployment-salt"))
    store = Store.open(db_url)
    first, second = write_assessment(tmp_path, "first"), write_assessment(tmp_path, "second")
    issuer = CredentialIssuer(settings, store)
    ids = [issuer(result(a), a, grade(store, a, result(a))) for a in (first, second)]
    salts = {stored(store, str(i))["credentialSubject"]["identifier"][0]["salt"] for i in ids}
    assert salts == {"deployment-salt"}


CLR_SCHEMA = SHARED / "schemas" / "clr_v2p0_clrcredential_schema_draft4.json"


def test_clr_copies_use_the_revocation_list_and_follow_every_status_change(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    from jsonschema import Draft4Validator

    from nbcred.issuance.lifecycle import change_status_bulk
    from nbcred.service.verify_files import verify_files

    first, second = write_assessment(tmp_path, "first"), write_assessment(tmp_path, "second")
    pathway = PathwaySpec(id="both", name="Both Badges", description="Two badges.",
                          criteria="Earn both.", requires=["first", "second"])
    catalogue = Catalogue(tmp_path / "catalogue", {"first": first, "second": second}, [pathway])
    issuer = CredentialIssuer(settings, store)
    badge_id = issuer(result(first), first, grade(store, first, result(first)))
    issuer(result(second), second, grade(store, second, result(second)))
    issue_pathways_with(issuer, catalogue)
    path = settings.home / "credentials" / "alice" / "both-clr.json"
    clr = json.loads(path.read_text())
    embedded = clr["credentialSubject"]["verifiableCredential"]
    revocations_url = f"{BASE}/status/revocations"
    assert all(e["credentialStatus"] == {"id": revocations_url, "type": "1EdTechRevocationList"}
               for e in embedded)
    assert "credentialStatus" not in clr
    stored_ids = {c.id for c in list_credentials(issuer, learner="alice")}
    assert {e["id"] for e in embedded} == stored_ids  # the same credentials, same ids
    position = [e["id"] for e in embedded].index(badge_id)
    assert stored(store, str(badge_id))["credentialStatus"]["type"] == "BitstringStatusListEntry"
    if CLR_SCHEMA.is_file():
        errors = [e for e in Draft4Validator(json.loads(CLR_SCHEMA.read_text())).iter_errors(clr)
                  if "issuanceDate" not in e.message]
        assert errors == []

    def check() -> tuple[bool, list[str], tuple[str, ...]]:
        result_ = verify_files(settings, [path])[0].result
        return result_.verified, [e.status for e in result_.embedded], result_.warnings

    def listed() -> dict[str, str]:
        document = json.loads((settings.home / "public" / "status" / "revocations").read_text())
        assert document["id"] == revocations_url and document["issuer"] == issuer.identity.did
        return {e["id"]: e["revocationReason"] for e in document["revokedCredentials"]}

    assert check() == (True, ["ok", "ok", "ok"], ())
    change_status(issuer, str(badge_id), "suspend", "appeal pending")
    verified, statuses, warnings = check()
    assert not verified and statuses[position] == "suspended"
    assert any(str(badge_id) in w and "status suspended" in w for w in warnings)
    assert listed()[str(badge_id)].startswith("suspended")
    assert "appeal pending" not in (settings.home / "public" / "status" / "revocations").read_text()
    change_status(issuer, str(badge_id), "unsuspend", "appeal upheld")
    assert check() == (True, ["ok", "ok", "ok"], ())
    assert listed() == {}
    change_status_bulk(issuer, [str(badge_id)], "revoke", "plagiarism")  # the bulk path, cascading
    verified, statuses, warnings = check()
    assert not verified and statuses[position] == "revoked" and statuses[-1] == "revoked"
    assert any(str(badge_id) in w and "status revoked" in w for w in warnings)
    assert set(listed().values()) == {"revoked"} and len(listed()) == 2
