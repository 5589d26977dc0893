"""Authoring and batch grading as service operations: validate, release, grade folders.

The command line calls these (``nbcred validate|release|grade``); the web service grades through
the queue (:mod:`nbcred.service.queue`), which records and issues the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.results import GradeResult
from nbcred.executors.local import LocalExecutor, stop_fork_server
from nbcred.pipeline import BatchReport as BatchReport  # the front ends type what grading returns
from nbcred.pipeline import grade_batch, grade_options
from nbcred.service.context import ServiceContext, make_executor
from nbcred.settings import Settings

if TYPE_CHECKING:  # the grader (nbgrader, nbclient…) is imported once grading workers are starting
    from grader.scaffold import Scaffold
    from grader.validate import ValidationReport


@dataclass(frozen=True)
class Validated:
    """One assessment folder checked: its report, or why it could not be loaded."""

    path: Path
    report: ValidationReport | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok


@dataclass(frozen=True)
class GradedBatch:
    """What grading a batch did, and whether passing earns a badge."""

    report: BatchReport
    assessment: str
    has_badge: bool


def validate_folders(settings: Settings, paths: Sequence[Path]) -> Iterator[Validated]:
    """Check each assessment: the solution scores full marks, the student version zero."""
    from grader.assessment import load_assessment
    from grader.errors import GraderError
    from grader.execute import KernelRunner
    from grader.validate import validate_assessment

    for path in paths:
        try:
            assessment = load_assessment(path)
        except GraderError as exc:
            yield Validated(path, None, str(exc))
            continue
        options = grade_options(settings, KernelRunner())
        yield Validated(path, validate_assessment(assessment, options=options))


def release_folder(assessment: Path, output: Path) -> list[Path]:
    """Write the student version and data files of ``assessment`` to ``output``."""
    from grader.assessment import load_assessment
    from grader.release import write_release

    return write_release(load_assessment(assessment), output)


def init_folder(assignment: Path, *, force: bool = False) -> Scaffold:
    """Write a starting ``assessment.yaml`` for an nbgrader assignment that grades exactly as the
    folder does without one (``nbcred init``)."""
    from grader.scaffold import write_starting_spec

    return write_starting_spec(assignment, force=force)


def grade_folders(
    settings: Settings,
    *,
    assessment: Path,
    submissions: Sequence[Path],
    issue: bool = True,
    on_result: Callable[[GradeResult], None] | None = None,
    quiet: bool = False,
) -> GradedBatch:
    """Grade submission folders, record each result and issue credentials to those who pass.

    Local workers are started first: they import the grader, load the assessment and start
    their kernel templates while this process loads it too, opens the gradebook and looks up
    which submissions are graded already.
    """
    executor = make_executor(settings)
    if isinstance(executor, LocalExecutor):
        executor.start_workers(len(submissions), assessment=str(assessment))
    try:
        from grader.assessment import load_assessment

        loaded = load_assessment(assessment)
        from nbcred.issuance import CredentialIssuer

        ctx = ServiceContext.open(settings, executor=executor)
        # one folder is graded, not the catalogue: when a badge completes a pathway, the issuer
        # reads the pathways from the settings' folder instead of loading every assessment
        issuer = CredentialIssuer(settings, ctx.store) if issue else None
        with ctx.progress(len(submissions), quiet=quiet) as progress:
            def record(result: GradeResult) -> None:
                progress.advance(result)
                if on_result is not None:
                    on_result(result)

            report = grade_batch(loaded, submissions, store=ctx.store, executor=ctx.executor,
                                 issuer=issuer, on_result=record)
    finally:
        if isinstance(executor, LocalExecutor):
            executor.close()
    if isinstance(executor, LocalExecutor):  # every worker has ended (not so after an error)
        stop_fork_server()
    return GradedBatch(report, loaded.id, loaded.spec.badge is not None)
