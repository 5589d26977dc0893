"""Grader side of the integrity checks: install the kernel runtime before the first cell runs.

:func:`install_integrity` is the whole hook into execution: it gives an nbclient client an
``on_notebook_start`` hook that executes :mod:`grader.integrity.runtime`'s source in the fresh
kernel *silently* (no execution count, no history, no output, nothing left in the user's
namespace), with the SHA-256 of every test cell to rewrite and the module aliases the released
notebook defines. It works for every runner (plain, sandboxed, forked): the runtime travels as
source, so the kernel needs no access to the grader's files.
"""

from __future__ import annotations

import ast
import hashlib
import logging
from functools import cache
from pathlib import Path
from types import CodeType
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode

from grader.integrity.runtime import OPT_OUT, cell_digest

log = logging.getLogger(__name__)


@cache
def _runtime_source() -> str:
    return (Path(__file__).parent / "runtime.py").read_text(encoding="utf-8")


@cache
def runtime_digest() -> str:
    """SHA-256 of the runtime's source: a kernel uses a precompiled runtime only if it matches."""
    return hashlib.sha256(_runtime_source().encode()).hexdigest()


@cache
def precompiled_runtime() -> tuple[str, CodeType]:
    """The runtime's digest and compiled code, made once per process.

    The kernel template (:mod:`grader.forkserver`) calls this before forking, so every forked
    kernel finds the code object ready (compiling it is a cost per kernel); kernels that are
    not forked from the template compile the source the preamble carries.
    """
    return runtime_digest(), compile(_runtime_source(), "<nbcred-integrity>", "exec")


def is_test_cell(cell: NotebookNode) -> bool:
    """An nbgrader autograded test cell (graded, not a solution, code)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def opted_out(source: str) -> bool:
    """Whether a test cell carries the documented opt-out marker (a comment line)."""
    return any(line.strip().lstrip("#").strip() == OPT_OUT for line in source.splitlines())


def kernel_config(nb: NotebookNode) -> dict[str, Any]:
    """What the kernel needs: test cells to rewrite, and the released imports (``alias -> module[:name]``)."""
    digests = sorted({cell_digest(c.source) for c in nb.cells
                      if is_test_cell(c) and c.source.strip() and not opted_out(c.source)})
    aliases: dict[str, str] = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or meta.get("solution") or not (
                meta.get("locked") or meta.get("grade")):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # magics: no aliases from this cell
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update({a.asname or a.name: a.name for a in node.names if "." not in a.name})
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                aliases.update({a.asname or a.name: f"{node.module}:{a.name}" for a in node.names
                                if a.name != "*"})
    return {"digests": digests, "aliases": aliases}


#: What a kernel without the template's compiled runtime answers to the short preamble.
NOT_PRECOMPILED = "nbcred: this kernel has no precompiled integrity runtime"


def preamble(config: dict[str, Any], *, with_source: bool = True) -> str:
    """One expression that installs the runtime and binds no name in the user's namespace.

    The runtime gets its own copy of the builtins, so a learner who later patches the
    ``builtins`` module does not change what the runtime itself calls. A kernel forked from the
    template uses the code object the template compiled (:func:`precompiled_runtime`) when its
    digest matches; otherwise the source is compiled, or, ``with_source=False`` (the short form
    for forked kernels: IPython would tokenise the whole source in every kernel), the
    expression raises ``LookupError(NOT_PRECOMPILED)`` and installs nothing.
    """
    fallback = (f"compile({_runtime_source()!r}, '<nbcred-integrity>', 'exec')" if with_source else
                f"(_ for _ in ()).throw(LookupError({NOT_PRECOMPILED!r}))")
    return (
        "(lambda ns: (exec(ns['code'](), ns), ns['install'](get_ipython(), ns['config'])))"
        f"({{'__name__': 'nbcred_integrity', '__builtins__': dict(__import__('builtins').__dict__), "
        f"'code': lambda hook=__import__('sys').modules.get('grader.integrity.hook'), "
        f"digest={runtime_digest()!r}: "
        "hook.precompiled_runtime()[1] if hook is not None and getattr(hook, 'precompiled_runtime', None) "
        "and hook.precompiled_runtime.cache_info().currsize and hook.precompiled_runtime()[0] == digest "
        f"else {fallback}, "
        f"'config': {config!r}}})"
    )


def install_integrity(client: NotebookClient) -> None:
    """Make ``client`` install the test-cell rewriting in its kernel before the first cell.

    A kernel forked from the template gets the short preamble first; should it lack the
    template's compiled runtime (it answers ``NOT_PRECOMPILED``), the full one follows.
    """
    config = kernel_config(client.nb)
    if not config["digests"]:
        return

    async def run(code: str) -> dict[str, Any]:
        assert client.kc is not None
        msg_id = client.kc.execute(code, silent=True, store_history=False)
        reply = await client.async_wait_for_reply(msg_id)
        content: dict[str, Any] = (reply or {}).get("content", {})
        return content

    async def on_notebook_start(notebook: NotebookNode) -> None:
        if not _python_kernel(client):
            return
        content: dict[str, Any] = {}
        if getattr(client.km, "forked", None) is not None:  # from the template (grader.forkserver)
            content = await run(preamble(config, with_source=False))
        if content.get("status") != "ok":
            content = await run(preamble(config))
        if content.get("status") != "ok":
            log.warning("integrity checks not installed in the kernel: %s",
                        content.get("evalue", "no reply"))

    client.on_notebook_start = on_notebook_start


def _python_kernel(client: NotebookClient) -> bool:
    try:
        spec = client.km.kernel_spec if client.km is not None else None
    except Exception:
        return False
    return spec is not None and str(spec.language).lower() == "python"
