"""nbgrader exchange classes that talk to the nbcred web service instead of a shared folder.

Plug them in with ``nbgrader_config.py`` (``nbcred jupyter setup`` writes these lines)::

    c.CourseDirectory.course_id = "nbcred"
    c.ExchangeFactory.exchange = "nbcred.jupyter.exchange.Exchange"
    c.ExchangeFactory.list = "nbcred.jupyter.exchange.ExchangeList"
    c.ExchangeFactory.fetch_assignment = "nbcred.jupyter.exchange.ExchangeFetchAssignment"
    c.ExchangeFactory.submit = "nbcred.jupyter.exchange.ExchangeSubmit"
    c.ExchangeFactory.fetch_feedback = "nbcred.jupyter.exchange.ExchangeFetchFeedback"

and set ``NBCRED_URL`` and ``NBCRED_TOKEN`` (the learner's API token) in Jupyter's environment.
``nbgrader list``, ``fetch_assignment``, ``submit`` and ``fetch_feedback`` and JupyterLab's
Assignments tab then work as with nbgrader's own exchange; the service grades each submission.
Releasing and collecting stay with the service (its catalogue and gradebook).
"""

from __future__ import annotations

import difflib
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import httpx
from dateutil.tz import gettz
from nbgrader.exchange import abc
from traitlets import Bool, Float, Instance, Unicode, default
from traitlets.config import Application

from nbcred.jupyter.client import DEFAULT_TIMEOUT, RemoteAssessment, ServiceClient, SubmissionSummary
from nbcred.jupyter.errors import ServiceClientError
from nbcred.jupyter.feedback import fetched_fingerprint, fingerprint, with_links, write_stamp
from nbcred.jupyter.files import select_uploads, unpack_release
from nbcred.settings import Settings

DEFAULT_COURSE = "nbcred"
PENDING = ("queued", "running")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Exchange(abc.Exchange):  # type: ignore[misc]
    """What every nbcred exchange class shares: the service client, the course and local paths."""

    url = Unicode(
        help="Address of the nbcred service (default: the NBCRED_URL environment variable)."
    ).tag(config=True)
    token = Unicode(help="The learner's API token (default: NBCRED_TOKEN; keep it out of config files).")
    timeout = Float(
        DEFAULT_TIMEOUT, help="Seconds each request to the nbcred service may take before giving up."
    ).tag(config=True)
    path_includes_course = Bool(
        False, help="Fetch into ./<course>/<assessment> instead of ./<assessment>, as nbgrader's option."
    ).tag(config=True)
    http_client = Instance(httpx.Client, allow_none=True, help="An HTTP client to use (tests).")
    transport = Instance(httpx.BaseTransport, allow_none=True, help="An HTTP transport to use (tests).")

    _client: ServiceClient | None = None

    @default("url")
    def _default_url(self) -> str:
        return Settings().url or ""

    @default("token")
    def _default_token(self) -> str:
        token = Settings().token
        return token.get_secret_value() if token else ""

    def fail(self, msg: str) -> NoReturn:
        super().fail(msg)
        raise AssertionError("unreachable")  # nbgrader's fail always raises

    @property
    def client(self) -> ServiceClient:
        """The service client, opened on first use and closed when the command ends."""
        if self._client is None:
            self._client = ServiceClient(url=self.url, token=self.token, timeout=self.timeout,
                                         transport=self.transport, client=self.http_client)
        return self._client

    def start(self) -> Any:
        try:
            return super().start()
        except ServiceClientError as exc:
            if isinstance(self.parent, Application):
                self.fail(str(exc))  # a command: nbgrader prints the message and exits 1
            # JupyterLab's Assignments tab replaces every ExchangeError from a listing with a fixed
            # text about exchange directories; any other error reaches the learner with its message.
            self.log.error(str(exc))
            raise exc.with_traceback(None) from None
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    @property
    def course_id(self) -> str:
        """The course named in nbgrader's configuration, or ``nbcred``."""
        return str(self.coursedir.course_id or DEFAULT_COURSE)

    def assessment_id(self) -> str:
        """The assessment the command is about, checked to be a plain folder name."""
        name = str(self.coursedir.assignment_id or "").strip()
        if not name:
            self.fail("No assessment given: name one, e.g. `nbgrader fetch_assignment pandas-cleaning` "
                      "(`nbgrader list` shows the catalogue)")
        if not _NAME.match(name):
            self.fail(f"{name!r} is not an assessment id: ids are names such as pandas-cleaning "
                      "(letters, digits, '.', '_' and '-')")
        return name

    def local_path(self, assessment_id: str) -> Path:
        """Where the learner's copy of an assessment lives."""
        root = Path(self.assignment_dir)
        if self.path_includes_course:
            root = root / self.course_id
        return (root / assessment_id).absolute()

    def find(self, assessment_id: str) -> RemoteAssessment:
        """The catalogue entry, or a failure naming the closest ids."""
        entries = self.client.assessments()
        for entry in entries:
            if entry.id == assessment_id:
                return entry
        ids = [e.id for e in entries]
        close = difflib.get_close_matches(assessment_id, ids, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        self.fail(f"No assessment {assessment_id!r} in the nbcred catalogue at {self.client.url}: {hint}"
                  f"available: {', '.join(ids) or 'none'}")

    def stamp(self, moment: datetime) -> str:
        """A service time in nbgrader's timestamp format and time zone (names the feedback folders)."""
        zone = gettz(self.timezone)
        if zone is None:
            self.fail(f"Invalid timezone: {self.timezone}")
        return moment.astimezone(zone).strftime(self.timestamp_format)

    def absolute(self, url: str) -> str:
        """A link from the service made absolute (the page is opened inside Jupyter, not the service)."""
        return self.client.endpoint(url) if url.startswith("/") else url

    def relative(self, path: Path) -> str:
        """``path`` relative to the assignment folder when it is inside it (for messages)."""
        try:
            return str(path.relative_to(Path(self.assignment_dir).absolute()))
        except ValueError:
            return str(path)


class ExchangeList(Exchange, abc.ExchangeList):  # type: ignore[misc]
    """``nbgrader list``: the catalogue (released, fetched) or with ``--cached``/``--inbound`` submissions."""

    def init_src(self) -> None:
        pass

    def init_dest(self) -> None:
        pass

    def copy_files(self) -> None:
        pass

    def list_files(self) -> list[dict[str, Any]]:
        if self.inbound or self.cached:
            assignments = self.submitted()
            self.log.info("Submitted assignments:")
            for assignment in assignments:
                for info in assignment["submissions"]:
                    self.log.info(self.format_submission(info))
            return assignments
        released = self.released()
        self.log.info("Released assignments:")
        for info in released:
            suffix = " (already downloaded)" if info["status"] == "fetched" else ""
            self.log.info(f"{info['course_id']} {info['assignment_id']}{suffix}")
        return released

    def remove_files(self) -> NoReturn:
        self.fail("Assessments are removed from the nbcred service's catalogue, not from Jupyter: "
                  "ask your instructor")

    def released(self) -> list[dict[str, Any]]:
        """One entry per catalogue assessment, ``fetched`` when the learner has a local copy."""
        wanted = str(self.coursedir.assignment_id or "")
        out = []
        for entry in self.client.assessments():
            if wanted and entry.id != wanted:
                continue
            local = self.local_path(entry.id)
            info: dict[str, Any] = {
                "course_id": self.course_id, "assignment_id": entry.id, "title": entry.title,
                "version": entry.version, "attempts_allowed": entry.attempts_allowed,
                "has_badge": entry.has_badge,
            }
            if local.is_dir():
                notebooks = sorted(local.glob("*.ipynb"))
                info.update(status="fetched", path=str(local),
                            notebooks=[{"notebook_id": p.stem, "path": str(p)} for p in notebooks])
            else:
                url = self.client.endpoint(f"/api/v1/assessments/{quote(entry.id, safe='')}/release.zip")
                info.update(status="released", path=url,
                            notebooks=[{"notebook_id": n, "path": str(local / f"{n}.ipynb")}
                                       for n in entry.notebooks])
            out.append(info)
        if wanted and not out:
            self.log.warning(f"No assessment {wanted!r} in the nbcred catalogue")
        return out

    def submitted(self) -> list[dict[str, Any]]:
        """The learner's submissions grouped per assessment, with nbgrader's feedback flags."""
        wanted = str(self.coursedir.assignment_id or "") or None
        catalogue = {entry.id: entry for entry in self.client.assessments()}
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for summary in self.client.submissions(assessment_id=wanted):
            if wanted and summary.assessment != wanted:
                continue
            entry = catalogue.get(summary.assessment)
            info = self.submission_info(summary, entry.notebooks if entry else ())
            groups.setdefault((summary.learner, summary.assessment), []).append(info)
        return [
            {"course_id": self.course_id, "student_id": learner, "assignment_id": assessment,
             "status": "submitted", "submissions": sorted(infos, key=lambda i: i["timestamp"])}
            for (learner, assessment), infos in sorted(groups.items())
        ]

    def submission_info(self, summary: SubmissionSummary, notebooks: tuple[str, ...]) -> dict[str, Any]:
        """One submission in the shape of nbgrader's cached listing."""
        timestamp = self.stamp(summary.submitted_at)
        folder = self.local_path(summary.assessment) / "feedback" / timestamp
        stems = notebooks or tuple(sorted(p.stem for p in folder.glob("*.html")))
        graded = summary.status == "graded"
        nbs = []
        local = self.local_path(summary.assessment)
        for stem in stems:
            page = folder / f"{stem}.html"
            nbs.append({"notebook_id": stem, "path": str(local / f"{stem}.ipynb"),
                        "has_local_feedback": page.is_file(), "has_exchange_feedback": graded,
                        "local_feedback_path": str(page) if page.is_file() else None,
                        "feedback_updated": False})
        has_local = bool(nbs) and all(nb["has_local_feedback"] for nb in nbs)
        updated = graded and has_local and self.feedback_outdated(summary.id, folder)
        for nb in nbs:
            nb["feedback_updated"] = updated
        return {
            "course_id": self.course_id, "student_id": summary.learner, "assignment_id": summary.assessment,
            "timestamp": timestamp, "status": "submitted",
            "path": self.client.endpoint(f"/submissions/{quote(summary.id, safe='')}"),
            "notebooks": nbs, "has_local_feedback": has_local, "has_exchange_feedback": graded,
            "feedback_updated": updated, "local_feedback_path": str(folder) if has_local else None,
            "submission_id": summary.id, "grading_status": summary.status, "attempt": summary.attempt,
        }

    def feedback_outdated(self, submission_id: str, folder: Path) -> bool:
        """Whether the service graded the submission again since its feedback was fetched."""
        fetched = fetched_fingerprint(folder)
        return fetched is not None and fetched != fingerprint(self.client.submission(submission_id).result)

    def format_submission(self, info: dict[str, Any]) -> str:
        line = "{course_id} {student_id} {assignment_id} {timestamp}".format(**info)
        status = info["grading_status"]
        if status in PENDING:
            return f"{line} ({status}: being graded)"
        if status != "graded":
            return f"{line} (grading failed: no feedback; ask your instructor)"
        if info["feedback_updated"]:
            return f"{line} (graded again; updated feedback ready to be fetched)"
        if info["has_local_feedback"]:
            return f"{line} (graded; feedback already fetched)"
        return f"{line} (graded; feedback ready to be fetched)"


class ExchangeFetchAssignment(Exchange, abc.ExchangeFetchAssignment):  # type: ignore[misc]
    """``nbgrader fetch_assignment``: download the student version into ``./<assessment>``."""

    def init_src(self) -> None:
        self.entry = self.find(self.assessment_id())

    def init_dest(self) -> None:
        self.dest_path = self.local_path(self.entry.id)
        if self.dest_path.exists() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in this directory: "
                      f"{self.relative(self.dest_path)} (to get missing files back, use "
                      "--replace; to start over, rename that folder first)")

    def copy_files(self) -> None:
        self.log.info(f"Source: {self.client.url} ({self.entry.title}, version {self.entry.version})")
        self.log.info(f"Destination: {self.dest_path}")
        unpacked = unpack_release(self.client.release_zip(self.entry.id), dest=self.dest_path,
                                  assessment_id=self.entry.id)
        for name in unpacked.kept:
            self.log.debug(f"Kept your '{name}'")
        if unpacked.kept:
            for name in unpacked.written:
                self.log.warning(f"Replacing missing file '{name}'")
        self.log.info(f"Fetched as: {self.course_id} {self.entry.id}")


class ExchangeSubmit(Exchange, abc.ExchangeSubmit):  # type: ignore[misc]
    """``nbgrader submit``: upload the notebooks; the service grades them and keeps the attempt."""

    def init_src(self) -> None:
        self.src_path = self.local_path(self.assessment_id())
        if not self.src_path.is_dir():
            self.fail(f"Assignment not found at: {self.src_path} (fetch it first: "
                      f"`nbgrader fetch_assignment {self.coursedir.assignment_id}` or the Fetch button "
                      "in the Assignments tab)")

    def init_dest(self) -> None:
        self.entry = self.find(self.assessment_id())

    def copy_files(self) -> None:
        selection = select_uploads(self.src_path, notebooks=self.entry.notebooks)
        if not selection.uploads:
            self.fail(f"Assignment {self.entry.id} not submitted: no notebook of it in {self.src_path} "
                      f"(expected {', '.join(selection.missing)})")
        if selection.missing and self.strict:
            self.fail(f"Assignment {self.entry.id} not submitted: missing notebooks "
                      f"{', '.join(selection.missing)}")
        if selection.missing:
            self.log.warning(f"Missing notebooks, which will score 0: {', '.join(selection.missing)}")
        if selection.extra:
            self.log.warning(f"Not submitted (not part of {self.entry.id}): {', '.join(selection.extra)}")
        self.log.info(f"Source: {self.src_path}")
        self.log.info(f"Destination: {self.client.url}")
        receipt = self.client.submit(assessment_id=self.entry.id, files=selection.uploads)
        if receipt.status not in (*PENDING, "graded"):
            self.fail(f"The nbcred service did not queue the submission of {self.entry.id} "
                      f"(status {receipt.status!r}): submit again, or tell your instructor")
        attempts = f" of {self.entry.attempts_allowed}" if self.entry.attempts_allowed else ""
        attempt = f", attempt {receipt.attempt}{attempts}" if receipt.attempt else ""
        self.log.info(f"Submitted as: {self.course_id} {self.entry.id} {self.timestamp}")
        self.log.info(f"Submission {receipt.id}: {receipt.status}{attempt}; fetch the feedback once it "
                      "is graded")


class ExchangeFetchFeedback(Exchange, abc.ExchangeFetchFeedback):  # type: ignore[misc]
    """``nbgrader fetch_feedback``: each graded submission's feedback page, with wallet and badge links."""

    grading_wait = Float(
        30.0, help="Seconds to wait for submissions still being graded before fetching (0: do not wait)."
    ).tag(config=True)

    def init_src(self) -> None:
        assessment = self.assessment_id()
        self.submissions = self.mine(assessment)
        if not self.submissions:
            self.fail(f"You have not submitted {assessment} to the nbcred service yet: submit it first")
        deadline = time.monotonic() + self.grading_wait
        if any(s.status in PENDING for s in self.submissions) and self.grading_wait > 0:
            self.log.info(f"Waiting up to {self.grading_wait:g} s for the grading to finish")
        while any(s.status in PENDING for s in self.submissions) and time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            self.submissions = self.mine(assessment)

    def mine(self, assessment: str) -> list[SubmissionSummary]:
        """The learner's submissions of ``assessment``."""
        return [s for s in self.client.submissions(assessment_id=assessment) if s.assessment == assessment]

    def init_dest(self) -> None:
        self.dest_path = self.local_path(self.assessment_id()) / "feedback"

    def copy_files(self) -> None:
        assessment = self.assessment_id()
        notebooks = next((e.notebooks for e in self.client.assessments() if e.id == assessment), ())
        badges: dict[str, str] | None = None
        for summary in sorted(self.submissions, key=lambda s: s.submitted_at):
            timestamp = self.stamp(summary.submitted_at)
            if summary.status in PENDING:
                self.log.warning(f"Your submission of {timestamp} is still {summary.status}: fetch the "
                                 "feedback again in a moment")
                continue
            state = self.client.submission(summary.id)
            if state.status != "graded":
                self.log.warning(f"Your submission of {timestamp} could not be graded"
                                 f"{': ' + state.error if state.error else ''}; ask your instructor")
                continue
            badge = None
            if state.credential:
                if badges is None:
                    badges = {c.id: c.url for c in self.client.credentials()}
                listed = badges.get(state.credential)
                badge = self.absolute(listed) if listed else self.client.endpoint(
                    f"/credentials/{quote(state.credential.removeprefix('urn:uuid:'), safe='')}")
            own_page = self.client.endpoint(f"/submissions/{quote(summary.id, safe='')}")
            page = with_links(self.client.feedback_html(summary.id), badge_url=badge,
                              wallet_url=self.client.endpoint("/wallet"), submission_url=own_page)
            folder = self.dest_path / timestamp
            folder.mkdir(parents=True, exist_ok=True)
            for stem in notebooks or ("feedback",):
                target = folder / f"{stem}.html"
                target.write_text(page, encoding="utf-8")
                self.log.info(f"Fetched feedback: {target}")
            write_stamp(folder, submission_id=summary.id, result=state.result)
