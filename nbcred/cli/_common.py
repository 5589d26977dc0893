"""What every command shares: one way to fail, one exit-code rule, one ``--db`` option and one way
to open the service context.

Exit status: 0 the command did its job; :data:`CHECK_FAILED` (1) a check it ran failed (a
credential that does not verify, an assessment that does not validate, a roster row that could not
be issued); :data:`BAD_INPUT` (2) the input was wrong or a service it needs is unreachable (an
invalid assessment or file, a gradebook that does not answer), with a message saying how to fix it.

Importing this module stays cheap: ``nbcred --help`` imports neither the settings nor the grader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from nbcred.cmdline import db_option

if TYPE_CHECKING:
    from nbcred.service.context import ServiceContext
    from nbcred.settings import Settings

CHECK_FAILED = 1
BAD_INPUT = 2

out = Console()
err = Console(stderr=True, emoji=False)

DbOption = Annotated[
    str | None, typer.Option("--db", callback=db_option,
                              help="Gradebook URL without a password (default: NBCRED_DATABASE_URL "
                              "or SQLite); a password goes in NBCRED_DATABASE_URL or ~/.pgpass.")
]


def fail(error: Exception | str, code: int = BAD_INPUT) -> typer.Exit:
    """Print ``error`` on stderr; return the :class:`typer.Exit` to raise (bad input unless told)."""
    err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings(db: str | None = None, **overrides: object) -> Settings:
    """The settings from the environment, with ``--db`` and any other given option applied."""
    from nbcred.settings import Settings

    changes = {key: value for key, value in {"database_url": db, **overrides}.items() if value}
    current = Settings()
    return current.model_copy(update=changes) if changes else current


def open_context(db: str | None = None, **overrides: object) -> ServiceContext:
    """The service context over the configured gradebook (``--db`` and options applied)."""
    from nbcred.service.context import ServiceContext

    return ServiceContext.open(settings(db, **overrides))
