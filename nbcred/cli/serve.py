"""``nbcred serve``: the web service (pages, API, public credential URLs) on one port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from nbcred.cli._common import BAD_INPUT, DbOption, err, fail
from nbcred.errors import NbcredError
from nbcred.settings import Settings

SAMPLE_ACCOUNTS = (
    ("learner@example.org", "Ada Learner", "learner", "learner-password"),
    ("instructor@example.org", "Grace Instructor", "instructor", "instructor-password"),
    ("admin@example.org", "Alan Admin", "admin", "admin-password"),
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOption = None,
    sample_accounts: Annotated[bool, typer.Option(
        "--sample-accounts", help="Create a learner, an instructor and an admin (known passwords).")] = False,
    processes: Annotated[int, typer.Option(help="App processes (uvicorn workers) sharing the database.")] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option(
        "--ssl-certfile", help="Serve HTTPS with this PEM certificate (chain); needs --ssl-keyfile.",
        exists=True, dir_okay=False)] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(
        "--ssl-keyfile", help="The PEM private key of --ssl-certfile.", exists=True, dir_okay=False)] = None,
) -> None:
    """Serve the web app: sign-in, catalogue, submissions, wallet, verify page and the API.

    With --ssl-certfile and --ssl-keyfile it serves HTTPS itself (wallets refuse plain HTTP
    issuers); behind a proxy that ends TLS, set NBCRED_BASE_URL to the public https address.
    """
    import uvicorn

    from nbcred.service import ServiceContext
    from nbcred.service.users import add_user, get_user

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail(ValueError("HTTPS needs both --ssl-certfile and --ssl-keyfile"), BAD_INPUT)
    if db:  # app processes started by import string read the environment
        os.environ["NBCRED_DATABASE_URL"] = db
    url = f"{'https' if ssl_certfile else 'http'}://{host}:{port}"
    if not os.environ.get("NBCRED_PUBLIC_BASE_URL"):  # links in credentials must reach this server
        os.environ["NBCRED_PUBLIC_BASE_URL"] = os.environ.get("NBCRED_BASE_URL") or url
    certfile = str(ssl_certfile) if ssl_certfile else None
    keyfile = str(ssl_keyfile) if ssl_keyfile else None
    settings = Settings()
    try:
        _check_secret(settings, host)
        ctx = ServiceContext.open(settings)
        assessments = len(ctx.catalogue.assessments)
        if sample_accounts:
            for email, name, role, password in SAMPLE_ACCOUNTS:
                try:
                    get_user(ctx, email=email)
                except NbcredError:
                    add_user(ctx, email=email, name=name, role=role, password=password)
    except Exception as exc:
        raise fail(exc, BAD_INPUT) from None
    err.print(f"nbcred: {assessments} assessment(s) from {settings.catalogue}, "
               f"gradebook {settings.resolved_database_url()}, executor {settings.executor}", highlight=False)
    err.print(f"sign in at {settings.links_base()}/signin", highlight=False)
    if sample_accounts:
        for email, _name, role, password in SAMPLE_ACCOUNTS:
            err.print(f"  {role:<10} {email:<24} password: {password}", highlight=False)
    err.print(f"API docs at {url}/api/docs; verify page at {url}/verify; "
               f"credentials link to {settings.public_base_url}", highlight=False)
    _warn_placeholders(settings)
    if processes > 1:
        uvicorn.run("nbcred.web.factory:app", host=host, port=port, workers=processes,
                    factory=False, log_level="info",
                    ssl_certfile=certfile, ssl_keyfile=keyfile)
    else:
        from nbcred.web.app import create_app

        uvicorn.run(create_app(settings, ctx=ctx), host=host, port=port, log_level="info",
                    ssl_certfile=certfile, ssl_keyfile=keyfile)


def _warn_placeholders(settings: Settings) -> None:
    """Say loudly that credentials issued now carry the placeholder address."""
    from nbcred.settings import PLACEHOLDER_URL

    for name in settings.placeholders():
        err.print(f"[bold red]WARNING:[/bold red] {name} is the placeholder {PLACEHOLDER_URL}: every "
                   "credential issued now is signed with it and points nowhere. Set "
                   f"{name}=https://<your site> before issuing real credentials.",
                   highlight=False, soft_wrap=True)


def _check_secret(settings: Settings, host: str) -> None:
    """Refuse a non-loopback host without NBCRED_SESSION_SECRET; make or read the kept secret."""
    from nbcred.web.secret import SHORTEST, check_for_host, is_short, session_secret

    check_for_host(settings, host)
    session_secret(settings)
    if is_short(settings):
        err.print(f"[yellow]warning:[/yellow] NBCRED_SESSION_SECRET is shorter than {SHORTEST} "
                   "characters; use a long random value", highlight=False)
