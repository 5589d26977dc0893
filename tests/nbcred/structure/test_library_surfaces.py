"""The application uses the two libraries only through their declared surfaces.

``grader/__init__.py`` and ``credentials/__init__.py`` list in ``__all__`` (with the module of
each name in ``SURFACE``) what ``nbcred`` may import; this reads every import statement of the
application and refuses anything else, so a new dependency on a library's insides is a decision
made in its ``__init__.py``. The libraries themselves never import each other or the application.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import credentials
import grader
from tests.paths import ROOT

LIBRARIES = {"grader": grader, "credentials": credentials}


def _imports(package: str) -> Iterator[tuple[Path, int, str, str | None]]:
    """(file, line, module, name) of every absolute import in ``package`` (name None: ``import m``)."""
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    yield path, node.lineno, node.module, alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name, None


def _outside_surface(module: str, name: str | None) -> str | None:
    """Why importing ``name`` from ``module`` is not allowed (None when it is)."""
    library = LIBRARIES[module.split(".")[0]]
    surface: dict[str, str] = library.SURFACE
    if name is None:  # `import grader.results`: only a module the surface names
        return None if module in set(surface.values()) | {library.__name__} else f"import {module}"
    if module == library.__name__:
        return None if name in library.__all__ else f"{name} is not in {module}.__all__"
    if surface.get(module.rsplit(".", 1)[-1]) == module and not name.startswith("_"):
        return None  # a module on the surface (credentials.ob3): its public names are too
    if surface.get(name) != module:
        return f"{module}.{name} is not on the surface (declared: {surface.get(name)})"
    return None


def test_the_application_imports_only_the_declared_surfaces() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}: {why}"
        for path, line, module, name in _imports("nbcred")
        if module.split(".")[0] in LIBRARIES and (why := _outside_surface(module, name))
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_every_surface_name_resolves_from_its_module_and_the_package(library: str) -> None:
    package = LIBRARIES[library]
    assert sorted(package.SURFACE) == package.__all__
    for name, module in package.SURFACE.items():
        loaded = importlib.import_module(module)
        expected = loaded if module == f"{library}.{name}" else getattr(loaded, name)
        assert getattr(package, name) is expected, (library, name)
    with pytest.raises(AttributeError):
        package.not_on_the_surface  # noqa: B018


def test_the_libraries_import_neither_each_other_nor_the_application() -> None:
    for library, others in (("grader", ("credentials", "nbcred")), ("credentials", ("grader", "nbcred"))):
        found = [f"{path.relative_to(ROOT)}:{line}: {module}" for path, line, module, _ in _imports(library)
                 if module.split(".")[0] in others]
        assert found == [], found


def test_importing_a_library_loads_none_of_its_modules() -> None:
    """The surfaces are lazy: ``import grader`` does not load nbgrader, nor ``credentials`` pyld."""
    code = ("import sys, grader, credentials; "
            "print(sorted(m for m in sys.modules if m.startswith(('grader.', 'credentials.', 'nbgrader', "
            "'pyld'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
