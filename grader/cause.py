"""Name what really went wrong first: a limit, a dead kernel, or an earlier cell that failed.

A notebook stopped by its time limit shows ``KeyboardInterrupt`` in the interrupted cell and
``NameError`` in every test that needed what that cell would have defined; one early ``KeyError``
surfaces as a cascade of failures. This module finds the first cause from what every runner
leaves behind — the executed notebook and its :class:`~grader.execute.RunOutcome` (replies,
``limit``, ``died``) — never from a kernel's internals, so the feedback can say "your notebook
ran past the 30 s time limit in cell `load`" and point later failures at it.

Only cells that are not tests are causes of other cells' failures (a failing test does not break
the next one); a test cell that itself ran past the time limit is named as such.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from nbformat import NotebookNode

from grader.hidden import HiddenContent
from grader.spec import ExecutionLimits

#: Errors that mean "something an earlier cell should have made does not exist".
CASCADE = frozenset({"NameError", "UnboundLocalError"})
MAX_MESSAGE = 200


@dataclass(frozen=True)
class Cause:
    """The first thing that went wrong, at the cell it happened in."""

    index: int  # the cell's index in the executed notebook
    cell: str  # how the learner knows the cell: its grade id, or its first line
    kind: str  # "cell_timeout" | "notebook_timeout" | "memory_mb" | "cpu_seconds" | "died" | "error"
    what: str  # "ran past the 30 s time limit", "raised KeyError: 'orderid'"

    @property
    def stopped(self) -> bool:
        """Whether the run ended in this cell (nothing after it ran)."""
        return self.kind not in ("cell_timeout", "error")

    def sentence(self) -> str:
        """A learner-facing sentence: "Your notebook ran past the 30 s time limit in cell `load`."."""
        tail = "; the cells after it did not run" if self.stopped else ""
        subject = "Your notebook" if self.kind != "error" else f"Cell `{self.cell}`"
        where = f" in cell `{self.cell}`" if self.kind != "error" else ""
        return f"{subject} {self.what}{where}{tail}."

    def because(self) -> str:
        """Why a later test failed or did not run, pointing at this cell."""
        if self.kind == "error":
            return f"This test failed because cell `{self.cell}` {self.what} earlier; fix that first."
        if self.stopped:
            return (f"Not run: your notebook {self.what} in cell `{self.cell}` and stopped there; "
                    "fix that first.")
        return (f"This test failed because your notebook {self.what} in cell `{self.cell}` earlier; "
                "fix that first.")

    def maybe(self) -> str:
        """A hint for a later failure this cause may explain."""
        return f"An earlier cell, `{self.cell}`, {self.what}; fix that first: it may be why this test failed."


def limit_words(limit: str, limits: ExecutionLimits) -> str:
    """The verb phrase for a limit: "ran past the 30 s time limit"."""
    return {
        "cell_timeout": f"ran past the {limits.cell_timeout:g} s time limit",
        "notebook_timeout": f"ran past its {limits.notebook_timeout:g} s overall time limit",
        "memory_mb": f"ran out of memory (the limit is {limits.memory_mb} MB)",
        "cpu_seconds": f"used up its {limits.cpu_seconds} s of CPU time",
        "died": "crashed the kernel (or exited)",
    }[limit]


def cell_label(cell: NotebookNode) -> str:
    """A cell's grade id, else its first non-empty line (shortened)."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return str(grade_id)
    first = next((line.strip() for line in str(cell.source).split("\n") if line.strip()), "")
    return first if len(first) <= 40 else first[:37] + "..."


def is_test(cell: NotebookNode) -> bool:
    """An autograded test cell (graded code that is not a solution)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def run_stop(
    executed: NotebookNode, replies: dict[int, str], *, limit: str | None, died: bool,
    limits: ExecutionLimits,
) -> Cause | None:
    """Where a run that ended early ended: the first code cell without a reply, with the limit."""
    kind = limit or ("died" if died else None)
    if kind is None:
        return None
    for index, cell in enumerate(executed.cells):
        if cell.cell_type == "code" and index not in replies and str(cell.source).strip():
            return Cause(index, cell_label(cell), kind, limit_words(kind, limits))
    return None


def timed_out(index: int, cell: NotebookNode, limits: ExecutionLimits) -> Cause:
    """A cell interrupted at the per-cell time limit."""
    return Cause(index, cell_label(cell), "cell_timeout", limit_words("cell_timeout", limits))


def first_failure(
    executed: NotebookNode, replies: dict[int, str], hidden: HiddenContent, limits: ExecutionLimits,
) -> Cause | None:
    """The first cell that is not a test and raised an error or ran past the time limit."""
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code" or is_test(cell):
            continue
        reply = replies.get(index)
        if reply == "timeout":
            return timed_out(index, cell, limits)
        if reply == "error":
            return Cause(index, cell_label(cell), "error", _raised(cell, hidden))
    return None


def error_name(cell: NotebookNode) -> str:
    """The name of the last error a cell's outputs show ("" when none)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return str(errors[-1].get("ename", "")) if errors else ""


def _raised(cell: NotebookNode, hidden: HiddenContent) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "failed"
    ename = str(errors[-1].get("ename", "")) or "an error"
    evalue = str(errors[-1].get("evalue", "")).strip().replace("\n", " ")
    if len(evalue) > MAX_MESSAGE:
        evalue = evalue[: MAX_MESSAGE - 3] + "..."
    if not evalue or hidden.reveals(evalue):
        return f"raised {ename}"
    return f"raised {ename}: {evalue}"


def as_shown(executed: NotebookNode, replies: dict[int, str], limits: ExecutionLimits) -> NotebookNode:
    """The executed notebook as the learner sees it: a cell stopped at the time limit shows that
    limit instead of the ``KeyboardInterrupt`` the interruption raised (a copy; scoring is not
    affected)."""
    stopped = [i for i, reply in replies.items() if reply == "timeout" and i < len(executed.cells)]
    if not stopped:
        return executed
    shown = copy.deepcopy(executed)
    for index in stopped:
        cell = shown.cells[index]
        words = f"this cell ran past the {limits.cell_timeout:g} s time limit and was stopped"
        kept = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
        cell["outputs"] = [*kept, NotebookNode({
            "output_type": "error", "ename": "TimeLimit", "evalue": words,
            "traceback": [f"TimeLimit: {words} (look for an endless loop or very slow code)"]})]
    return shown
