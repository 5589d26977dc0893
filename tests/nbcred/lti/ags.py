"""The AGS 2.0 Score (``application/vnd.ims.lis.v1.score+json``), written from the specification
(§3.4 Score publish service): the test platform's library does not check what a tool posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["userId", "activityProgress", "gradingProgress", "timestamp"],
    "properties": {
        "userId": {"type": "string", "minLength": 1},
        "scoreGiven": {"type": "number", "minimum": 0},
        "scoreMaximum": {"type": "number", "exclusiveMinimum": 0},
        "comment": {"type": "string"},
        "timestamp": {"type": "string", "minLength": 20},
        "activityProgress": {"enum": ["Initialized", "Started", "InProgress", "Submitted", "Completed"]},
        "gradingProgress": {"enum": ["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"]},
        "submission": {"type": "object", "properties": {"startedAt": {"type": "string"},
                                                        "submittedAt": {"type": "string"}}},
    },
    "dependentRequired": {"scoreGiven": ["scoreMaximum"]},
}


def check_score(headers: dict[str, str], body: dict[str, Any], *, user_id: str) -> None:
    """Fail unless ``body`` is a valid AGS score for ``user_id`` posted with the right media type."""
    assert headers.get("content-type", "").split(";")[0].strip() == SCORE_MEDIA_TYPE, headers
    assert headers.get("authorization", "").startswith("Bearer "), headers
    jsonschema.validate(body, SCORE_SCHEMA)
    assert body["userId"] == user_id
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None and stamp.utcoffset() is not None, body["timestamp"]
    if "scoreGiven" in body:
        assert body["scoreGiven"] <= body["scoreMaximum"], body
