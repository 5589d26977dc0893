"""Errors of the Jupyter exchange's client of the nbcred web service.

    NbcredError
    └── ServiceClientError        base: a call to the nbcred service did not give what was asked
        ├── NotConfigured         NBCRED_URL or NBCRED_TOKEN is missing or malformed
        ├── ServiceUnreachable    no connection, or no answer within the timeout
        ├── ServiceRefused        the service said no (4xx) and why (``status``, ``detail``)
        └── ServiceFailed         the service broke (5xx) or answered something unexpected

Every message is written for the learner who sees it in JupyterLab and names what to do.
"""

from __future__ import annotations

from nbcred.errors import NbcredError


class ServiceClientError(NbcredError):
    """A call to the nbcred service failed; the message says what to do."""


class NotConfigured(ServiceClientError):
    """The service URL or the learner's token is not set."""


class ServiceUnreachable(ServiceClientError):
    """The service could not be reached or did not answer in time."""


class ServiceRefused(ServiceClientError):
    """The service refused the request (HTTP 4xx); ``detail`` is its reason."""

    def __init__(self, message: str, *, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    def __reduce__(self) -> tuple[object, ...]:
        return (_refused, (str(self), self.status, self.detail))


def _refused(message: str, status: int, detail: str) -> ServiceRefused:
    return ServiceRefused(message, status=status, detail=detail)


class ServiceFailed(ServiceClientError):
    """The service failed (HTTP 5xx) or its answer was not what the API promises."""
