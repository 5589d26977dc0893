"""An nbgrader course's own configuration, read the way nbgrader reads it.

A plain nbgrader assignment folder lives in a course (``<course>/source/<assignment>``) whose
``nbgrader_config.py`` says how nbgrader generates and grades it. nbcred honours what changes
the grades or the released notebooks:

* ``Execute.timeout`` / ``ExecutePreprocessor.timeout`` / ``NotebookClient.timeout``: the
  per-cell timeout (when ``assessment.yaml`` does not set ``execution.cell_timeout``);
* ``CourseDirectory.ignore`` / ``include`` / ``max_file_size``: which data files are copied;
* ``IncludeHeaderFooter.header`` / ``footer``: notebooks prepended / appended at release,
  relative to the course root;
* every other option of nbgrader's preprocessors (``ClearSolutions.code_stub``, the solution
  and hidden-test delimiters, ``InstantiateTests.*`` …), passed to them as their traitlets config.

The file is loaded with traitlets' ``PyFileConfigLoader`` exactly as ``nbgrader`` loads it: it
is the instructor's own Python file and runs as such, never learner code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

from grader.errors import AssessmentError

CONFIG_FILE = "nbgrader_config.py"
#: nbgrader's default ``CourseDirectory.ignore``.
DEFAULT_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")
#: How many folders above an assignment folder are searched: ``source/`` and the course root.
SEARCH_DEPTH = 2
_TIMEOUT_SECTIONS = ("NotebookClient", "ExecutePreprocessor", "Execute")


@dataclass(frozen=True)
class CourseConfig:
    """What a course's ``nbgrader_config.py`` says, resolved against the course root."""

    path: Path | None = None  # the file it came from; None: nbgrader's defaults
    config: Config = field(default_factory=Config)
    cell_timeout: float | None = None
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    include: tuple[str, ...] = ("*",)
    max_file_size_kb: int | None = 100_000
    header: Path | None = None
    footer: Path | None = None

    @property
    def root(self) -> Path | None:
        """The course root (where nbgrader runs): the config file's folder."""
        return None if self.path is None else self.path.parent

    def inputs(self) -> tuple[Path, ...]:
        """Files outside the assignment folder that change what is released and graded."""
        return tuple(p for p in (self.path, self.header, self.footer) if p is not None)


def find_course_config(assignment: Path) -> Path | None:
    """The nearest ``nbgrader_config.py`` in ``assignment`` or up to two folders above it."""
    folder = assignment.resolve()
    for candidate in [folder, *folder.parents][: SEARCH_DEPTH + 1]:
        path = candidate / CONFIG_FILE
        if path.is_file():
            return path
    return None


def load_course_config(assignment: Path) -> CourseConfig:
    """Read the course configuration that applies to ``assignment`` (defaults when none)."""
    path = find_course_config(assignment)
    if path is None:
        return CourseConfig()
    try:
        config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    except ConfigFileNotFound:
        return CourseConfig()
    except Exception as exc:  # the file is Python: any error it raises is the instructor's to fix
        raise AssessmentError(
            f"nbgrader could not load this configuration: {type(exc).__name__}: {exc}",
            path=str(path), hint="run `nbgrader --help-all` in the course folder to see the error, "
            "then fix the file",
        ) from exc
    root = _course_root(config, path)
    course = config.get("CourseDirectory", Config())
    header_footer = config.get("IncludeHeaderFooter", Config())
    return CourseConfig(
        path=path,
        config=config,
        cell_timeout=_timeout(config, path),
        ignore=tuple(course.get("ignore", DEFAULT_IGNORE)),
        include=tuple(course.get("include", ("*",))),
        max_file_size_kb=course.get("max_file_size", 100_000),
        header=_course_file(root, header_footer.get("header", ""), path, "header"),
        footer=_course_file(root, header_footer.get("footer", ""), path, "footer"),
    )


def _course_root(config: Config, path: Path) -> Path:
    root = config.get("CourseDirectory", Config()).get("root")
    if isinstance(root, str) and root and Path(root).is_dir():
        return Path(root).resolve()
    return path.parent


def _timeout(config: Config, path: Path) -> float | None:
    for section in reversed(_TIMEOUT_SECTIONS):  # nbgrader's own class wins over its bases
        value = config.get(section, Config()).get("timeout")
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise AssessmentError(
                f"{section}.timeout is {value!r}; it must be a positive number of seconds",
                path=str(path), hint=f"set c.{section}.timeout = 30 (seconds per cell)",
            )
        return float(value)
    return None


def _course_file(root: Path, name: object, path: Path, what: str) -> Path | None:
    if not name:
        return None
    target = (root / str(name)).resolve()
    if not target.is_file():
        raise AssessmentError(
            f"IncludeHeaderFooter.{what} names {name!r}, which is not a file under {root}",
            path=str(path), hint=f"give the {what} notebook's path relative to the course root",
        )
    return target
