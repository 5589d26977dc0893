"""A small typed client of the nbcred web service's ``/api/v1`` (the calls a learner's Jupyter needs).

Every call has a short timeout and turns transport and HTTP failures into
:mod:`nbcred.jupyter.errors` with a message for the learner. Tests inject an ``httpx`` transport or
a ready client (for instance Starlette's ``TestClient``) instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from nbcred.jupyter.errors import NotConfigured, ServiceFailed, ServiceRefused, ServiceUnreachable

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class RemoteAssessment:
    """An assessment of the service's catalogue as a learner sees it."""

    id: str
    title: str
    version: str
    notebooks: tuple[str, ...]
    attempts_allowed: int | None
    has_badge: bool


@dataclass(frozen=True)
class Receipt:
    """What the service answered to an upload: the submission is queued for grading."""

    id: str
    status: str
    attempt: int | None


@dataclass(frozen=True)
class SubmissionSummary:
    """One submission as listed."""

    id: str
    assessment: str
    learner: str
    status: str
    submitted_at: datetime
    attempt: int | None


@dataclass(frozen=True)
class SubmissionState:
    """A submission with its grading result once graded (the ``nbcred grade --format json`` object)."""

    id: str
    status: str
    result: dict[str, Any] | None
    error: str | None

    @property
    def credential(self) -> str | None:
        """The id of the credential issued (or already held) for this submission, if any."""
        value = (self.result or {}).get("credential")
        return str(value) if value else None


@dataclass(frozen=True)
class RemoteCredential:
    """One of the learner's credentials as the wallet lists it."""

    id: str
    achievement: str
    issued: str
    url: str


@dataclass(frozen=True)
class Upload:
    """A file to submit: its name (``cleaning.ipynb``) and bytes."""

    name: str
    data: bytes


class ServiceClient:
    """Calls the nbcred service as the learner whose API token it holds. Use as a context manager."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = check_url(url)
        if not token.strip():
            raise NotConfigured(
                "NBCRED_TOKEN is not set: create an API token on your account page of the nbcred "
                f"service ({self.url}) and export NBCRED_TOKEN=<token> before starting Jupyter"
            )
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self._owned = client is None
        self._http = client or httpx.Client(transport=transport, timeout=limits, follow_redirects=False)
        self._headers = headers

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (a client passed in is left open)."""
        if self._owned:
            self._http.close()

    def endpoint(self, path: str) -> str:
        """The absolute URL of a path of the service."""
        return f"{self.url}{path}"

    def assessments(self) -> list[RemoteAssessment]:
        """The catalogue (``GET /api/v1/assessments``)."""
        rows = self._json("GET", "/api/v1/assessments")
        return _parse(_entry, _rows(rows, "the catalogue"), "the catalogue")

    def release_zip(self, assessment_id: str) -> bytes:
        """The student version of an assessment as a zip."""
        return self._send("GET", f"/api/v1/assessments/{_seg(assessment_id)}/release.zip").content

    def submit(self, *, assessment_id: str, files: Sequence[Upload]) -> Receipt:
        """Upload notebooks for grading; the service answers 202 and grades them in the background."""
        parts = [("files", (f.name, f.data, "application/x-ipynb+json")) for f in files]
        body = self._json("POST", "/api/v1/submissions", data={"assessment": assessment_id}, files=parts)
        if not isinstance(body, dict) or "id" not in body:
            raise ServiceFailed(f"the service answered the upload with {body!r} instead of a submission id")
        return Receipt(str(body["id"]), str(body.get("status", "queued")), _int(body.get("attempt")))

    def submissions(self, *, assessment_id: str | None = None) -> list[SubmissionSummary]:
        """The learner's submissions, optionally of one assessment."""
        params = {"assessment": assessment_id} if assessment_id else None
        rows = self._json("GET", "/api/v1/submissions", params=params)
        return _parse(_summary, _rows(rows, "the submissions"), "the submissions")

    def submission(self, submission_id: str) -> SubmissionState:
        """One submission with its result once graded."""
        body = self._json("GET", f"/api/v1/submissions/{_seg(submission_id)}")
        if not isinstance(body, dict):
            raise ServiceFailed(f"the service answered {body!r} for submission {submission_id}")
        result = body.get("result")
        error = body.get("error")
        return SubmissionState(
            id=str(body.get("id", submission_id)),
            status=str(body.get("status", "")),
            result=result if isinstance(result, dict) else None,
            error=str(error) if error else None,
        )

    def feedback_html(self, submission_id: str) -> str:
        """The learner feedback page of a graded submission."""
        return self._send("GET", f"/api/v1/submissions/{_seg(submission_id)}/feedback").text

    def credentials(self) -> list[RemoteCredential]:
        """The learner's credentials."""
        rows = self._json("GET", "/api/v1/credentials")
        return [
            RemoteCredential(str(r.get("id", "")), str(r.get("achievement", "")),
                              str(r.get("issued", "")), str(r.get("url", "")))
            for r in _rows(rows, "the credentials")
        ]

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceFailed(
                f"the nbcred service at {self.url} answered {path} with something that is not JSON: "
                "check that NBCRED_URL points at the nbcred service itself"
            ) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, self.endpoint(path), headers=self._headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceUnreachable(
                f"the nbcred service at {self.url} did not answer within {self.timeout:g} s: "
                "try again in a minute; if it keeps happening, tell your instructor"
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnreachable(
                f"cannot reach the nbcred service at {self.url} ({exc.__class__.__name__}: {exc}): "
                "check your network and that NBCRED_URL is right; if it is, the service is down — "
                "tell your instructor"
            ) from exc
        if response.is_success:
            return response
        raise _refusal(self.url, response)


def check_url(url: str) -> str:
    """The service's base URL without a trailing slash, or :class:`NotConfigured` saying what to set."""
    cleaned = url.strip().rstrip("/")
    if not cleaned:
        raise NotConfigured(
            "NBCRED_URL is not set: export NBCRED_URL=<the address of your nbcred service, "
            "e.g. https://badges.example.org> before starting Jupyter (ask your instructor)"
        )
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NotConfigured(f"NBCRED_URL={url!r} is not an http(s) address: use e.g. https://badges.example.org")
    return cleaned


def _refusal(url: str, response: httpx.Response) -> ServiceRefused | ServiceFailed:
    detail = _detail(response)
    status = response.status_code
    if status >= 500:
        return ServiceFailed(
            f"the nbcred service at {url} failed (HTTP {status}{': ' + detail if detail else ''}); "
            "nothing was lost on your side: try again later or tell your instructor"
        )
    if status == 401:
        message = (f"the nbcred service did not accept your token ({detail or 'HTTP 401'}): create a new "
                   f"API token on your account page at {url} and set NBCRED_TOKEN to it")
    elif status == 413:
        message = f"the upload was refused as too large: {detail or 'HTTP 413'}"
    else:
        message = detail or f"the nbcred service refused the request (HTTP {status})"
    return ServiceRefused(message, status=status, detail=detail)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(i.get("msg", i)) if isinstance(i, dict) else str(i) for i in detail)
    return str(detail) if detail else ""


def _rows(body: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
        raise ServiceFailed(f"the service answered {what} with {str(body)[:200]!r} instead of a list")
    return body


def _parse(make: Callable[[dict[str, Any]], T], rows: list[dict[str, Any]], what: str) -> list[T]:
    try:
        return [make(row) for row in rows]
    except KeyError as exc:
        raise ServiceFailed(f"the service listed {what} without the field {exc}: "
                            "is it an older version?") from exc


def _entry(row: dict[str, Any]) -> RemoteAssessment:
    return RemoteAssessment(
        id=str(row["id"]),
        title=str(row.get("title") or row["id"]),
        version=str(row.get("version", "")),
        notebooks=tuple(str(n) for n in row.get("notebooks", [])),
        attempts_allowed=_int(row.get("attempts_allowed")),
        has_badge=bool(row.get("has_badge", False)),
    )


def _summary(row: dict[str, Any]) -> SubmissionSummary:
    return SubmissionSummary(
        id=str(row["id"]),
        assessment=str(row.get("assessment", "")),
        learner=str(row.get("learner", "")),
        status=str(row.get("status", "")),
        submitted_at=parse_moment(str(row.get("submitted_at", ""))),
        attempt=_int(row.get("attempt")),
    )


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment from the service, as an aware datetime (naive ones are UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ServiceFailed(f"the service gave {text!r} as a submission time, which is not ISO 8601") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seg(value: str) -> str:
    return quote(value, safe="")
