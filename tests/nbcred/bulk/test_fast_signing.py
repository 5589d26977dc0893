"""Bulk signing through document templates gives the builder's documents, signed as the plain path signs."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from credentials.statusentry import build_entry
from nbcred.bulk import fastsign
from nbcred.bulk.issue import BulkIssuer
from nbcred.bulk.signing import BulkItem, Signer, SigningContext, build_document, sign_document
from nbcred.bulk.storing import COLUMNS, insert_new
from nbcred.catalogue import load_catalogue
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential, Learner
from tests.paths import ROOT

CATALOGUE = ROOT / "assessments"
_TEXT = "abc %s %(x)s %% \"quoted\" back\\slash \n\t\x01 é 中 🎓 <b>&amp;"


@pytest.fixture()
def context(tmp_path: Path) -> SigningContext:
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'gradebook.sqlite'}",
                        catalogue=CATALOGUE, public_base_url="https://badges.test")
    issuer = BulkIssuer(settings=settings, store=Store.open(settings.database_url),
                        catalogue=load_catalogue(CATALOGUE))
    return issuer.context


def _items(rng: random.Random, count: int) -> list[BulkItem]:
    url = "https://badges.test/status/message/1"
    items = []
    for line in range(count):
        issued = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
        items.append(BulkItem(
            line=line, learner=f"learner{line}", email=f"Learner.{line}+x@Example.org",
            achievement=rng.choice(["pandas-cleaning", "data-analyst-foundations"]),
            status_entry=build_entry(list_url=url, index=rng.randrange(1, 10**5), purpose="message"),
            issued_at=rng.choice([None, issued.isoformat(), issued.replace(tzinfo=None).isoformat()]),
            expires_at=rng.choice([None, (issued + timedelta(days=400)).isoformat()]),
            narrative=rng.choice([None, "", f"Well done {line}", _TEXT]),
            evidence_url=rng.choice([None, f"https://evidence.example/{line}?q=%20&x=1"]),
            evidence_narrative=rng.choice([None, _TEXT, "Capstone"]),
        ))
    return items


def _plain(context: SigningContext, item: BulkItem, salt: str, now: datetime) -> dict[str, Any]:
    """The reference: the builder's document with the row's salt, signed through pyld's expansion."""
    fixed = dataclasses.replace(context, identity_salt=salt)
    return sign_document(fixed, build_document(fixed, item, now=now), created=now, canonicalizer="pyld")


@pytest.mark.parametrize("salt", [None, "a-fixed-salt"])
def test_template_rows_are_the_plain_paths_documents_byte_for_byte(context: SigningContext,
                                                                   salt: str | None) -> None:
    context = dataclasses.replace(context, identity_salt=salt)
    signer = Signer(context)
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    items = _items(random.Random(5), 60)
    signed = [signer.sign(item, now=now) for item in items]
    assert signer.refused == 0 and len(signer.templates) > 4  # every shape went through a template
    for item, credential in zip(items, signed, strict=True):
        document = json.loads(credential.text)
        row_salt = document["credentialSubject"]["identifier"][0]["salt"]
        assert salt is None or row_salt == salt
        expected = _plain(context, item, row_salt, now)
        assert document == expected
        assert json.dumps(document) == json.dumps(expected)  # same keys in the same order
        assert credential.id == expected["id"] and credential.valid_until == expected.get("validUntil")
    assert len({json.loads(c.text)["credentialSubject"]["identifier"][0]["salt"] for c in signed}) == \
        (1 if salt else len(signed))


def test_a_template_that_strays_from_the_builder_is_refused(context: SigningContext,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real = fastsign.fields_of

    def stray(*args: Any, **kwargs: Any) -> tuple[str | None, ...]:
        fields = list(real(*args, **kwargs))
        fields[1] = "2001-01-01T00:00:00Z"  # validFrom, as a builder change might make it differ
        return tuple(fields)

    monkeypatch.setattr("nbcred.bulk.signing.fields_of", stray)
    signer = Signer(context)
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    items = _items(random.Random(9), 6)
    for item in items:
        document = json.loads(signer.sign(item, now=now).text)
        salt = document["credentialSubject"]["identifier"][0]["salt"]
        assert document == _plain(context, item, salt, now)
    assert signer.refused == len(items)
    assert set(signer.templates.values()) == {None}


def _row(number: int, learner: str, text: str = '{"a": 1}') -> tuple[Any, ...]:
    now = datetime.now(UTC)
    values = {"id": f"urn:uuid:00000000-0000-4000-8000-{number:012d}", "learner_id": learner,
              "achievement_id": "https://badges.test/achievements/a/1", "achievement_version": "1",
              "kind": "badge", "grading_id": None, "status": "active", "status_reason": None,
              "status_list": "https://badges.test/status/message/1", "status_index": number,
              "document": text, "issued_at": now, "valid_until": None, "issue_key": "",
              "superseded_by": None}
    return tuple(values[column] for column in COLUMNS)


def test_a_batch_meeting_stored_rows_inserts_only_the_new_ones(db_url: str) -> None:
    store = Store.open(db_url)
    with store.session() as session:
        session.add_all([Learner(id=f"l{n}", email=f"l{n}@example.org", name=f"L {n}") for n in range(6)])
    with store.session() as session:
        assert insert_new(session, [_row(n, f"l{n}") for n in range(3)]) == {_row(n, "")[0] for n in range(3)}
    clash = [_row(1, "l1"),                       # the same credential again
             _row(7, "l2"),                       # another credential for a key already issued
             _row(8, "l4", '{"b": "é \\" 中"}'),  # new
             _row(2, "l5")]                       # a status slot already taken (and its id)
    with store.session() as session:
        assert insert_new(session, clash) == {_row(8, "")[0]}
    with store.session() as session:
        stored = {row.id: row for row in session.scalars(select(IssuedCredential))}
        assert session.scalar(select(func.count()).select_from(IssuedCredential)) == 4
    assert stored[_row(8, "")[0]].document == {"b": "é \" 中"}
    assert stored[_row(1, "")[0]].learner_id == "l1"
