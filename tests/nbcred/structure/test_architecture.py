"""The layering docs/architecture.md describes, checked on the source: the front ends reach the core
only through ``nbcred.service``, no two classes of the application share a name, and no module
reaches itself through its imports."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tests.paths import ROOT

PACKAGES = ("grader", "credentials", "nbcred")
#: What the command line and the web service may not import (they call nbcred.service instead).
BEHIND_THE_SERVICE = ("nbcred.store", "nbcred.bulk", "nbcred.issuance", "nbcred.runtime", "nbcred.lti")
#: All of the application a front end may import: the service layer, the settings, the errors and
#: the rule that keeps secrets off command lines, besides its own package.
FRONT_END_MAY_IMPORT = ("nbcred.service", "nbcred.settings", "nbcred.errors", "nbcred.cmdline",
                        "nbcred.__version__")
#: Besides: ``credentials`` to sign, verify and bake files, the grader's errors (what a bad
#: assessment raises), and for ``nbcred serve`` the web app it runs.
LIBRARIES_FOR = {"nbcred.cli": ("credentials", "grader.errors", "nbcred.web.app", "nbcred.web.secret"),
                 "nbcred.web": ("credentials", "grader.errors")}
def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports at run time (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(target) for target in _imports(path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_front_ends_reach_the_core_through_the_service_layer() -> None:
    offending = []
    for module, path in _modules().items():
        if module.startswith(("nbcred.cli", "nbcred.web")):
            offending += [f"{module}: {target}" for target in _imports(path)
                          if target.startswith(BEHIND_THE_SERVICE)]
    assert offending == []


def test_the_front_ends_import_only_the_service_settings_and_errors() -> None:
    offending = []
    for module, path in _modules().items():
        front = next((f for f in LIBRARIES_FOR if module == f or module.startswith(f + ".")), None)
        if front is None:
            continue
        allowed = (*FRONT_END_MAY_IMPORT, front, *LIBRARIES_FOR[front])
        offending += [f"{module}: {target}" for target in _imports(path)
                      if target.split(".")[0] in PACKAGES
                      and not any(target == a or target.startswith(a + ".") for a in allowed)]
    assert offending == []


def test_no_two_classes_of_the_application_share_a_name() -> None:
    names = Counter(node.name for module, path in _modules().items() if module.startswith("nbcred")
                    for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef))
    shared = {name for name, count in names.items() if count > 1}
    assert sorted(shared) == []


def test_verifiers_are_built_in_one_place() -> None:
    """The application builds a resolver and a status checker only through
    ``credentials.offline_verifier`` (``nbcred.issuance.verification.local_verifier`` adds this
    deployment's documents; the web service's verification workers give theirs)."""
    builders = {"Resolver", "list_status_checker"}
    calls = [f"{module}:{node.lineno}" for module, path in _modules().items() if module.startswith("nbcred")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] in builders]
    assert calls == []


def test_no_import_circle() -> None:
    """No module of grader, credentials or nbcred reaches itself through its imports (imports for
    type checking only left out; imports inside functions count)."""
    assert [sorted(c) for c in _circles(_graph())] == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
