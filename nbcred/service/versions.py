"""Every assessment version that has submissions, kept: past work stays viewable after a change.

An assessment's files are archived in the gradebook (``assessment_archives``, keyed by the
assessment's fingerprint) when the service loads it and when a learner submits to it. A
submission names the fingerprint it was graded with; :func:`assessment_for` returns that version:
the catalogue's own when it still matches, else the archived one, unpacked once under
``NBCRED_HOME/assessment-versions``. Regrading against a newer version is a separate, explicit
instructor action (:mod:`nbcred.service.regrade`).
"""

from __future__ import annotations

import io
import logging
import shutil
import tarfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader.assessment import Assessment, load_assessment
from grader.errors import GraderError
from nbcred.catalogue import Catalogue
from nbcred.store.models import AssessmentArchive

if TYPE_CHECKING:  # the context imports this module when it loads the catalogue
    from nbcred.service.context import ServiceContext

log = logging.getLogger(__name__)
SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}
_loaded: dict[tuple[str, str], Assessment] = {}
_lock = threading.Lock()


def pack(folder: Path) -> bytes:
    """A gzipped tar of an assessment folder (caches and checkpoints left out)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if SKIP & set(rel.parts) or not path.is_file():
                continue
            tar.add(path, arcname=str(rel), recursive=False)
    return out.getvalue()


def keep(ctx: ServiceContext, assessment: Assessment) -> None:
    """Archive this assessment version unless the gradebook has it already."""
    with ctx.store.session() as session:
        if session.get(AssessmentArchive, assessment.fingerprint) is not None:
            return
    try:
        with ctx.store.session() as session:
            session.add(AssessmentArchive(
                fingerprint=assessment.fingerprint, assessment_id=assessment.id,
                version=assessment.spec.version, archive=pack(assessment.root)))
    except IntegrityError:  # archived concurrently by another process
        pass


def keep_catalogue(ctx: ServiceContext, catalogue: Catalogue) -> None:
    """Archive every assessment of a freshly loaded catalogue (cheap when already kept)."""
    for assessment in catalogue.assessments.values():
        try:
            keep(ctx, assessment)
        except Exception:  # never block loading; the next submission archives it again
            log.exception("could not archive %s", assessment.id)


def assessment_for(ctx: ServiceContext, assessment_id: str, fingerprint: str) -> Assessment | None:
    """The version of ``assessment_id`` with this fingerprint: the live one, else the archived one."""
    live = ctx.catalogue.assessments.get(assessment_id)
    if live is not None and live.fingerprint == fingerprint:
        return live
    key = (str(ctx.settings.home.resolve()), fingerprint)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        with ctx.store.session() as session:
            row = session.get(AssessmentArchive, fingerprint)
            data = None if row is None or row.assessment_id != assessment_id else bytes(row.archive)
        if data is None:
            return None
        folder = ctx.settings.home / "assessment-versions" / fingerprint[:16] / assessment_id
        try:
            found = _unpack_and_load(data, folder)
        except (GraderError, OSError, tarfile.TarError) as exc:
            log.warning("archived version %s of %s cannot be loaded: %s", fingerprint[:12],
                        assessment_id, exc)
            return None
        _loaded[key] = found
        return found


def archived_versions(ctx: ServiceContext, assessment_id: str) -> list[tuple[str, str]]:
    """(version, fingerprint) of every archived version of an assessment, oldest first."""
    with ctx.store.session() as session:
        rows = session.execute(select(AssessmentArchive.version, AssessmentArchive.fingerprint)
                               .where(AssessmentArchive.assessment_id == assessment_id)
                               .order_by(AssessmentArchive.created_at)).all()
    return [(str(v), str(f)) for v, f in rows]


def _unpack_and_load(data: bytes, folder: Path) -> Assessment:
    if not (folder / ".complete").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(folder, filter="data")
        (folder / ".complete").write_text("")
    return load_assessment(folder)
