"""Grading jobs by content, not by path: what crosses from an app process to a worker and back.

The app ships the assessment version (named by its fingerprint) and the submission's notebooks
(named by their content hash) to the shared store and sends a :class:`Ticket` — identifiers
only. A worker on any machine fetches the assessment once per fingerprint into its own cache,
fetches the submission, grades it, and ships the feedback page and the executed notebooks back
under ``feedback/<assessment>/<learner>/<hash>``; the app process that records the result pulls
them into its own ``NBCRED_HOME/feedback`` (and so does any other app process, on first view).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from grader.assessment import Assessment, load_assessment
from grader.grade import content_hash
from grader.learner_view import executed_folder
from grader.results import GradeResult
from nbcred.storage import BlobMissing, Storage, StorageError, fetch_tree, folder_files, merge_tree, put_tree

SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}
_SAFE = re.compile(r"^[A-Za-z0-9_.@+=-]{1,80}$")


@dataclass(frozen=True)
class Ticket:
    """One grading job as it travels: identifiers of content in the shared store, never paths."""

    assessment: str  # the assessment id
    fingerprint: str  # which version of it: ``assessments/<fingerprint>``
    submission: str  # the content hash: ``submissions/<assessment>/<hash>``
    learner: str
    key: str  # ``<learner>:<fingerprint>:<hash>``, the job's idempotency key

    def as_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        return cls(**{k: str(data[k]) for k in ("assessment", "fingerprint", "submission", "learner", "key")})


def part(text: str) -> str:
    """``text`` as one component of a store name (a digest of it when it has other characters)."""
    return text if _SAFE.match(text) and text not in {".", ".."} else \
        "h-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def assessment_name(fingerprint: str) -> str:
    return f"assessments/{part(fingerprint)}"


def submission_name(assessment_id: str, digest: str) -> str:
    return f"submissions/{part(assessment_id)}/{part(digest)}"


def feedback_name(assessment_id: str, learner: str, digest: str) -> str:
    return f"feedback/{part(assessment_id)}/{part(learner)}/{part(digest or 'none')}"


_shipped: set[tuple[int, str]] = set()
_shipped_lock = threading.Lock()


def ship_assessment(storage: Storage, assessment: Assessment) -> str:
    """Put the assessment version's files in the store once; its name."""
    name = assessment_name(assessment.fingerprint)
    with _shipped_lock:
        if (id(storage), name) in _shipped:
            return name
    if storage.resolve(name) is None:
        files = {rel: path for rel, path in folder_files(assessment.root).items()
                 if not SKIP & set(rel.split("/"))}
        put_tree(storage, name, files)
    with _shipped_lock:
        _shipped.add((id(storage), name))
    return name


def ship_submission(storage: Storage, assessment: Assessment, folder: Path, digest: str | None = None) -> str:
    """Put a submission's notebooks in the store (once per content); its content hash."""
    digest = digest or content_hash(folder, assessment)
    name = submission_name(assessment.id, digest)
    if storage.resolve(name) is None:
        files = {nb.filename: folder / nb.filename for nb in assessment.notebooks
                 if (folder / nb.filename).is_file()}
        put_tree(storage, name, files)
    return digest


def fetch_submission(storage: Storage, assessment_id: str, digest: str, cache: Path) -> Path:
    """The submission's notebooks in ``cache`` (fetched once)."""
    return fetch_tree(storage, submission_name(assessment_id, digest),
                      cache / "submissions" / part(assessment_id) / part(digest))


class AssessmentCache:
    """A worker's assessment versions, fetched once per fingerprint and kept loaded."""

    def __init__(self, storage: Storage, cache: Path) -> None:
        self.storage = storage
        self.cache = cache
        self._loaded: dict[str, Assessment] = {}
        self._lock = threading.Lock()

    def get(self, fingerprint: str, assessment_id: str) -> Assessment:
        """The version ``fingerprint`` of ``assessment_id`` (in a folder named by its id, as the
        assessment format wants); :class:`BlobMissing` if nobody shipped it."""
        with self._lock:
            if fingerprint not in self._loaded:
                folder = fetch_tree(self.storage, assessment_name(fingerprint),
                                    self.cache / "assessments" / part(fingerprint) / part(assessment_id))
                loaded = load_assessment(folder)
                if loaded.fingerprint != fingerprint:
                    raise StorageError(f"the files stored as {assessment_id} version {fingerprint[:12]} "
                                       f"have fingerprint {loaded.fingerprint[:12]}")
                self._loaded[fingerprint] = loaded
            return self._loaded[fingerprint]


def ship_feedback(storage: Storage, feedback_root: Path, result: GradeResult) -> GradeResult:
    """Put the feedback page and executed notebooks of ``result`` in the store; the result with
    ``feedback`` relative to the feedback folder (the receiving app makes it its own path)."""
    files: dict[str, Path] = {}
    page = Path(result.feedback) if result.feedback else None
    if page is not None and page.is_file() and page.is_relative_to(feedback_root):
        files[str(page.relative_to(feedback_root))] = page
    executed = executed_folder(feedback_root, result.assessment, result.learner, result.content_hash)
    if executed.is_dir():
        for rel, path in folder_files(executed).items():
            files[str((executed / rel).relative_to(feedback_root))] = path
    if not files:
        return replace(result, feedback=None)
    put_tree(storage, feedback_name(result.assessment, result.learner, result.content_hash), files)
    relative = str(page.relative_to(feedback_root)) if page is not None and page.is_file() else None
    return replace(result, feedback=relative)


def receive_feedback(storage: Storage, feedback_root: Path, result: GradeResult, *,
                     fetch: bool = True) -> GradeResult:
    """The result pointing at its feedback page under ``feedback_root``, the worker's files pulled
    there now (``fetch``) or on first view (:mod:`nbcred.service.shared`)."""
    if result.feedback is None or Path(result.feedback).is_absolute():
        return result
    if fetch:
        pull_feedback(storage, feedback_root, result.assessment, result.learner, result.content_hash)
    return replace(result, feedback=str(feedback_root / result.feedback))


def pull_feedback(storage: Storage, feedback_root: Path, assessment_id: str, learner: str,
                  digest: str) -> bool:
    """Write a graded submission's feedback files under ``feedback_root``; whether there were any."""
    try:
        merge_tree(storage, feedback_name(assessment_id, learner, digest), feedback_root)
    except BlobMissing:
        return False
    return True
