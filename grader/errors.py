"""Errors raised by the grader.

    GraderError
    ├── AssessmentError        an assessment folder or its assessment.yaml is wrong
    ├── SubmissionError        a submission cannot be graded (missing/corrupt notebook, wrong kernel)
    └── ExecutionError         running a notebook failed as a whole (timeout, dead kernel, sandbox)

Every error carries a message written for the person who can fix it, and pickles, so it can
cross a process boundary (worker pools, Celery).
"""

from __future__ import annotations


class GraderError(Exception):
    """Base class of every error the grader raises."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.message, self.path, self.hint))

    def __str__(self) -> str:
        text = self.message
        if self.path:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} (fix: {self.hint})"
        return text


def _rebuild(cls: type[GraderError], message: str, path: str | None, hint: str | None) -> GraderError:
    return cls(message, path=path, hint=hint)


class AssessmentError(GraderError):
    """The assessment folder, a source notebook or assessment.yaml is invalid."""


class SubmissionError(GraderError):
    """A submission cannot be graded as submitted."""


class ExecutionError(GraderError):
    """Executing a notebook failed as a whole."""
