"""Notebooks in, scores out.

Load and validate an assessment, release the student version, restore tampered cells, execute a
submission and score it with nbgrader's semantics, roll scores up to competencies and render
feedback. Nothing in here touches a database or a credential.

The names in ``__all__`` are what the application (``nbcred``) may use; each is importable from
the module :data:`SURFACE` names (``from grader.results import GradeResult``) or from here, and
is imported on first use, so ``import grader.results`` does not load nbgrader.
``tests/nbcred/structure/test_library_surfaces.py`` checks that the application imports nothing else.
"""

import importlib
import sys
from typing import Any

# jsonschema (imported by nbformat) imports rfc3987_syntax, when installed, only to check the
# "iri" string formats, which no notebook schema uses; building its grammar is a large part of
# every process's start-up (docs/benchmarks.md, "Figures behind design choices"). Mark it
# unavailable so jsonschema skips those two format checkers.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

#: The public surface: each name and the module that defines it.
SURFACE: dict[str, str] = {
    # assessments
    "Assessment": "grader.assessment",
    "GradeCell": "grader.assessment",
    "SPEC_FILE": "grader.assessment",
    "load_assessment": "grader.assessment",
    "Competency": "grader.spec",
    "PathwaySpec": "grader.spec",
    "Scaffold": "grader.scaffold",
    "write_starting_spec": "grader.scaffold",
    "write_release": "grader.release",
    "ValidationReport": "grader.validate",
    "validate_assessment": "grader.validate",
    # grading
    "GradeOptions": "grader.grade",
    "content_hash": "grader.grade",
    "grade_submission": "grader.grade",
    "learner_id": "grader.grade",
    "by_grade_id": "grader.restore",
    "decide": "grader.score",
    "apply_manual_grades": "grader.rescore",
    "ManualMark": "grader.rescore",
    "roll_up": "grader.score",
    "CellScore": "grader.results",
    "CompetencyScore": "grader.results",
    "GradeResult": "grader.results",
    "IntegrityFlag": "grader.results",
    "TestFeedback": "grader.results",
    "write_feedback": "grader.feedback",
    "executed_folder": "grader.learner_view",
    # running notebooks
    "NotebookRunner": "grader.execute",
    "KernelRunner": "grader.execute",
    "SandboxedRunner": "grader.sandbox",
    "SandboxPolicy": "grader.sandbox",
    "ForkedRunner": "grader.forkserver",
    "InProcessRunner": "grader.inprocess_runner",
    "SandboxReport": "grader.sandbox_probe",
    "probe": "grader.sandbox_probe",
    # errors
    "GraderError": "grader.errors",
    "AssessmentError": "grader.errors",
}

__all__ = sorted(SURFACE)


def __getattr__(name: str) -> Any:
    """A surface name, imported from its module on first use."""
    if name in SURFACE:
        return getattr(importlib.import_module(SURFACE[name]), name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
