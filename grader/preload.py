"""What a kernel template imports for one assessment, and importing it without starting a thread.

A data-science notebook spends much of its CPU importing numpy, pandas, matplotlib… before its
first line (docs/benchmarks.md). The template of :mod:`grader.forkserver` imports them once and
forks every kernel, so the modules an assessment's kernels will import should already be in the template:
:func:`assessment_preload` reads them from the ``import`` statements of the assessment's *source*
notebooks (instructor material, trusted; a learner's submission is never read for this) and adds
``execution.preload`` from ``assessment.yaml``. Names that are not installed are skipped by the
template (:func:`import_modules`).

Forking a process that runs more than one thread can deadlock the child (a lock held by another
thread at the fork stays held for ever), so :func:`import_modules` counts the template's threads
after every import and reports the first module after which there was more than one.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
from collections.abc import Iterable

from nbformat import NotebookNode

#: Never worth importing ahead: compiler directives.
SKIPPED = frozenset({"__future__"})


def source_imports(source: str) -> list[str]:
    """Module names a cell's code imports (``import a.b`` → ``a.b``; ``from a import b`` →
    ``a`` and ``a.b``, which the template tries and skips if ``b`` is not a module).

    IPython magics and shell escapes are ignored; a cell that is not valid Python yields nothing.
    """
    if source.lstrip().startswith("%%"):  # a cell magic: not Python
        return []
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
    return [name for name in names if name.split(".")[0] not in SKIPPED]


def notebook_imports(nb: NotebookNode) -> list[str]:
    """Module names the notebook's code cells import, in order of first appearance."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            names += source_imports(cell.source)
    return list(dict.fromkeys(names))


def assessment_preload(declared: Iterable[str], notebooks: Iterable[NotebookNode]) -> tuple[str, ...]:
    """``execution.preload`` first, then what the source notebooks import, each name once."""
    names = list(declared)
    for nb in notebooks:
        names += notebook_imports(nb)
    return tuple(dict.fromkeys(names))


def thread_count() -> int:
    """Threads of this process (Linux ``/proc/self/task``)."""
    return len(os.listdir("/proc/self/task"))


def import_modules(names: Iterable[str]) -> str | None:
    """Import each module (those not installed, or failing to import, are skipped); return the
    first one after whose import this process ran more than one thread, or None."""
    for name in names:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
        if thread_count() > 1:
            return name
    return None
