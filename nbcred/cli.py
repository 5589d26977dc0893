"""The ``nbcred`` command line: a thin adapter over the typed core."""

from __future__ import annotations

import typer

from nbcred.cli_credential import app as credential_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(credential_app, name="credential")


def main() -> None:
    """Console-script entry point."""
    app()
