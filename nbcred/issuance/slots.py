"""What identifies an issued credential (its slot) and how its stored times are read.

Shared by the issuer and the modules it calls after a badge (pathways, status management,
lifecycle), which therefore import the issuer only for its type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Slot:
    """What identifies a credential for idempotency: learner, achievement id and version."""

    learner: str
    achievement_id: str
    version: str
    kind: str = "badge"
    grading_id: int | None = None


def parse_time(value: Any) -> datetime | None:
    """An XSD dateTime string (or a naive/aware datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
