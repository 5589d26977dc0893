"""What every worker does with a job: load the assessment once, grade, never raise."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from grader.assessment import Assessment, load_assessment
from grader.errors import GraderError
from grader.execute import KernelRunner, NotebookRunner
from grader.grade import content_hash, grade_submission, learner_id
from grader.results import GradeResult
from nbcred.errors import ConfigurationError
from nbcred.pipeline import GradeJob, grade_options
from nbcred.settings import Settings

if TYPE_CHECKING:
    from grader.sandbox_probe import SandboxReport

log = logging.getLogger(__name__)
RUNNERS = ("auto", "inprocess", "forked", "sandboxed", "plain")


def private_paths(settings: Settings) -> tuple[str, ...]:
    """What no kernel may read, wherever it is: the service's home (gradebook, keys, uploads) and
    the catalogue (source notebooks, hidden tests)."""
    return tuple(str(p.expanduser().resolve()) for p in (settings.home, settings.catalogue))


def make_runner(
    name: str, assessment: Assessment | None = None, *, preload: bool = True,
    report: SandboxReport | None = None, engine: str = "shell", hide: tuple[str, ...] = (),
) -> NotebookRunner:
    """The notebook runner called ``name`` (see :func:`nbcred.executors.get_executor`); with
    ``preload``, a forked runner's template imports each assessment's modules too. ``report`` is
    a sandbox probe made on this machine already (by default it probes now). ``auto`` picks the
    in-process runner with ``engine="shell"`` (``Settings.notebook_engine``), else pre-forked
    kernels, when the machine allows forking from a template; sandboxed kernels otherwise.
    ``hide``: paths the sandbox covers even if its allow-list would show them (the service's home
    and catalogue, see :func:`private_paths`)."""
    if name == "plain":
        return KernelRunner()
    from grader.sandbox import SandboxedRunner, SandboxPolicy
    from grader.sandbox_probe import probe

    report = report or probe()
    policy = SandboxPolicy(hidden=hide)
    forkable = report.available("pidfd")
    if name == "inprocess" or (name == "auto" and forkable and engine == "shell"):
        from grader.inprocess_runner import InProcessRunner

        return InProcessRunner(report=report, assessment_preload=preload, policy=policy)
    if name == "forked" or (name == "auto" and forkable):
        from grader.forkserver import ForkedRunner

        return ForkedRunner(report=report, assessment_preload=preload, policy=policy)
    if name in ("auto", "sandboxed"):
        return SandboxedRunner(report=report, policy=policy)
    raise ConfigurationError(f"unknown runner {name!r}; choose one of: {', '.join(RUNNERS)}")


def error_result(job: GradeJob, message: str, assessment: Assessment | None = None) -> GradeResult:
    """A zero result carrying ``message``, for a job that could not be graded at all."""
    submission = Path(job.submission)
    learner = job.learner or (learner_id(submission, assessment) if assessment else submission.name)
    digest = ""
    if assessment is not None and submission.is_dir():
        try:
            digest = content_hash(submission, assessment)
        except OSError:
            digest = ""
    return GradeResult(
        learner=learner, assessment=assessment.id if assessment else Path(job.assessment).name,
        assessment_version=assessment.spec.version if assessment else "", score=0.0, max_score=0.0,
        passed=False, cells=[], competencies=[], tampered_cells=[], errors=[message], content_hash=digest,
    )


class JobGrader:
    """Grades jobs in one process: assessments are loaded once, the runner is built once."""

    def __init__(
        self, settings: Settings, runner: str = "auto", *, report: SandboxReport | None = None
    ) -> None:
        self.settings = settings
        self.runner_name = runner
        self.report = report
        self._runner: NotebookRunner | None = None
        self._assessments: dict[str, Assessment] = {}

    def assessment(self, path: str) -> Assessment:
        """The assessment at ``path``, loaded on first use."""
        if path not in self._assessments:
            self._assessments[path] = load_assessment(path)
        return self._assessments[path]

    def adopt(self, assessment: Assessment) -> None:
        """Know ``assessment`` by its folder without loading it again (a worker's fetched copy)."""
        self._assessments.setdefault(str(assessment.root), assessment)

    def runner(self, assessment: Assessment) -> NotebookRunner:
        """The runner, built on first use."""
        if self._runner is None:
            self._runner = make_runner(self.runner_name, assessment, preload=self.settings.kernel_preload,
                                       report=self.report, engine=self.settings.notebook_engine,
                                       hide=private_paths(self.settings))
        return self._runner

    def warm(self, path: str) -> None:
        """Load the assessment at ``path`` and start its runner (the kernel template) before
        the first job; a failure is left for that job to report."""
        from grader.forkserver import ForkedRunner

        try:
            assessment = self.assessment(path)
            runner = self.runner(assessment)
            if isinstance(runner, ForkedRunner):
                runner.use_preload(assessment.spec.execution.preload)
                runner.template.start()
        except Exception:
            log.debug("warming the worker for %s failed", path, exc_info=True)

    def grade(self, job: GradeJob) -> GradeResult:
        """Grade one job; every failure becomes an error in the result."""
        try:
            assessment = self.assessment(job.assessment)
        except GraderError as exc:
            return error_result(job, f"the assessment could not be loaded: {exc}")
        try:
            options = grade_options(self.settings, self.runner(assessment))
            return grade_submission(assessment, Path(job.submission), options=options,
                                    learner=job.learner)
        except Exception as exc:
            log.error("grading %s failed:\n%s", job.submission, traceback.format_exc())
            return error_result(job, f"grading failed: {type(exc).__name__}: {exc}", assessment)

    def close(self) -> None:
        """Stop the runner's helper processes, if any."""
        close = getattr(self._runner, "close", None)
        if callable(close):
            close()
