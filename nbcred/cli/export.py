"""``nbcred export canvas|moodle|credentials|clr ASSESSMENT_OR_COHORT -o FILE``: reports for an LMS."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from grader.errors import GraderError
from nbcred.cli._common import DbOption, fail, open_context, out
from nbcred.errors import NbcredError


class Kind(StrEnum):
    canvas = "canvas"
    moodle = "moodle"
    credentials = "credentials"
    clr = "clr"


def export(
    kind: Annotated[Kind, typer.Argument(help="canvas or moodle (gradebook CSV), credentials (zip of "
                                              "JSON + baked badges) or clr (zip of one CLR per learner).")],
    target: Annotated[str, typer.Argument(help="An assessment id or a cohort id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    db: DbOption = None,
) -> None:
    """Export grades and competencies (Canvas, Moodle), credentials or CLRs of an assessment or cohort."""
    from nbcred.service.programs import export as write_export

    try:
        what = write_export(open_context(db), kind.value, target, output)
    except (GraderError, NbcredError, OSError) as exc:
        raise fail(exc) from exc
    out.print(f"wrote {output} ({what})", highlight=False)
