"""The feedback page as fetched into Jupyter: the service's page with links to the wallet and the badge."""

from __future__ import annotations

import hashlib
import json
import re
from html import escape
from pathlib import Path
from typing import Any

MARKER = 'class="nbcred-links"'
STAMP = ".nbcred-feedback.json"  # in each fetched feedback folder: which grading it shows
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def with_links(
    page: str, *, wallet_url: str, badge_url: str | None, submission_url: str | None = None
) -> str:
    """``page`` with a bar of absolute links at the top of its body: the wallet always, the badge
    when this submission earned (or re-earned) one, and the submission's page on the service.

    Fetching twice does not add a second bar.
    """
    if MARKER in page:
        return page
    links = []
    if badge_url:
        links.append(_link(badge_url, "Your badge for this assessment", "nbcred-badge"))
    links.append(_link(wallet_url, "Your wallet (all your credentials)", "nbcred-wallet"))
    if submission_url:
        links.append(_link(submission_url, "This submission on the nbcred service", "nbcred-submission"))
    bar = (
        f'<nav {MARKER} style="font-family:sans-serif;padding:0.6em 1em;margin:0 0 1em 0;'
        'background:#eef4fb;border:1px solid #b6cde8;border-radius:4px">'
        + " &middot; ".join(links)
        + "</nav>"
    )
    match = _BODY.search(page)
    if match is None:
        return bar + page
    return page[: match.end()] + bar + page[match.end():]


def _link(url: str, text: str, kind: str) -> str:
    return (f'<a class="{kind}" href="{escape(url, quote=True)}" target="_blank" rel="noopener">'
            f"{escape(text)}</a>")


def fingerprint(result: dict[str, Any] | None) -> str:
    """A digest of a submission's result: it changes when the submission is graded again (manual
    grades, a credential issued later), which is when fetched feedback is out of date."""
    return hashlib.sha256(json.dumps(result, sort_keys=True, default=str).encode()).hexdigest()


def write_stamp(folder: Path, *, submission_id: str, result: dict[str, Any] | None) -> None:
    """Record, next to fetched feedback, the result it was fetched for."""
    stamp = {"submission": submission_id, "result": fingerprint(result)}
    (folder / STAMP).write_text(json.dumps(stamp), encoding="utf-8")


def fetched_fingerprint(folder: Path) -> str | None:
    """The fingerprint recorded by :func:`write_stamp`, if any."""
    try:
        value = json.loads((folder / STAMP).read_text(encoding="utf-8")).get("result")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None
