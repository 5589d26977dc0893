"""The instructor's similarity report: one section per pair, matching fragments side by side."""

from __future__ import annotations

import html

from nbcred.similarity.cohort import Pair, Side, SimilarityReport

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto}"
    ".pair{border-top:1px solid #ccc;padding-top:1rem}.side{display:grid;grid-template-columns:1fr 1fr;"
    "gap:1rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.85rem}"
    ".short{color:#8a5a00}.meta{color:#555;font-size:.9rem}"
)


def _side(side: Side) -> str:
    where = f"{side.notebook} / {side.cell}, lines {side.first_line}-{side.last_line}"
    return f"<div><div class='meta'>{html.escape(where)}</div><pre>{html.escape(side.code)}</pre></div>"


def _pair(pair: Pair) -> str:
    note = ("<p class='short'>Too short to mean anything: one side wrote very little code, so "
            "honest answers can converge.</p>") if pair.too_short else ""
    fragments = "".join(f"<div class='side'>{_side(f.a)}{_side(f.b)}</div>" for f in pair.fragments)
    return (f"<section class='pair'><h2>{html.escape(pair.a)} &amp; {html.escape(pair.b)}: "
            f"{pair.score:.0%}</h2><p class='meta'>{pair.shared} shared fingerprints</p>{note}"
            f"{fragments}</section>")


def render_html(report: SimilarityReport, *, threshold: float) -> str:
    """The whole page for ``report``."""
    skipped = (f"<p>Not compared (no readable notebook or no written code): "
               f"{html.escape(', '.join(report.skipped))}</p>") if report.skipped else ""
    body = "".join(_pair(p) for p in report.pairs) or "<p>No pair reaches the threshold.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Similarity: {html.escape(report.assessment)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Similarity report: {html.escape(report.assessment)}</h1>"
        f"<p>{report.submissions} submissions, {len(report.pairs)} pairs at or above "
        f"{threshold:.0%}. Only code learners wrote in solution cells is compared; a pair is a lead "
        f"to read, not a verdict, and never changes a score.</p>{skipped}{body}</body></html>"
    )
