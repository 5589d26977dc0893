"""Files every app process sees alike: uploads and graded feedback found through the shared store.

An app process keeps what it stored or fetched under its own ``NBCRED_HOME`` (a cache); a path
recorded by another process (another machine, another home) is fetched from the store by the
content's names (:mod:`nbcred.executors.shipping`) the first time this process needs it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from grader.assessment import Assessment
from grader.learner_view import executed_folder
from nbcred.executors.shipping import (
    fetch_submission,
    pull_feedback,
    ship_assessment,
    ship_submission,
)
from nbcred.service.context import ServiceContext
from nbcred.storage import Storage, StorageError, open_storage

log = logging.getLogger(__name__)


def storage(ctx: ServiceContext) -> Storage:
    """The store ``NBCRED_STORAGE`` names."""
    return open_storage(ctx.settings)


def share_upload(ctx: ServiceContext, assessment: Assessment, folder: Path, digest: str) -> None:
    """With a shared store, put an accepted upload (and its assessment version) there."""
    store = storage(ctx)
    if store.shared:
        ship_assessment(store, assessment)
        ship_submission(store, assessment, folder, digest)


def feedback_root(ctx: ServiceContext) -> Path:
    return (ctx.settings.home.expanduser() / "feedback").resolve()


def upload_folder(ctx: ServiceContext, assessment_id: str, digest: str, recorded: str) -> Path:
    """A submission's uploaded notebooks here: where they were stored, else fetched once."""
    folder = Path(recorded)
    if folder.is_dir():
        return folder
    local = (ctx.settings.home.expanduser() / "uploads" / assessment_id / digest).resolve()
    if local.is_dir():
        return local
    store = storage(ctx)
    if not store.shared:
        return folder
    try:
        return fetch_submission(store, assessment_id, digest,
                                (ctx.settings.home.expanduser() / "cache").resolve())
    except StorageError as exc:
        log.warning("submission %s/%s is not in the store: %s", assessment_id, digest[:12], exc)
        return folder


def executed_here(ctx: ServiceContext, assessment_id: str, learner: str, digest: str) -> Path:
    """The folder of a graded submission's executed notebooks here (fetched once if need be)."""
    root = feedback_root(ctx)
    folder = executed_folder(root, assessment_id, learner, digest)
    if not folder.is_dir():
        _pull(ctx, root, assessment_id, learner, digest)
    return folder


def feedback_here(ctx: ServiceContext, recorded: str | None, assessment_id: str, learner: str,
                  digest: str) -> Path | None:
    """A grading's feedback page here: where it was recorded, else fetched into this home."""
    if not recorded:
        return None
    path = Path(recorded)
    if path.is_file():
        return path
    root = feedback_root(ctx)
    local = root / assessment_id / learner / path.name
    if not local.is_file():
        _pull(ctx, root, assessment_id, learner, digest)
    return local if local.is_file() else None


def _pull(ctx: ServiceContext, root: Path, assessment_id: str, learner: str, digest: str) -> None:
    store = storage(ctx)
    if not store.shared:
        return
    try:
        pull_feedback(store, root, assessment_id, learner, digest)
    except StorageError as exc:
        log.warning("feedback of %s/%s cannot be fetched: %s", assessment_id, learner, exc)
