"""The bitstring of a W3C Bitstring Status List: bit order, multi-bit entries, encoding.

Index 0 is the most significant bit of the first byte. An entry of ``size`` bits at index ``i``
occupies bits ``i * size`` to ``i * size + size - 1``, most significant bit first, as the
specification's validation algorithm reads it. The published form (``encodedList``) is the
GZIP-compressed bitstring, base64url-encoded without padding and prefixed with the multibase
code ``u``.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from credentials.errors import StatusListError

MIN_ENTRIES = 131_072
"""The smallest bitstring the specification allows (16 KiB), which gives group privacy."""

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Refuse to inflate a published list beyond this size (protects against GZIP bombs)."""


def new_bitstring(length: int = MIN_ENTRIES) -> bytearray:
    """Return an all-zero bitstring of ``length`` bits (a multiple of 8, at least 131,072)."""
    if length < MIN_ENTRIES or length % 8:
        raise StatusListError(
            f"a status list needs at least {MIN_ENTRIES} entries and a multiple of 8; "
            f"got {length}: pass length={MIN_ENTRIES} or a larger multiple of 8"
        )
    return bytearray(length // 8)


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Return the bit at ``index`` (index 0 is the most significant bit of byte 0)."""
    _check_index(bits, index)
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def set_bit(bits: bytearray, index: int, value: bool) -> None:
    """Set or clear the bit at ``index`` in place (MSB-first bit order)."""
    _check_index(bits, index)
    mask = 0x80 >> (index & 7)
    if value:
        bits[index >> 3] |= mask
    else:
        bits[index >> 3] &= ~mask & 0xFF


def get_value(bits: bytes | bytearray, index: int, size: int) -> int:
    """Return the ``size``-bit entry at entry ``index`` (bits ``index*size`` onwards, MSB first)."""
    value = 0
    for position in range(index * size, index * size + size):
        value = (value << 1) | int(get_bit(bits, position))
    return value


def set_value(bits: bytearray, index: int, size: int, value: int) -> None:
    """Write ``value`` into the ``size``-bit entry at entry ``index``."""
    if not 0 <= value < (1 << size):
        raise StatusListError(f"status value {value} does not fit in {size} bit(s)")
    start = index * size
    _check_index(bits, start + size - 1)
    for offset in range(size):
        set_bit(bits, start + offset, bool(value >> (size - 1 - offset) & 1))


def count_set(bits: bytes | bytearray) -> int:
    """Number of bits set (e.g. indexes handed out in an allocation bitmap)."""
    return int.from_bytes(bits, "big").bit_count()


def _check_index(bits: bytes | bytearray, index: int) -> None:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(
            f"status list index {index} is outside the list (0..{len(bits) * 8 - 1}); "
            "use an index returned by StatusList.allocate()"
        )


def encode_bitstring(bits: bytes | bytearray) -> str:
    """Return the ``encodedList`` form: multibase base64url (no padding) of the GZIP'd bits."""
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListError(
            f"refusing to encode {len(bits) * 8} entries: the minimum is {MIN_ENTRIES}"
        )
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    gz = compressor.compress(bytes(bits)) + compressor.flush()
    return "u" + base64.urlsafe_b64encode(gz).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def decode_bitstring(encoded: str) -> bytes:
    """Decode an ``encodedList`` back to the raw bitstring; errors say what is wrong."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be a multibase base64url string starting with 'u'")
    body = encoded[1:]
    if not _B64URL.match(body) or len(body) % 4 == 1:
        raise StatusListError("encodedList is not valid base64url (no padding) after the 'u'")
    try:
        gz = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"encodedList is not valid base64url: {exc}") from exc
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(gz, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
    if len(raw) > MAX_DECODED_BYTES:
        raise StatusListError(f"encodedList inflates beyond {MAX_DECODED_BYTES} bytes; refusing")
    if not inflater.eof:
        raise StatusListError("encodedList GZIP stream is truncated")
    return raw
