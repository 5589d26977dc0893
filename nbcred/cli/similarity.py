"""``nbcred similarity``: pairs of learners whose written code is alike (for instructors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from grader.errors import GraderError
from nbcred.cli._common import err, fail, out
from nbcred.service.similarity import DEFAULT_THRESHOLD, similar_pairs, similarity_html

app = typer.Typer(add_completion=False)


@app.command()
def similarity(
    assessment: Annotated[Path, typer.Argument(help="The assessment folder.")],
    submissions: Annotated[list[Path], typer.Argument(help="Submission folders.")],
    output_format: Annotated[str, typer.Option(
        "--format", help="table, or json: one object per reported pair per line.")] = "table",
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.0, max=1.0,
        help=f"Report pairs scoring at least this (0..1, default {DEFAULT_THRESHOLD}).")] = DEFAULT_THRESHOLD,
    html_path: Annotated[Path | None, typer.Option(
        "--html", help="Also write the side-by-side HTML report to this file.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for large cohorts.")] = 2,
) -> None:
    """Compare the code learners wrote in the solution cells; report similar pairs, highest first."""
    if output_format not in ("table", "json"):
        raise fail("--format must be table or json")
    try:
        report = similar_pairs(assessment, submissions, threshold=threshold, workers=workers)
    except GraderError as exc:
        raise fail(exc) from exc
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(similarity_html(report, threshold=threshold), encoding="utf-8")
    if output_format == "json":
        for pair in report.pairs:
            print(json.dumps(pair.as_json()))
    else:
        table = Table(title=f"{report.assessment}: {len(report.pairs)} pairs >= {threshold:g}")
        for column in ("a", "b", "score", "shared", "note"):
            table.add_column(column)
        for pair in report.pairs:
            table.add_row(pair.a, pair.b, f"{pair.score:.2f}", str(pair.shared),
                          "too short to mean anything" if pair.too_short else "")
        out.print(table)
    for learner in report.skipped:
        err.print(f"[yellow]skipped[/] {learner}: no readable notebook or no code written", highlight=False)
