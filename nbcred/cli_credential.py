"""``nbcred credential ...``: sign, verify, bake and unbake Open Badges 3.0 credentials."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help=__doc__)
