"""One credentialStatus for revocation and suspension: 2-bit message lists, read two ways."""

from __future__ import annotations

from typing import Any

import pytest

from credentials import statuslist as sl
from credentials.errors import StatusListError, StatusListFullError

URL = "https://issuer.example/status/message/1"


def published(status_list: sl.StatusList) -> dict[str, Any]:
    return status_list.credential(issuer="did:example:issuer")


def nbcred_reads(status_list: sl.StatusList, entry: dict[str, Any]) -> str:
    return sl.check_status(entry, fetch=lambda url: published(status_list))


def one_bit_reader(status_list: sl.StatusList, entry: dict[str, Any]) -> bool:
    """What a verifier that ignores statusSize sees: the bit at statusListIndex."""
    bits = sl.decode_bitstring(published(status_list)["credentialSubject"]["encodedList"])
    return sl.get_bit(bits, int(entry["statusListIndex"]))


def spec_reader(status_list: sl.StatusList, entry: dict[str, Any]) -> str:
    """The specification's algorithm, written out independently: value at index * size."""
    bits = sl.decode_bitstring(published(status_list)["credentialSubject"]["encodedList"])
    size, index = entry["statusSize"], int(entry["statusListIndex"])
    value = 0
    for position in range(index * size, index * size + size):
        value = value << 1 | (bits[position // 8] >> (7 - position % 8)) & 1
    messages = {int(m["status"], 16): m["message"] for m in entry["statusMessage"]}
    return messages[value]


def test_message_entry_shape() -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    index = status_list.allocate()
    entry = status_list.entry(index)
    assert entry == {
        "id": f"{URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "message",
        "statusListIndex": str(index),
        "statusListCredential": URL,
        "statusSize": 2,
        "statusMessage": [
            {"status": "0x0", "message": "valid"},
            {"status": "0x1", "message": "suspended"},
            {"status": "0x2", "message": "revoked"},
            {"status": "0x3", "message": "revoked"},
        ],
    }
    assert published(status_list)["credentialSubject"]["statusPurpose"] == "message"
    assert len(status_list.bits) * 8 == 2 * sl.MESSAGE_LIST_ENTRIES
    assert status_list.length // 2 <= index < status_list.length


def test_every_reader_agrees_through_the_life_of_a_credential() -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    entries = [status_list.entry(status_list.allocate()) for _ in range(3)]
    mine, neighbour, other = entries

    def states() -> list[tuple[str, str, bool]]:
        return [(nbcred_reads(status_list, e), spec_reader(status_list, e),
                 one_bit_reader(status_list, e)) for e in entries]

    assert states() == [("ok", "valid", False)] * 3
    sl.suspend(status_list, int(mine["statusListIndex"]), reason="appeal pending")
    assert states()[0] == ("suspended", "suspended", True)
    assert states()[1:] == [("ok", "valid", False)] * 2
    sl.unsuspend(status_list, int(mine["statusListIndex"]), reason="appeal rejected")
    assert states()[0] == ("ok", "valid", False)
    sl.revoke(status_list, int(neighbour["statusListIndex"]), reason="plagiarism")
    sl.suspend(status_list, int(other["statusListIndex"]), reason="check")
    sl.revoke(status_list, int(other["statusListIndex"]), reason="confirmed")
    assert states() == [("ok", "valid", False), ("revoked", "revoked", True),
                        ("revoked", "revoked", True)]
    sl.unsuspend(status_list, int(other["statusListIndex"]), reason="irrelevant")
    assert states()[2] == ("revoked", "revoked", True)  # revocation is permanent


def test_allocation_uses_the_upper_half_and_reports_full() -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    assert status_list.capacity == sl.MESSAGE_LIST_ENTRIES // 2
    for index in range(status_list.first_index, status_list.length - 1):
        status_list.reserve(index)
    last = status_list.allocate()
    assert last == status_list.length - 1 and status_list.used == status_list.capacity
    with pytest.raises(StatusListFullError, match="open a new list"):
        status_list.allocate()


def test_saved_message_list_round_trips() -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    index = status_list.allocate()
    sl.revoke(status_list, index, reason="r")
    again = sl.StatusList.from_dict(status_list.to_dict())
    assert again.is_revoked(index) and again.used == 1 and again.value(index) == 2


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"statusSize": 0}, "statusSize"),
        ({"statusSize": 2, "statusMessage": None}, "statusMessage"),
        ({"statusMessage": [{"status": "one", "message": "x"}]}, "hex status"),
        ({"statusPurpose": "refresh"}, "unsupported statusPurpose"),
    ],
)
def test_malformed_entries_are_unknown(change: dict[str, Any], why: str) -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    entry = {**status_list.entry(status_list.allocate()), **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    result = nbcred_reads(status_list, entry)
    assert result.startswith("unknown:") and why in result


def test_unknown_messages_are_reported_with_their_text() -> None:
    status_list = sl.StatusList(url=URL, purpose="message")
    index = status_list.allocate()
    sl.suspend(status_list, index, reason="r")
    entry = status_list.entry(index)
    entry["statusMessage"] = [{"status": "0x0", "message": "valid"},
                              {"status": "0x1", "message": "pending review"}]
    assert nbcred_reads(status_list, entry) == "unknown: status message 'pending review'"


def test_single_purpose_lists_refuse_the_other_purpose() -> None:
    revocations = sl.StatusList(url="https://issuer.example/status/revocation/1", purpose="revocation")
    index = revocations.allocate()
    with pytest.raises(StatusListError, match="use the suspension list or a message list"):
        sl.suspend(revocations, index, reason="r")
