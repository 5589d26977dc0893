"""``nbcred export canvas|moodle|credentials|clr ASSESSMENT_OR_COHORT -o FILE``: reports for an LMS."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grader.errors import GraderError
from nbcred.cmdline import db_option
from nbcred.errors import NbcredError
from nbcred.settings import Settings

out = Console()
err = Console(stderr=True, emoji=False)


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
    db: Annotated[str | None, typer.Option("--db", callback=db_option,
                                           help="Gradebook URL without a password.")] = None,
) -> None:
    """Export grades and competencies (Canvas, Moodle), credentials or CLRs of an assessment or cohort."""
    from nbcred.bulk import exports
    from nbcred.catalogue import load_catalogue
    from nbcred.issuance import CredentialIssuer
    from nbcred.store import Store

    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    try:
        store = Store.open(settings.resolved_database_url())
        catalogue = load_catalogue(settings.catalogue)
        if kind in (Kind.canvas, Kind.moodle):
            book = exports.gradebook(store, catalogue, target)
            text = exports.canvas_csv(book) if kind is Kind.canvas else exports.moodle_csv(book)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            what = f"{len(book.rows)} learners, {len(book.columns)} grade columns"
        else:
            issuer = CredentialIssuer(settings, store)
            make = exports.credentials_zip if kind is Kind.credentials else exports.clr_bundle
            count = make(store, catalogue, issuer, target, output)
            what = f"{count} {'credentials' if kind is Kind.credentials else 'learners'}"
    except (GraderError, NbcredError, OSError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    out.print(f"wrote {output} ({what})", highlight=False)
