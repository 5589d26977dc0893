"""Grade one submission folder: restore, parameterise, execute, score, roll up, decide.

A pure function of (assessment, submission files, runner): it never touches a database. Every
problem with the submission becomes a message in ``GradeResult.errors``; only a broken
*assessment* raises.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import LimitOutput
from papermill.parameterize import parameterize_notebook

from grader.assessment import Assessment, SourceNotebook
from grader.cause import as_shown
from grader.errors import SubmissionError
from grader.execute import NotebookRunner, RunOutcome
from grader.feedback import test_feedback, write_feedback
from grader.integrity.flags import collect_flags
from grader.learner_view import executed_folder, write_learner_view
from grader.restore import grade_ids, restore
from grader.results import CellScore, GradeResult, IntegrityFlag, TestFeedback
from grader.score import decide, roll_up, score_notebook


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: where notebooks run, the seed secret and where feedback goes."""

    runner: NotebookRunner
    seed_secret: bytes = b""
    feedback_dir: Path | None = None


def learner_id(submission: Path, assessment: Assessment) -> str:
    """nbgrader's ``submitted/<learner>/<assignment>`` layout names the learner by the parent."""
    folder = submission.resolve()
    if folder.name in {assessment.id, assessment.root.name}:
        return folder.parent.name
    return folder.name


def content_hash(submission: Path, assessment: Assessment) -> str:
    """SHA-256 over the submitted notebooks' bytes (absent ones marked): the submission's key."""
    digest = hashlib.sha256(assessment.id.encode())
    for nb in assessment.notebooks:
        path = submission / nb.filename
        digest.update(nb.filename.encode())
        digest.update(path.read_bytes() if path.is_file() else b"\0missing\0")
    return digest.hexdigest()


def learner_seed(secret: bytes, assessment_id: str, learner: str) -> int:
    """A per-learner seed that learners cannot predict without the secret."""
    mac = hmac.new(secret, f"{assessment_id}\0{learner}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:4], "big") % (2**31 - 1)


def grade_submission(
    assessment: Assessment,
    submission: Path,
    *,
    options: GradeOptions,
    learner: str | None = None,
) -> GradeResult:
    """Grade ``submission`` (a folder of the learner's notebooks) against ``assessment``."""
    start = time.perf_counter()
    submission = Path(submission)
    learner = learner or learner_id(submission, assessment)
    errors: list[str] = []
    if not submission.is_dir():
        errors.append(f"{submission}: submission folder not found (pass the folder that holds "
                      "the learner's notebooks)")
    digest = content_hash(submission, assessment) if submission.is_dir() else ""
    cells: list[CellScore] = []
    tampered: list[str] = []
    tests: list[TestFeedback] = []
    flags: list[IntegrityFlag] = []
    for source in assessment.notebooks:
        scored, notes = _grade_notebook(assessment, source, submission, learner, options, errors, digest,
                                        flags=flags)
        cells += scored
        tampered += [f"{source.name}/{gid}" for gid in notes[0]]
        tests += notes[1]
    score = round(sum(c.score for c in cells), 6)
    max_score = round(sum(c.max_score for c in cells), 6)
    competencies = roll_up(assessment.spec, cells)
    result = GradeResult(
        learner=learner, assessment=assessment.id, assessment_version=assessment.spec.version,
        score=score, max_score=max_score,
        passed=decide(assessment, score, max_score, competencies, errors,
                      needs_manual=any(c.needs_manual for c in cells)),
        cells=cells, competencies=competencies, tampered_cells=tampered, errors=errors,
        content_hash=digest, needs_manual=any(c.needs_manual for c in cells), tests=tests,
        integrity=flags,
    )
    if options.feedback_dir is not None:
        result.feedback = str(write_feedback(result, assessment, options.feedback_dir))
    result.seconds = time.perf_counter() - start
    return result


def _grade_notebook(
    assessment: Assessment,
    source: SourceNotebook,
    submission: Path,
    learner: str,
    options: GradeOptions,
    errors: list[str],
    digest: str = "",
    *,
    flags: list[IntegrityFlag],
) -> tuple[list[CellScore], tuple[list[str], list[TestFeedback]]]:
    zero = score_notebook(source.grade_cells, None, None)
    try:
        submitted = read_submission(submission / source.filename)
    except SubmissionError as exc:
        if submission.is_dir():
            errors.append(str(exc))
        return zero, ([], test_feedback(assessment, source, zero, None, None))
    if source.grade_cells and not grade_ids(submitted) & grade_ids(source.reference):
        errors.append(
            f"{source.filename}: none of its graded cells belong to assessment "
            f"{assessment.id!r}; is this a notebook from another assessment? (download the "
            "student version of this assessment and submit that)"
        )
        return zero, ([], test_feedback(assessment, source, zero, None, None))
    try:
        restored = restore(submitted, source.reference, source.release)
    except SubmissionError as exc:
        errors.append(f"{source.filename}: {exc}")
        return zero, ([], test_feedback(assessment, source, zero, None, None))
    prepared = parameterize(restored.notebook, assessment, learner, options.seed_secret)
    outcome = _execute(assessment, source, prepared, options)
    if outcome.error:
        errors.append(f"{source.filename}: {outcome.error}")
    flags += collect_flags(outcome.notebook, source.name)
    executed, _ = LimitOutput().preprocess(outcome.notebook, {})
    if options.feedback_dir is not None:
        write_learner_view(as_shown(executed, outcome.replies, assessment.spec.execution), source,
                           executed_folder(options.feedback_dir, assessment.id, learner, digest))
    scored = score_notebook(source.grade_cells, executed, outcome.replies)
    return scored, (restored.tampered, test_feedback(assessment, source, scored, executed,
                                                     outcome.replies, limit=outcome.limit,
                                                     died=outcome.died))


def read_submission(path: Path) -> NotebookNode:
    """Read a learner's notebook, turning every way it can be broken into a clear error."""
    if not path.is_file():
        raise SubmissionError(
            f"{path.name} is missing from the submission; its cells score 0",
            path=str(path.parent), hint=f"submit {path.name} with the same name as released",
        )
    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(
            f"not a notebook (not valid JSON: {exc}); its cells score 0",
            path=str(path), hint="re-download your notebook from Jupyter (File > Download) "
            "and submit it again",
        ) from exc
    try:
        # nbformat.reads validates once; the error it captures is raised (no second validation)
        captured: dict[str, Any] = {}
        nb: NotebookNode = nbformat.reads(raw, as_version=4, capture_validation_error=captured)
        if "ValidationError" in captured:
            raise captured["ValidationError"]
    except Exception as exc:
        kind = "a notebook" if isinstance(data, dict) and "cells" in data else "JSON but not a notebook"
        raise SubmissionError(
            f"{kind} that nbformat rejects: {exc}; its cells score 0",
            path=str(path), hint="open it in JupyterLab, save it, and submit it again",
        ) from exc
    return nb


def parameterize(
    nb: NotebookNode, assessment: Assessment, learner: str, secret: bytes
) -> NotebookNode:
    """Inject the assessment's papermill parameters (and the learner's seed) after ``parameters``."""
    params: dict[str, Any] = dict(assessment.spec.parameters)
    if assessment.spec.seed_parameter:
        params[assessment.spec.seed_parameter] = learner_seed(secret, assessment.id, learner)
    if not params:
        return nb
    nb = copy.deepcopy(nb)
    untagged = [cell for cell in nb.cells if "tags" not in cell.metadata]
    for cell in untagged:  # papermill expects every cell to carry a tags list
        cell.metadata["tags"] = []
    nb.metadata["papermill"] = {}
    injected: NotebookNode = parameterize_notebook(nb, params, comment="Parameters (nbcred)")
    injected.metadata.pop("papermill", None)
    for cell in injected.cells:
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    return injected


def _execute(
    assessment: Assessment, source: SourceNotebook, nb: NotebookNode, options: GradeOptions
) -> RunOutcome:
    kernel = source.reference.metadata.get("kernelspec", {}).get("name", "python3")
    new_workdir = getattr(options.runner, "new_workdir", None)  # a runner may have one ready
    workdir = new_workdir() if callable(new_workdir) else Path(tempfile.mkdtemp(prefix="nbcred-run-"))
    try:
        for rel in assessment.data_files:
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(assessment.source_dir / rel, target)
        # The notebook as the kernel's working folder holds it: compact JSON without a second
        # schema validation (it was validated when read; restoring and parameterising keep it
        # valid). nbformat's indented writer runs json's pure-Python encoder, on the path to the result.
        (workdir / source.filename).write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
        return options.runner.run(
            nb, workdir=workdir, limits=assessment.spec.execution, kernel_name=kernel
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
