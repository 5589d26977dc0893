"""What of a notebook is hidden from learners, and whether a text would reveal it.

Hidden lines are nbgrader's: everything from a line containing ``BEGIN HIDDEN TESTS`` to the
line containing ``END HIDDEN TESTS``, markers included (the rule of nbgrader's
``ClearHiddenTests``, which makes the released notebook). :class:`HiddenContent` gathers, for one
source notebook, the hidden lines and the *hidden-only* literals and names — numbers, strings and
identifiers of hidden tests that appear nowhere in the released notebook — so that a message
produced at run time can be checked before a learner sees it.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

BEGIN = ClearHiddenTests.begin_test_delimeter.default_value
END = ClearHiddenTests.end_test_delimeter.default_value
MARKERS = re.compile(r"(BEGIN|END)\s+HIDDEN\s+TESTS", re.IGNORECASE)

_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")
_STRING = re.compile(r"[rRbBfFuU]{0,2}(\"\"\"|'''|\"|')((?:\\.|(?!\1).)*?)\1", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_]\w*")
_COMMON = set(dir(builtins)) | set(keyword.kwlist) | {"self", "cls", "assert", "np", "pd", "plt"}
MIN_LINE = 6  # hidden lines shorter than this (``pass``, ``)``) are checked through their tokens
MIN_DISTINCT = 3  # a literal this long is distinctive enough to be checked in every message
MIN_NAME = 4


def hidden_lines(source: str, markers: tuple[str, str] = (BEGIN, END)) -> set[int]:
    """1-based numbers of the lines of ``source`` inside a hidden-test region (markers included).

    ``markers`` are the (begin, end) delimiters: nbgrader's defaults, or a course's
    ``ClearHiddenTests.begin_test_delimeter`` / ``end_test_delimeter``.
    """
    begin, end = markers
    hidden: set[int] = set()
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
    return hidden


def released_line(source: str, number: int, markers: tuple[str, str] = (BEGIN, END)) -> int:
    """The number, in the released cell, of visible line ``number`` of ``source``."""
    return number - sum(1 for n in hidden_lines(source, markers) if n < number)


@dataclass(frozen=True)
class HiddenContent:
    """The hidden lines of one notebook and the tokens that occur only in them."""

    lines: frozenset[str]
    tokens: frozenset[str]  # hidden-only literals (string contents, numbers) and names
    markers: tuple[str, str] = (BEGIN, END)

    @classmethod
    def of(
        cls, reference: NotebookNode, release: NotebookNode, *, markers: tuple[str, str] = (BEGIN, END)
    ) -> HiddenContent:
        """Gather the hidden content of ``reference`` (which keeps the hidden tests)."""
        hidden: list[str] = []
        for cell in reference.cells:
            lines = cell.source.split("\n")
            hidden += [lines[n - 1] for n in sorted(hidden_lines(cell.source, markers))]
        visible = "\n".join(cell.source for cell in release.cells)
        code = [line for line in hidden if not _is_marker(line, markers)]
        candidates = {t for line in code for t in _tokens(line)}
        shown = _alternation(candidates)
        seen = set(shown.findall(visible)) if shown is not None else set()
        tokens = candidates - seen
        stripped = {squash(line) for line in code}
        return cls(lines=frozenset(s for s in stripped if len(s) >= MIN_LINE),
                   tokens=frozenset(tokens), markers=markers)

    def lines_of(self, source: str) -> set[int]:
        """The hidden line numbers of one cell's source (this notebook's delimiters)."""
        return hidden_lines(source, self.markers)

    def released_line(self, source: str, number: int) -> int:
        """Line ``number`` of ``source`` as numbered in the released cell."""
        return released_line(source, number, self.markers)

    def has_marker(self, text: str) -> bool:
        """Whether ``text`` holds a hidden-test delimiter."""
        return _is_marker(text, self.markers)

    @cached_property
    def _distinct(self) -> re.Pattern[str] | None:
        return _alternation(t for t in self.tokens if len(t) >= MIN_DISTINCT)

    @cached_property
    def _every(self) -> re.Pattern[str] | None:
        return _alternation(self.tokens)

    def reveals(self, text: str, *, strict: bool = False) -> bool:
        """Whether ``text`` quotes a hidden line, a hidden-test marker or a hidden-only token.

        By default only distinctive tokens count (at least three characters: a value such as
        ``48151623`` or ``'secret'``); ``strict`` also counts short ones (``3``), for messages
        that ran under a hidden test and could echo the values it passed.
        """
        if not text:
            return False
        if self.has_marker(text):
            return True
        squashed = squash(text)
        if any(line in squashed for line in self.lines):
            return True
        pattern = self._every if strict else self._distinct
        return pattern is not None and pattern.search(text) is not None


def _is_marker(text: str, markers: tuple[str, str]) -> bool:
    folded = text.casefold()
    return MARKERS.search(text) is not None or any(m.casefold() in folded for m in markers if m)


def _tokens(text: str) -> list[str]:
    found: list[str] = []
    for match in _STRING.finditer(text):
        # an f-string's constant parts, split at its replacement fields
        found += [part.strip() for part in re.split(r"\{[^}]*\}", match.group(2)) if part.strip()]
    without_strings = _STRING.sub(" ", text)
    for match in _NUMBER.finditer(without_strings):
        number = match.group(0).replace("_", "")
        found.append(number)
        try:
            value = float(number)
        except ValueError:
            continue
        found.append(repr(int(value)) if value.is_integer() and "." not in number else repr(value))
    found += [name for name in _NAME.findall(_NUMBER.sub(" ", without_strings))
              if len(name) >= MIN_NAME and name not in _COMMON]
    return found


def _alternation(tokens: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted(set(tokens), key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(w) for w in words) + r")(?![\w])")


def squash(text: str) -> str:
    """``text`` without whitespace, to compare lines however they were indented or spaced."""
    return re.sub(r"\s+", "", text)
