"""Load an assessment folder: ``assessment.yaml`` plus nbgrader-marked source notebooks.

Three layouts are accepted:

* ``<id>/assessment.yaml`` + ``<id>/source/*.ipynb`` (+ data files) — the nbcred format;
* ``<id>/source/*.ipynb`` with no ``assessment.yaml``;
* ``<id>/*.ipynb`` — a plain nbgrader assignment folder such as ``course/source/ps1``.

Without ``assessment.yaml`` each notebook that has points is one competency evidenced by all of
its grade cells, and the pass rule is :data:`grader.spec.DEFAULT_PASS_THRESHOLD` overall with
:data:`grader.spec.DEFAULT_COMPETENCY_MINIMUM` per competency. Ids keep the folder's and the
notebooks' own spelling. The course's ``nbgrader_config.py`` applies (see :mod:`grader.course`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import nbformat
import yaml
from nbformat import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import ClearHiddenTests
from pydantic import ValidationError

from grader.course import CONFIG_FILE, CourseConfig, load_course_config
from grader.errors import AssessmentError
from grader.hidden import BEGIN, END, HiddenContent
from grader.preload import assessment_preload
from grader.release import prepare_source, reference_version, student_version
from grader.restore import upgrade_metadata
from grader.spec import AssessmentSpec, Competency, RubricEntry

SPEC_FILE = "assessment.yaml"
IGNORED = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
AUTOTESTS_FILE = "autotests.yml"


@dataclass(frozen=True)
class GradeCell:
    """One grade cell (or task cell) of a source notebook, as nbgrader records it."""

    notebook: str
    grade_id: str
    points: float
    kind: str  # "autograded" | "manual" | "task"
    cell_type: str
    has_hidden_tests: bool

    @property
    def key(self) -> str:
        return f"{self.notebook}/{self.grade_id}"


@dataclass(frozen=True)
class SourceNotebook:
    """A source notebook with the two versions nbgrader derives from it."""

    name: str
    filename: str
    source: NotebookNode
    reference: NotebookNode  # solutions cleared, hidden tests kept: what grading restores from
    release: NotebookNode  # what learners get
    grade_cells: tuple[GradeCell, ...]
    hidden_markers: tuple[str, str] = (BEGIN, END)  # the course's hidden-test delimiters

    @cached_property
    def hidden(self) -> HiddenContent:
        """The hidden-test lines and hidden-only values, to keep them out of feedback."""
        return HiddenContent.of(self.reference, self.release, markers=self.hidden_markers)


@dataclass(frozen=True)
class Assessment:
    """A loaded, validated assessment."""

    root: Path
    source_dir: Path
    spec: AssessmentSpec
    notebooks: tuple[SourceNotebook, ...]
    data_files: tuple[str, ...]
    has_spec_file: bool
    warnings: tuple[str, ...] = field(default=())
    course: CourseConfig = field(default_factory=CourseConfig)

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over the spec and every source file: changes when anything graded changes."""
        digest = hashlib.sha256(self.spec.model_dump_json(by_alias=True).encode())
        for rel in sorted([nb.filename for nb in self.notebooks] + list(self.data_files)):
            digest.update(rel.encode())
            digest.update((self.source_dir / rel).read_bytes())
        for path in self.course.inputs():  # the course config, header and footer notebooks
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def grade_cells(self) -> list[GradeCell]:
        return [cell for nb in self.notebooks for cell in nb.grade_cells]

    def notebook(self, name: str) -> SourceNotebook:
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise KeyError(name)


def load_assessment(path: Path | str) -> Assessment:
    """Load and validate the assessment at ``path``; raise :class:`AssessmentError` if invalid."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise AssessmentError(
            "assessment folder not found", path=str(path), hint="pass the folder holding "
            "assessment.yaml, or a plain nbgrader assignment folder of .ipynb files"
        )
    spec_path = root / SPEC_FILE
    source_dir = root / "source" if (root / "source").is_dir() else root
    filenames = sorted(p.name for p in source_dir.glob("*.ipynb") if p.is_file())
    course = load_course_config(source_dir)
    if spec_path.exists():
        spec = _read_spec(spec_path, root.name)
        if spec.notebooks is not None:
            filenames = _declared_notebooks(spec.notebooks, filenames, spec_path)
    else:
        spec = None
    if not filenames:
        raise AssessmentError(
            f"no source notebooks (*.ipynb) in {source_dir}", path=str(root),
            hint="put the nbgrader-marked source notebooks in a source/ folder",
        )
    notebooks = tuple(_load_notebook(source_dir / name, course) for name in filenames)
    if spec is None:
        spec = default_spec(root.name, notebooks)
    spec = _apply_course(spec, course)
    spec = _with_preload(spec, notebooks)
    warnings = _check_rubric(spec, notebooks, spec_path)
    data = _data_files(source_dir, course, spec, own_spec=source_dir == root and spec_path.exists())
    return Assessment(root, source_dir, spec, notebooks, data, spec_path.exists(), warnings, course)


def _data_files(
    source_dir: Path, course: CourseConfig, spec: AssessmentSpec, *, own_spec: bool
) -> tuple[str, ...]:
    """The files copied next to the notebooks, chosen with nbgrader's ignore/include rules."""
    found = nbutils.find_all_files(str(source_dir), [*course.ignore, *IGNORED, "*.ipynb"])
    skip = {CONFIG_FILE}
    if own_spec:  # course/source/ps1 holding an assessment.yaml: nbcred's files are not data
        skip.add(SPEC_FILE)
        if spec.badge is not None:
            skip |= {spec.badge.image} if spec.badge.image else {"badge.svg", "badge.png"}
    limit = None if course.max_file_size_kb is None else 1000 * course.max_file_size_kb
    chosen = []
    for name in found:
        path = Path(name)
        rel = str(path.relative_to(source_dir))
        if rel in skip or not any(fnmatch.fnmatch(path.name, g) for g in course.include):
            continue
        if limit is not None and path.stat().st_size > limit:
            continue
        chosen.append(rel)
    return tuple(sorted(chosen))


def _apply_course(spec: AssessmentSpec, course: CourseConfig) -> AssessmentSpec:
    """The course's cell timeout, unless ``assessment.yaml`` sets its own."""
    if course.cell_timeout is None or "cell_timeout" in spec.execution.model_fields_set:
        return spec
    execution = spec.execution.model_copy(update={"cell_timeout": course.cell_timeout})
    return spec.model_copy(update={"execution": execution})


def _with_preload(spec: AssessmentSpec, notebooks: tuple[SourceNotebook, ...]) -> AssessmentSpec:
    """``execution.preload`` extended with what the source notebooks import (see :mod:`grader.preload`)."""
    preload = assessment_preload(spec.execution.preload, [nb.source for nb in notebooks])
    return spec.model_copy(update={"execution": spec.execution.model_copy(update={"preload": preload})})


def _read_spec(spec_path: Path, folder: str) -> AssessmentSpec:
    try:
        raw = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AssessmentError(f"not valid YAML: {exc}", path=str(spec_path)) from exc
    if not isinstance(raw, dict):
        raise AssessmentError("must be a YAML mapping of fields", path=str(spec_path))
    raw.setdefault("id", folder)
    try:
        spec = AssessmentSpec.model_validate(raw)
    except ValidationError as exc:
        raise AssessmentError(_describe(exc), path=str(spec_path), hint=_fix_hint(exc)) from exc
    if spec.id != folder:
        raise AssessmentError(
            f"field 'id' is {spec.id!r} but the folder is named {folder!r}",
            path=str(spec_path), hint=f"set id: {folder} or rename the folder to {spec.id}",
        )
    return spec


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"field '{where}': {err['msg']}")
    return "; ".join(parts)


def _fix_hint(exc: ValidationError) -> str:
    kinds = {err["type"] for err in exc.errors()}
    if "extra_forbidden" in kinds:
        return "remove or correct the unknown field (see assessments/README.md for the format)"
    if "missing" in kinds:
        return "add the missing field"
    return "correct the field's value as described"


def _declared_notebooks(declared: list[str], found: list[str], spec_path: Path) -> list[str]:
    missing = [name for name in declared if name not in found]
    if missing:
        raise AssessmentError(
            f"field 'notebooks' lists {', '.join(missing)}, not found in source/",
            path=str(spec_path), hint="fix the file names or add the notebooks to source/",
        )
    return list(declared)


def _load_notebook(path: Path, course: CourseConfig) -> SourceNotebook:
    try:
        source = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad files
        raise AssessmentError(
            f"cannot read source notebook: {exc}", path=str(path),
            hint="open and re-save it in Jupyter; it must be nbformat 4 JSON",
        ) from exc
    try:
        source = prepare_source(
            upgrade_metadata(source), config=course.config, header=course.header,
            footer=course.footer, folder=path.parent, autotests=_autotests_file(path.parent, course),
        )
    except AssessmentError as exc:
        raise AssessmentError(exc.message, path=str(path), hint=exc.hint) from exc
    try:
        source = upgrade_metadata(source)
        reference = reference_version(source, config=course.config)
        release = student_version(reference, config=course.config)
    except Exception as exc:
        raise AssessmentError(
            f"nbgrader rejected the notebook's markup: {exc}", path=str(path),
            hint="check the nbgrader cell metadata (Create Assignment toolbar) and the "
            "BEGIN/END SOLUTION and HIDDEN TESTS markers",
        ) from exc
    clear = ClearHiddenTests(config=course.config)
    markers = (str(clear.begin_test_delimeter), str(clear.end_test_delimeter))
    return SourceNotebook(
        name=path.stem, filename=path.name, source=source, reference=reference,
        release=release, grade_cells=tuple(_grade_cells(path.stem, reference, markers[0])),
        hidden_markers=markers,
    )


def _autotests_file(folder: Path, course: CourseConfig) -> Path | None:
    """nbgrader's templates file: the assignment folder's, else the course root's."""
    name = str(course.config.get("InstantiateTests", {}).get("autotest_filename", AUTOTESTS_FILE))
    if (folder / name).is_file() or course.root is None:
        return None
    fallback = course.root / name
    return fallback if fallback.is_file() else None


def _grade_cells(name: str, reference: NotebookNode, begin_hidden: str = BEGIN) -> list[GradeCell]:
    cells = []
    for cell in reference.cells:
        if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
            continue
        meta = cell.metadata.nbgrader
        if nbutils.is_task(cell):
            kind = "task"
        elif nbutils.is_solution(cell) or cell.cell_type != "code":
            kind = "manual"
        else:
            kind = "autograded"
        cells.append(
            GradeCell(
                notebook=name, grade_id=meta["grade_id"], points=float(meta.get("points", 0)),
                kind=kind, cell_type=cell.cell_type,
                has_hidden_tests=begin_hidden in cell.source,
            )
        )
    return cells


def default_spec(folder: str, notebooks: tuple[SourceNotebook, ...]) -> AssessmentSpec:
    """The spec of a plain nbgrader assignment: one competency per notebook that has points.

    Notebooks whose grade cells are all worth 0 points (self-check tests) evidence no competency;
    when no notebook has points, every notebook is one (worth 0, so the assessment cannot pass,
    as nbgrader has nothing to pass either).
    """
    scored = [nb for nb in notebooks if any(c.points > 0 for c in nb.grade_cells)] or list(notebooks)
    competencies: list[Competency] = []
    rubric: list[RubricEntry] = []
    used: set[str] = set()
    for nb in scored:
        cid = slugify(nb.name)
        while cid in used:
            cid += "_"
        used.add(cid)
        competencies.append(Competency(id=cid, name=nb.name, description=f"All of {nb.filename}"))
        rubric += [RubricEntry(cell=c.key, competency=cid) for c in nb.grade_cells]
    data: dict[str, Any] = {
        "id": slugify(folder), "title": folder, "competencies": competencies, "rubric": rubric,
    }
    return AssessmentSpec.model_validate(data)


def slugify(text: str) -> str:
    """An id derived from a file or folder name: its own spelling (case kept), spaces as '-'."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    return slug or "x"


def _check_rubric(
    spec: AssessmentSpec, notebooks: tuple[SourceNotebook, ...], spec_path: Path
) -> tuple[str, ...]:
    cells = {c.key: c for nb in notebooks for c in nb.grade_cells}
    for entry in spec.rubric:
        if entry.cell not in cells:
            known = ", ".join(sorted(cells)) or "none"
            raise AssessmentError(
                f"rubric cell {entry.cell!r} is not a grade cell of the source notebooks",
                path=str(spec_path), hint=f"use one of: {known}",
            )
    mapped = {e.competency for e in spec.rubric}
    empty = [c.id for c in spec.competencies if c.id not in mapped]
    if empty and spec_path.exists():
        raise AssessmentError(
            f"competencies {', '.join(empty)} have no rubric cells, so they could never be passed",
            path=str(spec_path), hint="map at least one grade cell to each competency",
        )
    unmapped = sorted(set(cells) - {e.cell for e in spec.rubric})
    return tuple(
        f"grade cell {key} counts towards the total but evidences no competency"
        for key in unmapped if cells[key].points > 0
    ) if spec_path.exists() else ()
