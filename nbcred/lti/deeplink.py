"""Deep Linking 2.0 responses: the chosen assessment as one ``ltiResourceLink`` content item."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from nbcred.lti import claims as c


@dataclass(frozen=True)
class Choice:
    """An assessment chosen in the picker."""

    assessment_id: str
    title: str
    points: float
    launch_url: str


def content_item(choice: Choice) -> dict[str, Any]:
    """The ``ltiResourceLink`` item: the assessment as custom parameter and its line item."""
    return {
        "type": "ltiResourceLink",
        "title": choice.title,
        "url": choice.launch_url,
        "custom": {"assessment": choice.assessment_id},
        "lineItem": {"scoreMaximum": choice.points, "label": choice.title,
                     "resourceId": f"nbcred:{choice.assessment_id}"},
    }


def response_claims(*, client_id: str, issuer: str, deployment_id: str, items: list[dict[str, Any]],
                    data: Any = None, message: str | None = None) -> dict[str, Any]:
    """The claims of an ``LtiDeepLinkingResponse`` JWT (to be signed by the tool's key)."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id, "aud": issuer, "iat": now, "exp": now + 600, "nonce": secrets.token_urlsafe(24),
        c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE, c.VERSION: "1.3.0", c.DEPLOYMENT_ID: deployment_id,
        c.DL_CONTENT_ITEMS: items,
    }
    if data is not None:
        body[c.DL_DATA] = data
    if message:
        body[c.DL_MESSAGE] = message
    return body
