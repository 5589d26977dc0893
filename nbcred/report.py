"""The instructor's cohort report: score distributions and competency pass rates, as one HTML page."""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from grader.results import GradeResult
from nbcred.catalogue import Catalogue
from nbcred.similarity import SimilarityReport


def _figure_png(results: list[GradeResult], title: str) -> str:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    fractions = [100 * r.score / r.max_score for r in results if r.max_score and not r.errors]
    left.hist(fractions, bins=10, range=(0, 100), color="#3b7dd8", edgecolor="white")
    left.set_xlabel("score (%)")
    left.set_ylabel("learners")
    left.set_title("Score distribution")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    rates: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        for c in r.competencies:
            rates[c.name].append(c.passed)
    names = list(rates)
    values = [100 * sum(v) / len(v) for v in rates.values()]
    right.barh(names, values, color="#2e9d55")
    right.set_xlim(0, 100)
    right.set_xlabel("learners achieving (%)")
    right.set_title("Competencies")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _row(r: GradeResult, similar: dict[str, list[str]]) -> str:
    verdict = "PASS" if r.passed else ("ERROR" if r.errors else "FAIL")
    link = f'<a href="{html.escape(Path(r.feedback).as_uri())}">feedback</a>' if r.feedback else ""
    flags = [f"{f.cell}: {f.message}" for f in r.integrity] + [
        f"code similar to {other}" for other in similar.get(r.learner, [])]
    flag = (f"<span class='flag' title='{html.escape(' | '.join(flags))}'>&#9873; {len(flags)}</span>"
            if flags else "")
    return (
        f"<tr><td>{html.escape(r.learner)}</td><td>{r.score:g}/{r.max_score:g}</td><td>{verdict}</td>"
        f"<td>{html.escape('; '.join(r.errors))[:200]}</td><td>{flag}</td><td>{link}</td></tr>"
    )


def _integrity(group: list[GradeResult], similarity: SimilarityReport | None) -> str:
    """For the instructor: gaming flags and similar pairs. They change no score."""
    items = [f"<li><b>{html.escape(r.learner)}</b> {html.escape(f.notebook)}/{html.escape(f.cell)} "
             f"({html.escape(f.kind)}): {html.escape(f.message)}</li>"
             for r in sorted(group, key=lambda r: r.learner) for f in r.integrity]
    items += [f"<li><b>{html.escape(p.a)}</b> &amp; <b>{html.escape(p.b)}</b>: written code "
              f"{p.score:.0%} similar{' (too short to mean anything)' if p.too_short else ''}</li>"
              for p in (similarity.pairs if similarity else [])]
    if not items:
        return ""
    return ("<h3>Integrity flags</h3><p>Leads for the instructor to read; a flag never changes a "
            f"score.</p><ul>{''.join(items)}</ul>")


def write_cohort_report(
    results: list[GradeResult], catalogue: Catalogue, folder: Path,
    similarity: Mapping[str, SimilarityReport] | None = None,
) -> Path:
    """Write ``cohort.html`` under ``folder`` and return its path.

    ``similarity`` maps an assessment id to its :func:`nbcred.similarity.compare_submissions`
    report; its pairs and every result's integrity flags are shown to the instructor.
    """
    folder.mkdir(parents=True, exist_ok=True)
    by_assessment: dict[str, list[GradeResult]] = defaultdict(list)
    for r in results:
        by_assessment[r.assessment].append(r)
    sections = []
    for assessment_id, group in sorted(by_assessment.items()):
        known = catalogue.assessments.get(assessment_id)
        title = known.spec.title if known else assessment_id
        report = (similarity or {}).get(assessment_id)
        similar: dict[str, list[str]] = defaultdict(list)
        for pair in report.pairs if report else []:
            similar[pair.a].append(pair.b)
            similar[pair.b].append(pair.a)
        rows = "".join(_row(r, similar) for r in sorted(group, key=lambda r: r.learner))
        sections.append(
            f"<h2>{html.escape(title)}</h2><img alt='charts for {html.escape(title)}' "
            f"src='data:image/png;base64,{_figure_png(group, title)}'>"
            "<table><tr><th>learner</th><th>score</th><th>result</th><th>errors</th><th>flags</th>"
            f"<th></th></tr>{rows}</table>{_integrity(group, report)}"
        )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>nbcred cohort report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto}"
        "td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
        "table{border-collapse:collapse;margin-bottom:2rem}.flag{color:#b45309}</style></head><body>"
        f"<h1>Cohort report</h1><p>{len(results)} submissions.</p>{''.join(sections)}</body></html>"
    )
    path = folder / "cohort.html"
    path.write_text(page, encoding="utf-8")
    return path
