"""Errors of the LTI package.

    NbcredError
    └── LtiError                 base: an LTI message or call is not accepted
        ├── LaunchRefused        a login or launch is refused (4xx; no session is opened)
        ├── RegistrationError    a platform registration is incomplete or unknown
        └── PlatformCallFailed   a call to the platform (token, scores, line items, roster) failed
"""

from __future__ import annotations

from nbcred.errors import NbcredError


class LtiError(NbcredError):
    """An LTI message or call is not accepted; the message says why and what to do."""

    status = 400


class LaunchRefused(LtiError):
    """A login or launch is refused: the browser gets a 4xx page and no session."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class RegistrationError(LtiError):
    """A platform registration is incomplete, duplicated or unknown."""


class PlatformCallFailed(LtiError):
    """A call to the platform failed; ``retry`` says whether trying later may help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry
