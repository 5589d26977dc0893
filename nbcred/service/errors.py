"""Errors of the service layer; each maps to one HTTP status and one CLI exit code.

    NbcredError
    └── ServiceError              base: a request the service cannot fulfil (message says why)
        ├── BadRequest            400: malformed input (no files, not a zip)
        ├── NotAuthenticated      401: sign in or send a valid API token
        ├── Forbidden             403: signed in, but the role does not allow this
        ├── NotFound              404: no such thing, or not yours to see
        ├── Conflict              409: the request clashes with the state (attempts used up)
        ├── TooLarge              413: an upload exceeds a size or file-count limit
        ├── Unprocessable         422: well-formed but refused (not a notebook, unknown assessment)
        ├── TooManyAttempts       429: repeated failed sign-ins; wait ``retry_after`` seconds
        ├── Unavailable           503: the service cannot do this now (busy); try again later
        └── OAuthError            an OAuth 2.0 / OpenID4VCI error: ``error`` code, its status
"""

from __future__ import annotations

from nbcred.errors import NbcredError


class ServiceError(NbcredError):
    """A request the service cannot fulfil; the message says what to do."""

    status = 400


class BadRequest(ServiceError):
    status = 400


class NotAuthenticated(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class Unprocessable(ServiceError):
    status = 422


class Unavailable(ServiceError):
    status = 503


class TooManyAttempts(ServiceError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (_too_many, (str(self), self.retry_after))


def _too_many(message: str, retry_after: int) -> TooManyAttempts:
    return TooManyAttempts(message, retry_after=retry_after)


class OAuthError(ServiceError):
    """An error the OAuth 2.0 and OpenID4VCI endpoints answer as ``{"error", "error_description"}``.

    ``error`` is the code the specification names (``invalid_grant``, ``invalid_nonce``…);
    ``extra`` holds more members of the answer (a fresh ``c_nonce``).
    """

    def __init__(self, error: str, description: str, *, status: int = 400,
                 extra: dict[str, object] | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})

    def __reduce__(self) -> tuple[object, ...]:
        return (_oauth, (self.error, str(self), self.status, self.extra))

    def body(self) -> dict[str, object]:
        """The JSON answer."""
        return {"error": self.error, "error_description": str(self), **self.extra}


def _oauth(error: str, description: str, status: int, extra: dict[str, object]) -> OAuthError:
    return OAuthError(error, description, status=status, extra=extra)
