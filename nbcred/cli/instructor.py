"""Instructor commands: ``nbcred init`` (a starting assessment.yaml for an nbgrader assignment)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grader.errors import GraderError
from nbcred.cli._common import fail, out
from nbcred.service.grading import init_folder

app = typer.Typer(add_completion=False)


@app.command()
def init(
    assignment: Annotated[Path, typer.Argument(help="nbgrader assignment folder, e.g. course/source/ps1.")],
    force: Annotated[bool, typer.Option(help="Replace an existing assessment.yaml.")] = False,
) -> None:
    """Write a starting assessment.yaml for ASSIGNMENT that grades exactly as it does now."""
    try:
        made = init_folder(assignment, force=force)
    except GraderError as exc:
        raise fail(exc) from exc
    out.print(f"wrote {made.path}: {made.competencies} competencies, {made.rubric_cells} rubric cells, "
              f"{made.manual_cells} manually graded", highlight=False)
    out.print(f"next: edit it, then run `nbcred validate {assignment}`", highlight=False)
