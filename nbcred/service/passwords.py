"""Password rules: long enough, and not one of the passwords attackers try first.

The common-password list is the head of zxcvbn's frequency list: the 10,000 passwords seen most
often in breaches (the usual size of such a deny list; the rarer tail refuses ordinary phrases).
"""

from __future__ import annotations

import functools

from nbcred.service.errors import BadRequest
from nbcred.settings import Settings

COMMON = 10_000


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON])


def check_password(settings: Settings, password: str, *, email: str = "") -> None:
    """Refuse (:class:`BadRequest`, saying why) a short, common or e-mail-like password."""
    minimum = settings.password_min_length
    if len(password) < minimum:
        raise BadRequest(f"the password is too short: use at least {minimum} characters")
    if len(password) > 1024:
        raise BadRequest("the password is too long: use at most 1024 characters")
    lowered = password.lower()
    if lowered in _common() or (email and lowered in {email.lower(), email.lower().split("@")[0]}):
        raise BadRequest("this password is one of the most common ones (or your e-mail address): "
                         "choose another")
