"""Instructor flags from an executed notebook: failed and contained gaming attempts.

A test cell that failed with the runtime's ``IntegrityError`` is a *learner-object* flag; each
record the runtime published while containing a trick (a redefined builtin, a patched module, a
forged ``__class__``) is removed from the outputs and becomes a *contained* flag. Flags are for
instructors; they never change a score (the failed test already scored 0 on its own).
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

from grader.integrity.hook import is_test_cell
from grader.integrity.runtime import EVENT_MIME
from grader.results import IntegrityFlag

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def collect_flags(nb: NotebookNode, notebook: str) -> list[IntegrityFlag]:
    """The flags of every test cell of ``nb`` (named ``notebook``); removes the runtime's records."""
    flags: list[IntegrityFlag] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs", [])
        kept = [o for o in outputs if not (o.get("output_type") == "display_data"
                                           and EVENT_MIME in o.get("data", {}))]
        if not is_test_cell(cell):
            cell.outputs = kept
            continue
        grade_id = str(cell.metadata.get("nbgrader", {}).get("grade_id", ""))
        for output in outputs:
            if output not in kept:
                record = output["data"][EVENT_MIME]
                flags.append(IntegrityFlag(notebook, grade_id, "contained",
                                           str(record.get("message", ""))[:500]))
            elif output.get("output_type") == "error" and output.get("ename") == "IntegrityError":
                flags.append(IntegrityFlag(notebook, grade_id, "learner-object",
                                           ANSI.sub("", str(output.get("evalue", "")))[:500]))
        cell.outputs = kept
    return flags


def integrity_message(cell: NotebookNode) -> str:
    """The runtime's own explanation when a test cell failed on a learner object, else ""."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors or errors[-1].get("ename") != "IntegrityError":
        return ""
    return "IntegrityError: " + ANSI.sub("", str(errors[-1].get("evalue", "")))[:1000]
