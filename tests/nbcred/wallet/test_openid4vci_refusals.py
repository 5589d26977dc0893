"""What the OpenID4VCI endpoints refuse, with the error codes the specification names, on SQLite
and PostgreSQL: reused, expired and unknown codes (invalid_grant), transaction codes, missing,
forged and misdirected key proofs (invalid_proof), wrong or reused nonces (invalid_nonce), spent
access tokens (invalid_token), and a code redeemed by two wallets at once (one wins). The key
proofs are signed with joserfc, as a wallet would, with keys made for each test."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import base58
import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey
from sqlalchemy import select, update

from nbcred.service import ServiceContext
from nbcred.settings import Settings
from nbcred.store.models import HolderCopy, WalletNonce, WalletOffer
from tests.nbcred.wallet.wallet_world import award, learner

BASE = "https://wallets.nbcred.test"
PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@dataclass
class Holder:
    key: OKPKey | ECKey
    did: str
    kid: str
    alg: str

    def proof(self, nonce: str | None, *, aud: str = BASE, **changes: Any) -> str:
        key = changes.pop("key", None) or self.key
        header = {"alg": self.alg, "typ": "openid4vci-proof+jwt", "kid": self.kid,
                  **changes.pop("header", {})}
        payload = {"aud": aud, "iat": int(time.time()), **({"nonce": nonce} if nonce else {}), **changes}
        return str(jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=[self.alg]))


def ed25519_holder() -> Holder:
    key = OKPKey.generate_key("Ed25519")
    raw = base64.urlsafe_b64decode(key.as_dict(private=False)["x"] + "==")
    multibase = "z" + base58.b58encode(b"\xed\x01" + raw).decode()
    return Holder(key, f"did:key:{multibase}", f"did:key:{multibase}#{multibase}", "EdDSA")


@dataclass
class Service:
    client: TestClient
    ctx: ServiceContext
    token: str
    credential: str

    def offer(self, **body: Any) -> dict[str, Any]:
        answer = self.client.post(f"/api/v1/credentials/{quote(self.credential, safe='')}/offer",
                                  json=body or None, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def code(self, **body: Any) -> str:
        offer = self.offer(**body)
        return str(offer["credential_offer"]["grants"][PRE]["pre-authorized_code"])

    def redeem(self, code: str, **extra: str) -> Any:
        return self.client.post("/openid4vci/token", data={"grant_type": PRE, "pre-authorized_code": code,
                                                           **extra})

    def access(self) -> str:
        answer = self.redeem(self.code())
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def nonce(self) -> str:
        return str(self.client.post("/openid4vci/nonce").json()["c_nonce"])

    def request(self, access: str, body: dict[str, Any]) -> Any:
        return self.client.post("/openid4vci/credential", json=body,
                                headers={"Authorization": f"Bearer {access}"})


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    from nbcred.web.app import create_app

    settings = Settings(home=tmp_path / "home", database_url=db_url, public_base_url=BASE, base_url=BASE,
                        serve_grading=False, workers=1, verify_workers=1)
    ctx = ServiceContext.open(settings)
    account, token = learner(ctx, "ada@example.org")
    credential = award(ctx, account)
    with TestClient(create_app(settings, ctx=ctx), base_url=BASE) as client:
        yield Service(client, ctx, token, credential)
    ctx.store.engine.dispose()


def error(answer: Any) -> str:
    assert answer.headers["cache-control"] == "no-store"
    return str(answer.json()["error"])


def test_codes_are_single_use_short_lived_and_stored_hashed(service: Service) -> None:
    code = service.code()
    with service.ctx.store.session() as session:
        stored = [f"{r.code_hash} {r.tx_code_hash}" for r in session.scalars(select(WalletOffer))]
    assert stored and not any(code in row for row in stored)
    first = service.redeem(code)
    assert first.status_code == 200 and first.json()["token_type"] == "bearer"
    again = service.redeem(code)
    assert again.status_code == 400 and error(again) == "invalid_grant"
    assert error(service.redeem("no-such-code")) == "invalid_grant"
    late = service.code()
    with service.ctx.store.session() as session:
        session.execute(update(WalletOffer).where(WalletOffer.redeemed_at.is_(None))
                        .values(expires_at=WalletOffer.created_at))
    expired = service.redeem(late)
    assert expired.status_code == 400 and error(expired) == "invalid_grant"
    assert "expired" in expired.json()["error_description"]
    wrong = service.client.post("/openid4vci/token", data={"grant_type": "authorization_code", "code": "x"})
    assert wrong.status_code == 400 and error(wrong) == "unsupported_grant_type"
    missing = service.client.post("/openid4vci/token", data={"grant_type": PRE})
    assert missing.status_code == 400 and error(missing) == "invalid_request"


def test_transaction_code(service: Service) -> None:
    offer = service.offer(tx_code=True)
    code = offer["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    assert error(service.redeem(code)) == "invalid_request"  # the code is missing
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    for _ in range(4):
        assert error(service.redeem(code, tx_code=wrong)) == "invalid_grant"
    assert service.redeem(code, tx_code=offer["tx_code"]).status_code == 200
    other = service.offer(tx_code=True)
    other_code = other["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    for _ in range(5):  # five wrong codes cancel the offer: the right one no longer works
        service.redeem(other_code, tx_code=wrong)
    assert error(service.redeem(other_code, tx_code=other["tx_code"])) == "invalid_grant"
    plain = service.code()
    assert error(service.redeem(plain, tx_code="123456")) == "invalid_request"


def test_one_of_two_wallets_racing_for_a_code_wins(service: Service) -> None:
    code = service.code()
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def race() -> None:
        barrier.wait()
        answers.append(service.redeem(code).status_code)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 400]


def test_key_proofs_and_nonces(service: Service) -> None:
    holder = ed25519_holder()
    access = service.access()
    configuration = {"credential_configuration_id": "pandas-cleaning"}
    bare = service.request(access, configuration)
    assert bare.status_code == 400 and error(bare) == "invalid_proof" and bare.json()["c_nonce"]
    made_up = service.request(access, {**configuration, "proofs": {"jwt": [holder.proof("made-up")]}})
    assert error(made_up) == "invalid_nonce"
    nonceless = service.request(access, {**configuration, "proofs": {"jwt": [holder.proof(None)]}})
    assert error(nonceless) == "invalid_nonce"
    elsewhere = service.request(access, {**configuration, "proofs": {
        "jwt": [holder.proof(service.nonce(), aud="https://other.example")]}})
    assert error(elsewhere) == "invalid_proof" and "aud" in elsewhere.json()["error_description"]
    impostor = ed25519_holder()  # signed by another key than the one its kid names
    forged = holder.proof(service.nonce(), key=impostor.key)
    assert error(service.request(access, {**configuration, "proofs": {"jwt": [forged]}})) == "invalid_proof"
    typed = holder.proof(service.nonce(), header={"typ": "JWT"})
    assert error(service.request(access, {**configuration, "proofs": {"jwt": [typed]}})) == "invalid_proof"
    stale = holder.proof(service.nonce(), iat=int(time.time()) - 3600)
    assert error(service.request(access, {**configuration, "proofs": {"jwt": [stale]}})) == "invalid_proof"
    unnamed = service.request(access, {"credential_configuration_id": "sql-from-python",
                                       "proofs": {"jwt": [holder.proof(service.nonce())]}})
    assert error(unnamed) == "unknown_credential_configuration"
    proof = {"proof_type": "jwt", "jwt": holder.proof(service.nonce())}
    jwt_vc = service.request(access, {"format": "jwt_vc_json", "proof": proof,
                                      "credential_definition": {"type": ["VerifiableCredential"]}})
    assert error(jwt_vc) == "unsupported_credential_format"
    with service.ctx.store.session() as session:
        assert session.scalars(select(HolderCopy)).first() is None  # nothing was issued so far
    nonce = service.nonce()
    good = service.request(access, {**configuration, "proofs": {"jwt": [holder.proof(nonce)]}})
    assert good.status_code == 200, good.text
    (issued,) = good.json()["credentials"]
    assert issued["credential"]["credentialSubject"]["id"] == holder.did
    checked = service.client.post("/api/v1/credentials/verify", json=issued["credential"]).json()
    assert checked["verified"] is True, checked  # nbcred's own verifier
    assert checked["checks"]["status"] == "ok", checked
    spent = service.request(access, {**configuration, "proofs": {"jwt": [holder.proof(service.nonce())]}})
    assert spent.status_code == 401 and error(spent) == "invalid_token"
    assert 'error="invalid_token"' in spent.headers["www-authenticate"]
    reused = service.request(service.access(), {**configuration, "proofs": {"jwt": [holder.proof(nonce)]}})
    assert error(reused) == "invalid_nonce"  # a c_nonce is spent by the proof that carried it
    with service.ctx.store.session() as session:
        assert all(len(n.nonce_hash) == 64 for n in session.scalars(select(WalletNonce)))


def test_requests_without_a_valid_access_token(service: Service) -> None:
    anonymous = service.client.post("/openid4vci/credential", json={})
    assert anonymous.status_code == 401 and error(anonymous) == "invalid_token"
    guessed = service.request("guessed", {"credential_configuration_id": "pandas-cleaning"})
    assert guessed.status_code == 401 and error(guessed) == "invalid_token"
    # the learner's API token is no access token either
    theirs = service.request(service.token, {"credential_configuration_id": "pandas-cleaning"})
    assert theirs.status_code == 401
