"""What a learner wrote, normalised and fingerprinted (token k-grams, winnowed).

Only the code of **solution cells** counts, and in them only the lines the learner added to the
released starter code (``# YOUR CODE HERE``, given function headers and calls are dropped), so the
assessment's own code never makes two learners look alike. Tokens are normalised so that renaming,
comments, blank lines, layout and string/number literals do not hide a copy:

* identifiers become ``V`` — except attribute names (``.dropna``), keyword-argument names
  (``subset=``) and keywords, which say *what* the code does and are kept;
* strings become ``S``, numbers ``N``; comments, newlines and indentation are dropped.

Fingerprints are hashes of k consecutive normalised tokens, winnowed (the minimum hash of every
window of w k-grams), so a shared run of at least ``k + w - 1`` tokens is always found. Hashing
per cell makes the result independent of the order of cells and, within a cell, of the order of
functions except at their boundaries.
"""

from __future__ import annotations

import difflib
import json
import keyword
import re
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

K = 12
WINDOW = 6


@dataclass(frozen=True)
class Token:
    """One normalised token and the cell line it came from (1-based)."""

    text: str
    line: int


@dataclass(frozen=True)
class Region:
    """The code a learner wrote in one solution cell."""

    notebook: str
    cell: str
    source: str  # the whole submitted cell
    lines: frozenset[int]  # 1-based lines the learner wrote (not in the starter code)


@dataclass
class Document:
    """One submission's fingerprints: hash -> (region index, first line, last line)."""

    learner: str
    regions: list[Region]
    fingerprints: dict[int, tuple[int, int, int]]
    tokens: int


def learner_regions(nb: dict[str, object], starter: dict[str, str], notebook: str) -> list[Region]:
    """The learner-written lines of every solution cell of a submitted notebook (as JSON)."""
    regions = []
    cells = nb.get("cells", [])
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if not meta.get("solution") or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        given = starter.get(str(meta.get("grade_id", "")), "")
        written = _added_lines(given, source)
        if written:
            regions.append(Region(notebook, str(meta.get("grade_id", "")), source, written))
    return regions


def _added_lines(given: str, source: str) -> frozenset[int]:
    old = [line.strip() for line in given.splitlines()]
    new = [line.strip() for line in source.splitlines()]
    added: set[int] = set()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            added.update(j + 1 for j in range(j1, j2) if new[j] and not new[j].startswith("#"))
    return frozenset(added)


_TOKEN = re.compile(r"""
 (?P<comment>\#[^\n]*)
|(?P<string>[rRbBuUfF]{0,2}(?:\'\'\'[\s\S]*?\'\'\'|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
|(?P<number>\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?[jJ]?|\.\d+(?:[eE][+-]?\d+)?[jJ]?)
|(?P<name>[^\W\d]\w*)
|(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@=!<>]=|[-+*/%&|^~@<>=.,:;()\[\]{}])
|(?P<newline>\n)
""", re.VERBOSE)
_KEYWORDS = frozenset(keyword.kwlist)


def normalise(source: str) -> list[Token]:
    """Normalised tokens of ``source``, each with its line (a regex tokenizer: fast, forgiving)."""
    raw: list[tuple[str, str, int]] = []
    line = 1
    for match in _TOKEN.finditer(source):
        kind, text = match.lastgroup or "", match.group()
        if kind == "newline":
            line += 1
            continue
        if kind != "comment":
            raw.append((kind, text, line))
        if kind == "string":
            line += text.count("\n")
    tokens: list[Token] = []
    depth = 0
    last = len(raw) - 1
    for i, (kind, text, number) in enumerate(raw):
        if kind == "op":
            depth += text in "([{"
            depth -= text in ")]}"
        elif kind == "name" and text not in _KEYWORDS:
            keep = (i and raw[i - 1][1] == ".") or (depth > 0 and i < last and raw[i + 1][1] == "=")
            text = text if keep else "V"
        elif kind == "string":
            text = "S"
        elif kind == "number":
            text = "N"
        tokens.append(Token(text, number))
    return tokens


@cache
def _token_id(text: str) -> int:
    return zlib.crc32(text.encode())


def winnow(tokens: list[Token], *, k: int = K, window: int = WINDOW) -> dict[int, tuple[int, int]]:
    """Winnowed fingerprints of a token sequence: hash -> (first line, last line) it covers.

    A k-gram's hash is Python's hash of a tuple of CRC-32 token ids: fast, and the same in every
    process (integers are not salted by ``PYTHONHASHSEED``).
    """
    if len(tokens) < k:
        return {}
    ids = [_token_id(t.text) for t in tokens]
    grams = [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]
    chosen: dict[int, tuple[int, int]] = {}
    for start in range(max(1, len(grams) - window + 1)):
        part = grams[start:start + window]
        best = min(part)
        pos = start + len(part) - 1 - part[::-1].index(best)  # the rightmost minimum
        chosen.setdefault(best, (tokens[pos].line, tokens[pos + k - 1].line))
    return chosen


def fingerprint(learner: str, regions: list[Region], *, k: int = K, window: int = WINDOW) -> Document:
    """A submission's document: the winnowed fingerprints of every learner-written region."""
    prints: dict[int, tuple[int, int, int]] = {}
    count = 0
    for index, region in enumerate(regions):
        tokens = [t for t in normalise(region.source) if t.line in region.lines]
        count += len(tokens)
        for value, (first, last) in winnow(tokens, k=k, window=window).items():
            prints.setdefault(value, (index, first, last))
    return Document(learner, regions, prints, count)


def read_notebook(path: Path) -> dict[str, object] | None:
    """A notebook's JSON, or None when it cannot be read (such submissions are skipped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
