"""Explain why a test cell failed, in terms a learner can act on, never revealing hidden tests.

A failed test cell's error output carries IPython's traceback, whose frames name the notebook
cells they ran in (``Cell In[7], line 3``). :func:`explain` maps the innermost such frame onto
the executed notebook and decides what the learner may see:

* a visible line of a test (or of other read-only code): that line, numbered as in the released
  notebook, and the error message;
* a line of the learner's own code (also when a hidden test called it): that line and the
  message;
* a line inside a hidden-test region: only that a hidden check failed, and the error's name.

Every message passes :meth:`grader.hidden.HiddenContent.reveals` before it is shown; one that
quotes a hidden line, a marker or a hidden-only value is withheld. A traceback is data the
learner's code can influence, so whatever it claims, the only lines ever printed are visible
lines of the released notebook and the learner's own lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode
from nbgrader import utils as nbutils

from grader.hidden import HiddenContent, squash
from grader.restore import by_grade_id

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SECTION = re.compile(r"Traceback \(most recent call last\)")
_CELL_FRAME = re.compile(r"\s*Cell\s+In\s*\[(\d+)\],\s*line\s+(\d+)")
_FILE_FRAME = re.compile(r"\s*File\s")
MAX_MESSAGE = 500
MAX_LINE = 300
TIMEOUT = "CellTimeoutError"

VISIBLE, LEARNER, HIDDEN, UNKNOWN = "visible", "learner", "hidden", "unknown"


@dataclass(frozen=True)
class Explanation:
    """Where a test failed and what the learner may be told about it."""

    origin: str  # "visible" | "learner" | "hidden" | "unknown"
    location: str  # e.g. "test_squares, line 2" or "your cell squares, line 3"; "" when hidden
    line: str  # the failing line's text ("" when hidden or unknown)
    message: str


@dataclass(frozen=True)
class _Frame:
    count: int | None  # the cell's execution count; None for a library file
    line: int


def explain(
    cell: NotebookNode,
    executed: NotebookNode,
    reference: NotebookNode,
    hidden: HiddenContent,
) -> Explanation | None:
    """Explain the last error output of ``cell`` (a test cell of ``executed``); None if it has none."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return None
    error = errors[-1]
    ename = _clean(str(error.get("ename", "")), 100) or "Error"
    evalue = _clean(str(error.get("evalue", "")), MAX_MESSAGE)
    if ename == TIMEOUT:
        return Explanation(UNKNOWN, "", "", "The test did not finish within the time limit "
                           "(look for an endless loop or very slow code).")
    message = f"{ename}: {evalue}" if evalue else ename
    cells = {c.get("execution_count"): c for c in executed.cells
             if c.cell_type == "code" and c.get("execution_count") is not None}
    locked = {gid: ref for gid, (_, ref) in by_grade_id(reference).items() if nbutils.is_locked(ref)}
    frames = [_place(f, cells, locked, hidden) for f in _frames(error.get("traceback", []))]
    placed = [p for p in frames if p is not None]
    if not placed:
        return _unplaced(cell, ename, message, hidden)
    origin, location, line = _safe_line(placed[-1], hidden)
    if origin == HIDDEN:
        return Explanation(HIDDEN, "", "", f"A hidden check failed ({ename}).")
    under_hidden = any(p[0] == HIDDEN for p in placed[:-1])
    if hidden.reveals(message, strict=under_hidden):
        message = f"{ename} (the message is withheld: it quotes part of a hidden check)"
    if under_hidden:
        message += " — raised while a hidden check was running your code"
    return Explanation(origin, location, line, message)


def explain_stderr(cell: NotebookNode, hidden: HiddenContent, cell_has_hidden: bool) -> str:
    """The tail of what a test cell wrote to stderr (a failure in nbgrader), if safe to show."""
    text = "".join(str(o.get("text", "")) for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")
    text = _clean(text[-MAX_MESSAGE:], MAX_MESSAGE)
    if not text:
        return ""
    if hidden.reveals(text, strict=cell_has_hidden):
        return ("The test wrote to stderr (a warning or an error message), which counts as a "
                "failure; the text is withheld because it quotes part of a hidden check.")
    return text


def _unplaced(cell: NotebookNode, ename: str, message: str, hidden: HiddenContent) -> Explanation:
    if hidden.lines_of(cell.source):
        return Explanation(UNKNOWN, "", "", f"A test did not pass ({ename}); it may be a hidden "
                           "check, so no more is shown.")
    if hidden.reveals(message):
        message = f"{ename} (the message is withheld: it quotes part of a hidden check)"
    return Explanation(UNKNOWN, "", "", message)


def _frames(traceback: list[str]) -> list[_Frame]:
    """The frames of the last exception in an IPython traceback (a chain prints several)."""
    frames: list[_Frame] = []
    for entry in traceback:
        text = ANSI.sub("", str(entry))
        if _SECTION.search(text.split("\n", 1)[0]):
            frames = []
            continue
        match = _CELL_FRAME.match(text)
        if match:
            frames.append(_Frame(int(match.group(1)), int(match.group(2))))
        elif _FILE_FRAME.match(text):
            frames.append(_Frame(None, 0))
    return frames


def _place(
    frame: _Frame, cells: dict[int, NotebookNode], locked: dict[str, NotebookNode],
    hidden: HiddenContent,
) -> tuple[str, str, str] | None:
    """(origin, location, line text) of a frame in a notebook cell; None for library frames."""
    cell = cells.get(frame.count) if frame.count is not None else None
    if cell is None:
        return None
    if "injected-parameters" in cell.metadata.get("tags", []):
        return UNKNOWN, "", ""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    given = locked.get(grade_id) if grade_id else None
    if given is not None:  # a locked cell: its text is the source's, hidden tests included
        lines = given.source.split("\n")
        if frame.line in hidden.lines_of(given.source):
            return HIDDEN, "", ""
        if not 1 <= frame.line <= len(lines):
            return UNKNOWN, "", ""
        number = hidden.released_line(given.source, frame.line)
        return VISIBLE, f"{grade_id}, line {number}", _clean(lines[frame.line - 1], MAX_LINE)
    lines = cell.source.split("\n")
    if not 1 <= frame.line <= len(lines):
        return UNKNOWN, "", ""
    name = grade_id or _first_line(cell.source)
    return LEARNER, f"your cell {name}, line {frame.line}", _clean(lines[frame.line - 1], MAX_LINE)


def _safe_line(placed: tuple[str, str, str], hidden: HiddenContent) -> tuple[str, str, str]:
    """A learner's line is theirs to see, unless it carries a hidden line or marker verbatim."""
    origin, location, line = placed
    if origin == LEARNER and (hidden.has_marker(line) or squash(line) in hidden.lines):
        return origin, location, ""
    return placed


def _first_line(source: str) -> str:
    first = next((line.strip() for line in source.split("\n") if line.strip()), "")
    return repr(first if len(first) <= 40 else first[:37] + "...")


def _clean(text: str, limit: int) -> str:
    text = ANSI.sub("", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
