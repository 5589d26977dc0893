"""Reading a baked badge is bounded (V5): a PNG whose iTXt chunk inflates to 300 MiB, and SVGs
too deep or with too many elements, are refused quickly with a clear error and little memory."""

from __future__ import annotations

import functools
import struct
import time
import tracemalloc
import zlib

import pytest

from credentials.baking import PNG_KEYWORD, PNG_SIGNATURE, unbake
from credentials.did import Resolver
from credentials.errors import BakingError
from credentials.verify import verify_bytes


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


@functools.cache
def png_bomb(inflated: int = 300 * 1024 * 1024) -> bytes:
    """A 1x1 PNG with a compressed ``openbadgecredential`` iTXt chunk that inflates to ``inflated``
    bytes of JSON-looking text (compressed a MiB at a time: the test never holds it inflated)."""
    packer = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    parts = [packer.compress(b"{")]
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.compress(b"}") + packer.flush())
    itxt = PNG_KEYWORD + b"\x00" + b"\x01\x00" + b"\x00" + b"\x00" + b"".join(parts)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"iTXt", itxt)
            + _chunk(b"IEND", b""))


def _peak_while(function: object, *args: object) -> tuple[float, int, object]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        outcome: object = function(*args)  # type: ignore[operator]
    except Exception as error:  # the outcome is compared by the caller
        outcome = error
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, outcome


def test_the_png_bomb_is_small() -> None:
    assert len(png_bomb()) < 300 * 1024  # 299 KiB, as reported


def test_a_png_bomb_is_refused_quickly_with_little_memory() -> None:
    elapsed, peak, outcome = _peak_while(unbake, png_bomb())
    assert isinstance(outcome, BakingError), outcome
    assert "larger than" in str(outcome)
    assert peak < 32 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    assert elapsed < 5


def test_verifying_a_png_bomb_says_why() -> None:
    result = verify_bytes(png_bomb(), resolver=Resolver())
    assert not result.verified and "larger than" in result.proof


def test_a_compressed_itxt_within_the_limit_still_reads() -> None:
    assert unbake(png_bomb(1024 * 1024)) == {}  # 1 MiB of "{   }" inflates and parses


@pytest.mark.parametrize("svg, words", [
    (b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<g>" * 5000 + b"</g>" * 5000 + b"</svg>",
     "nested"),
    (b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<g/>" * 200_001 + b"</svg>", "elements"),
])
def test_svgs_too_deep_or_too_large_are_refused(svg: bytes, words: str) -> None:
    elapsed, _peak, outcome = _peak_while(unbake, svg)
    assert isinstance(outcome, BakingError) and words in str(outcome), outcome
    assert elapsed < 5
