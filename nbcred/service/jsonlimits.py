"""How deeply a JSON text nests, measured without parsing it (Python's parser recurses per level)."""

from __future__ import annotations

import re

import numpy as np

from nbcred.service.errors import BadRequest

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STEP = np.zeros(256, dtype=np.int32)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def depth(text: bytes | str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (strings skipped); linear time."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    outside = _STRING.sub(b"", data)
    opening = outside.count(b"[") + outside.count(b"{")
    if opening <= 1:
        return opening
    levels = np.cumsum(_STEP[np.frombuffer(outside, dtype=np.uint8)], dtype=np.int32)
    return max(0, int(levels.max()))


def check_depth(text: bytes | str, limit: int) -> None:
    """A clear 400 when ``text`` nests deeper than ``limit``."""
    found = depth(text)
    if found > limit:
        raise BadRequest(f"the JSON is nested {found} levels deep, more than the {limit} allowed")
