"""Bitstring Status List: encoding, bit order, allocation, status changes and the status check."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credentials import statuslist as sl
from credentials.errors import CredentialError, StatusListError

URL = "https://issuer.example/status/1"
# Example encodedList of the W3C Bitstring Status List v1.0 specification: 131,072 zero bits.
W3C_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def independent_decode(encoded: str) -> bytes:
    """Decode with the standard library only (multibase 'u' + base64url + gzip)."""
    assert encoded[0] == "u"
    body = encoded[1:]
    assert "=" not in body
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_empty_list_reproduces_the_w3c_example() -> None:
    encoded = sl.encode_bitstring(sl.new_bitstring())
    assert encoded == W3C_EMPTY_LIST
    assert independent_decode(W3C_EMPTY_LIST) == bytes(16384)
    assert sl.decode_bitstring(W3C_EMPTY_LIST) == bytes(16384)


def test_minimum_size_is_enforced() -> None:
    assert len(sl.new_bitstring()) * 8 == 131_072
    with pytest.raises(StatusListError, match="at least 131072"):
        sl.new_bitstring(1024)
    with pytest.raises(StatusListError):
        sl.encode_bitstring(bytes(100))


@pytest.mark.parametrize(
    ("index", "byte", "value"),
    [(0, 0, 0x80), (1, 0, 0x40), (7, 0, 0x01), (8, 1, 0x80), (131_071, 16383, 0x01)],
)
def test_bit_order_is_msb_first(index: int, byte: int, value: int) -> None:
    bits = sl.new_bitstring()
    sl.set_bit(bits, index, True)
    raw = independent_decode(sl.encode_bitstring(bits))
    assert raw[byte] == value
    assert sum(raw) == value  # exactly one bit set
    assert sl.get_bit(raw, index)
    sl.set_bit(bits, index, False)
    assert not any(bits)


def test_out_of_range_index_is_refused() -> None:
    bits = sl.new_bitstring()
    with pytest.raises(StatusListError, match="outside the list"):
        sl.set_bit(bits, 131_072, True)
    with pytest.raises(StatusListError):
        sl.get_bit(bits, -1)


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        ("H4sIAAAA", "starting with 'u'"),
        ("u!!!", "base64url"),
        ("u" + base64.urlsafe_b64encode(b"not gzip").rstrip(b"=").decode(), "GZIP"),
        (
            "u" + base64.urlsafe_b64encode(gzip.compress(bytes(16384), mtime=0)[:20]).decode().rstrip("="),
            "truncated|GZIP",
        ),
    ],
)
def test_bad_encodings_are_refused(encoded: str, why: str) -> None:
    with pytest.raises(StatusListError, match=why):
        sl.decode_bitstring(encoded)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(bytes(sl.MAX_DECODED_BYTES + 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(StatusListError, match="inflates beyond"):
        sl.decode_bitstring(encoded)


def test_allocation_is_random_and_never_reused() -> None:
    status_list = sl.StatusList(url=URL, purpose="revocation")
    indexes = [status_list.allocate() for _ in range(500)]
    assert len(set(indexes)) == 500
    assert indexes != sorted(indexes)
    assert all(0 <= i < 131_072 for i in indexes)
    sl.revoke(status_list, indexes[0], reason="plagiarism")
    restored = sl.StatusList.from_dict(status_list.to_dict())
    assert restored.is_set(indexes[0])
    assert restored.allocate() not in indexes


def test_full_list_raises() -> None:
    status_list = sl.StatusList(url=URL, purpose="revocation")
    status_list.allocated[:] = b"\xff" * len(status_list.allocated)
    with pytest.raises(StatusListError, match="full"):
        status_list.allocate()
    sl.set_bit(status_list.allocated, 4242, False)
    assert status_list.allocate() == 4242


def test_entry_shape() -> None:
    status_list = sl.StatusList(url=URL, purpose="suspension")
    index = status_list.allocate()
    entry = status_list.entry(index)
    assert entry == {
        "id": f"{URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": str(index),
        "statusListCredential": URL,
    }
    with pytest.raises(StatusListError, match="never allocated"):
        status_list.entry((index + 1) % 131_072)


def test_revoke_suspend_unsuspend_records_reasons() -> None:
    revocations = sl.StatusList(url=URL, purpose="revocation")
    suspensions = sl.StatusList(url=URL + "s", purpose="suspension")
    r, s = revocations.allocate(), suspensions.allocate()
    change = sl.revoke(revocations, r, reason="  academic misconduct ")
    assert (change.action, change.reason, change.index) == ("revoke", "academic misconduct", r)
    assert revocations.is_set(r)
    assert sl.suspend(suspensions, s, reason="appeal pending").action == "suspend"
    assert suspensions.is_set(s)
    sl.unsuspend(suspensions, s, reason="appeal rejected")
    assert not suspensions.is_set(s)
    with pytest.raises(StatusListError, match="revocation list"):
        sl.unsuspend(revocations, r, reason="oops")  # revocation is permanent
    with pytest.raises(StatusListError, match="reason"):
        sl.suspend(suspensions, s, reason=" ")
    assert issubclass(StatusListError, CredentialError)


def fake_signer(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "proof": {"type": "DataIntegrityProof", "proofValue": "zTest"}}


def test_status_list_credential_shape() -> None:
    status_list = sl.StatusList(url=URL, purpose="revocation")
    sl.revoke(status_list, status_list.allocate(), reason="r")
    signed = status_list.signed_credential(issuer="did:key:z6MkTest", sign=fake_signer)
    assert signed["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert signed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert signed["id"] == URL
    subject = signed["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert independent_decode(subject["encodedList"]) == bytes(status_list.bits)
    with pytest.raises(StatusListError, match="proof"):
        status_list.signed_credential(issuer="did:key:z6MkTest", sign=lambda d: d)


def test_documents_expand_without_dropped_terms() -> None:
    jsonld = pytest.importorskip("credentials.jsonld")
    status_list = sl.StatusList(url=URL, purpose="suspension")
    jsonld.expand_checked(status_list.credential(issuer="did:key:z6MkTest"))
    entry_holder = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:key:z6MkTest",
        "credentialSubject": {"id": "did:example:1"},
        "credentialStatus": status_list.entry(status_list.allocate()),
    }
    expanded = jsonld.expand_checked(entry_holder)
    status = expanded[0]["https://www.w3.org/2018/credentials#credentialStatus"][0]
    assert len(status) == 5  # @id, @type and the three status properties


# --- check_status ----------------------------------------------------------------------------------


def published(status_list: sl.StatusList, **overrides: Any) -> dict[str, Any]:
    return {**fake_signer(status_list.credential(issuer="did:key:z6MkTest")), **overrides}


def test_check_status_ok_revoked_suspended() -> None:
    revocations = sl.StatusList(url=URL, purpose="revocation")
    suspensions = sl.StatusList(url=URL + "/s", purpose="suspension")
    lists = {URL: revocations, URL + "/s": suspensions}

    def fetch(url: str) -> dict[str, Any]:
        return published(lists[url])

    r_entry = revocations.entry(revocations.allocate())
    s_entry = suspensions.entry(suspensions.allocate())
    assert sl.check_status(r_entry, fetch=fetch) == "ok"
    sl.revoke(revocations, int(r_entry["statusListIndex"]), reason="x")
    sl.suspend(suspensions, int(s_entry["statusListIndex"]), reason="y")
    assert sl.check_status(r_entry, fetch=fetch) == "revoked"
    assert sl.check_status(s_entry, fetch=fetch) == "suspended"
    credential = {"credentialStatus": [r_entry, s_entry]}
    assert sl.check_credential_status(credential, fetch=fetch) == "revoked"
    assert sl.check_credential_status({}, fetch=fetch) == "ok"


def test_check_status_against_the_w3c_example_list() -> None:
    w3c = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://example.com/credentials/status/3",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:example:12345",
        "validFrom": "2021-04-05T14:27:40Z",
        "credentialSubject": {
            "id": "https://example.com/status/3#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": W3C_EMPTY_LIST,
        },
    }
    entry = sl.build_entry(list_url=w3c["id"], index=94567, purpose="revocation")
    assert sl.check_status(entry, fetch=lambda _url: w3c) == "ok"


def test_check_status_unknown_reasons() -> None:
    status_list = sl.StatusList(url=URL, purpose="revocation")
    entry = status_list.entry(status_list.allocate())

    def failing(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    cases: list[tuple[dict[str, Any], Any, str]] = [
        (entry, failing, "could not fetch"),
        (entry, lambda u: None, "not found"),
        (entry, lambda u: published(status_list, type=["VerifiableCredential"]), "not a"),
        ({**entry, "statusListIndex": "999999"}, lambda u: published(status_list), "out of range"),
        ({**entry, "statusListIndex": 5}, lambda u: published(status_list), "decimal string"),
        ({**entry, "statusPurpose": "suspension"}, lambda u: published(status_list), "mismatch"),
        ({**entry, "type": "StatusList2021Entry"}, lambda u: published(status_list), "type"),
        (
            entry,
            lambda u: published(
                status_list,
                credentialSubject={
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": "uAAAA",
                },
            ),
            "GZIP",
        ),
        (
            entry,
            lambda u: published(status_list, validUntil=(datetime.now(UTC) - timedelta(days=1)).isoformat()),
            "expired",
        ),
    ]
    for case_entry, fetch, why in cases:
        result = sl.check_status(case_entry, fetch=fetch)
        assert result.startswith("unknown: "), (why, result)
        assert why in result, (why, result)


def test_short_published_list_is_unknown() -> None:
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).rstrip(b"=").decode()
    status_list = sl.StatusList(url=URL, purpose="revocation")
    entry = status_list.entry(status_list.allocate())
    doc = published(status_list)
    doc["credentialSubject"] = {**doc["credentialSubject"], "encodedList": short}
    result = sl.check_status({**entry, "statusListIndex": "3"}, fetch=lambda u: doc)
    assert result.startswith("unknown:") and "fewer than 131072" in result
