"""``nbcred jupyter ...``: plug nbgrader's exchange (and JupyterLab's Assignments tab) into the service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from nbcred.cli._common import fail
from nbcred.errors import ConfigurationError
from nbcred.service.jupyter_setup import write_config

app = typer.Typer(no_args_is_help=True, help=__doc__)
_out = Console(highlight=False)


@app.callback()
def jupyter() -> None:
    """Plug nbgrader's exchange (and JupyterLab's Assignments tab) into the nbcred service."""


@app.command("setup")
def setup(
    directory: Annotated[Path, typer.Option("--dir", help="The folder Jupyter starts in.")] = Path(),
    course: Annotated[str, typer.Option("--course", help="Course id in the Assignments tab.")] = "nbcred",
    url: Annotated[
        str | None, typer.Option("--url", help="Service address to write into the config (else NBCRED_URL).")
    ] = None,
) -> None:
    """Write the nbgrader_config.py lines that make nbgrader and the Assignments tab use nbcred."""
    try:
        result = write_config(directory=directory, course_id=course, url=url)
    except ConfigurationError as exc:
        raise fail(exc) from exc
    verb = "created" if result.created else "updated"
    _out.print(f"{verb} {result.path}:")
    for line in result.lines:
        _out.print(f"  {escape(line)}")
    _out.print("Then start Jupyter with NBCRED_URL and NBCRED_TOKEN (a learner's API token) set, e.g.\n"
               "  NBCRED_URL=https://badges.example.org NBCRED_TOKEN=nbc_… jupyter lab")
