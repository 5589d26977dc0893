"""The feedback page as fetched into Jupyter: the service's page with links to the wallet and the badge."""

from __future__ import annotations

import re
from html import escape

MARKER = 'class="nbcred-links"'
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
