"""Prepare a submitted notebook for grading the way ``nbgrader autograde`` does, without a database.

nbgrader's sanitising steps are ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells
and CheckCellMetadata. The ones that need no gradebook are used as they are; the two that read
nbgrader's gradebook are done here against the in-memory reference notebook instead, with the
same rules: a cell keeps its grade id only if the source has it; cell type, locked flag and points
come from the source; the checksum is the source's; a locked cell whose content changed gets the
source's content back (this is what puts hidden tests back). Every such change is reported.
"""

from __future__ import annotations

import copy
import functools
import traceback
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from nbformat import NotebookNode
from nbformat.v4.nbbase import validate
from nbgrader import utils as nbutils
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds

from grader.errors import SubmissionError


@dataclass
class Restored:
    """A sanitised notebook and what had to be put back."""

    notebook: NotebookNode
    tampered: list[str] = field(default_factory=list)  # grade ids changed, restored or deleted
    changes: list[str] = field(default_factory=list)  # human-readable, one per change
    missing: list[str] = field(default_factory=list)  # grade ids absent from the submission
    matched: int = 0  # grade/solution cells of the source found in the submission


def restore(
    submitted: NotebookNode, reference: NotebookNode, released: NotebookNode | None = None
) -> Restored:
    """Sanitise ``submitted`` against ``reference`` (see module docstring).

    A locked cell counts as *tampered* when it differs from what the learner was given
    (``released``); restoring hidden tests into an untouched cell is not tampering.
    """
    nb = upgrade_metadata(copy.deepcopy(submitted))
    resources: dict[str, Any] = {}
    nb, resources = ClearOutput().preprocess(nb, resources)
    nb, resources = DeduplicateIds().preprocess(nb, resources)
    if "kernelspec" in reference.metadata:
        nb.metadata["kernelspec"] = copy.deepcopy(reference.metadata["kernelspec"])
    sources = {gid: cell for gid, (_, cell) in by_grade_id(reference).items()}
    given = {gid: cell.source for gid, (_, cell) in by_grade_id(released or reference).items()}
    result = Restored(nb)
    for cell in nb.cells:
        _overwrite_cell(cell, sources, given, result)
    present = grade_ids(nb)
    result.missing = [
        gid for gid, c in sources.items()
        if gid not in present and (nbutils.is_grade(c) or nbutils.is_task(c))
    ]
    for gid in result.missing:  # a graded cell deleted, or its nbgrader metadata stripped
        result.changes.append(f"{gid}: graded cell missing from the submission; scores 0")
        _mark(result, gid)
    try:
        nb, resources = CachedCheckCellMetadata().preprocess(nb, resources)
    except Exception as exc:  # nbgrader raises jsonschema's ValidationError
        raise SubmissionError(
            f"the nbgrader metadata of the notebook is corrupted and cannot be restored ({exc})",
            hint="start again from the released notebook and copy your answers into it",
        ) from exc
    result.notebook = nb
    return result


SCHEMA_V3, SCHEMA_V4 = 3, 4


def upgrade_metadata(nb: NotebookNode) -> NotebookNode:
    """Bring nbgrader cell metadata to the schema of the installed nbgrader (3).

    Older schemas are upgraded as ``nbgrader update`` does. Schema 4 (nbgrader's development
    line) is schema 3 plus an optional ``duplicate`` flag, so it is read as schema 3.
    """
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("schema_version") == SCHEMA_V4:
            meta["schema_version"] = SCHEMA_V3
            meta.pop("duplicate", None)
    try:
        upgraded: NotebookNode = MetadataValidator().upgrade_notebook_metadata(nb)
    except Exception as exc:  # nbgrader raises its SchemaTooNewError / ValidationError
        raise SubmissionError(
            f"the nbgrader metadata cannot be read by this nbgrader version ({exc})",
            hint="export the notebook with the nbgrader version the course uses",
        ) from exc
    return upgraded


def by_grade_id(nb: NotebookNode) -> dict[str, tuple[int, NotebookNode]]:
    """The cells that carry an nbgrader grade id, with their index, by id (the last one wins)."""
    found = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id") is not None:
            found[meta["grade_id"]] = (index, cell)
    return found


def grade_ids(nb: NotebookNode) -> set[str]:
    """The nbgrader grade ids present in a notebook."""
    return set(by_grade_id(nb))


def _overwrite_cell(
    cell: NotebookNode, sources: dict[str, NotebookNode], given: dict[str, str], result: Restored
) -> None:
    meta = cell.metadata.get("nbgrader", {})
    grade_id = meta.get("grade_id")
    if grade_id is None:
        return
    source = sources.get(grade_id)
    if source is None:
        del meta["grade_id"]
        result.changes.append(f"cell {grade_id!r} is not in the source notebook; left ungraded")
        return
    result.matched += 1
    src_meta = source.metadata.nbgrader
    if cell.cell_type != source.cell_type:
        result.changes.append(f"{grade_id}: cell type {cell.cell_type} -> {source.cell_type}")
        _mark(result, grade_id)
        _set_cell_type(cell, source.cell_type)
    for flag in ("grade", "solution", "task"):
        if bool(meta.get(flag, False)) != bool(src_meta.get(flag, False)):
            # nbgrader itself stops on these ("Inconsistent checksums"); restore and report
            result.changes.append(f"{grade_id}: '{flag}' flag changed; restored")
            meta[flag] = bool(src_meta.get(flag, False))
            if "points" in src_meta:
                meta["points"] = src_meta["points"]
            _mark(result, grade_id)
    # nbgrader records a source cell as locked when utils.is_locked says so: flagged locked,
    # or a grade cell that is not a solution (every test cell)
    source_locked = nbutils.is_locked(source)
    if nbutils.is_locked(cell) != source_locked:
        result.changes.append(f"{grade_id}: locked flag changed")
        meta["locked"] = source_locked
    if nbutils.is_grade(cell):
        old, new = float(src_meta.get("points", 0)), float(meta.get("points", 0))
        if old != new:
            result.changes.append(f"{grade_id}: points {new} -> {old}")
            _mark(result, grade_id)
            meta["points"] = old
    meta["checksum"] = src_meta.get("checksum")
    if source_locked and nbutils.compute_checksum(cell) != src_meta.get("checksum"):
        if cell.source != given.get(grade_id, source.source):
            result.changes.append(f"{grade_id}: locked cell was edited; restored from the source")
            _mark(result, grade_id)
        cell.source = source.source


def _mark(result: Restored, grade_id: str) -> None:
    if grade_id not in result.tampered:
        result.tampered.append(grade_id)


def _set_cell_type(cell: NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
        validate(cell, "code_cell")
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        validate(cell, f"{cell_type}_cell")


class _CachedSchemaCheck(BaseMetadataValidator):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's per-cell schema check with one compiled validator instead of one per cell.

    ``BaseMetadataValidator.validate_cell`` calls ``jsonschema.validate``, which first re-checks
    nbgrader's own (fixed) schema against the meta-schema for every cell: most of what the grader
    spends per submission outside the kernel (docs/benchmarks.md). The instance check and the
    error raised (``best_match``) are the same.
    """

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        if schema > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        error = best_match(_schema_validator(self.schema_version).iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class CachedMetadataValidator(MetadataValidator, _CachedSchemaCheck):  # type: ignore[misc]
    """nbgrader's ``MetadataValidator`` whose base schema check is :class:`_CachedSchemaCheck`.

    Method order: this class, ``MetadataValidatorV3`` (its own checks, which call ``super()``),
    ``_CachedSchemaCheck``, ``BaseMetadataValidator``.
    """

    def __init__(self) -> None:
        self.schema = _schema(self.schema_version)


@functools.cache
def _schema(version: int) -> dict[str, Any]:
    validator = MetadataValidator()  # reads nbgrader's schema file
    assert validator.schema_version == version
    schema: dict[str, Any] = validator.schema
    return schema


@functools.cache
def _schema_validator(version: int) -> Any:
    schema = _schema(version)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class CachedCheckCellMetadata(CheckCellMetadata):  # type: ignore[misc]
    """nbgrader's ``CheckCellMetadata`` using :class:`CachedMetadataValidator`."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        try:
            CachedMetadataValidator().validate_nb(nb)
        except ValidationError as exc:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from exc
        return nb, resources
