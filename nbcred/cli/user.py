"""``nbcred user ...``: add users, set passwords, create and revoke API tokens, end sessions."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nbcred.cli._common import DbOption, err, fail
from nbcred.cli._common import open_context as _context
from nbcred.errors import NbcredError
from nbcred.service import sessions as session_service
from nbcred.service import users as service

app = typer.Typer(no_args_is_help=True, help=__doc__)
def _password(password: str | None, password_stdin: bool) -> str | None:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return password


@app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The user's email (their sign-in name).")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role: Annotated[str, typer.Option("--role", help="learner, instructor or admin.")] = "learner",
    password: Annotated[str | None, typer.Option("--password", help="Password (8+ characters).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read it from stdin.")] = False,
    db: DbOption = None,
) -> None:
    """Add a user. Without a password they can use API tokens only."""
    try:
        account = service.add_user(_context(db), email=email, name=name, role=role,
                                   password=_password(password, password_stdin))
    except NbcredError as exc:
        raise fail(exc) from None
    err.print(f"added {account.role} {account.email}", highlight=False)


@app.command("password")
def password_command(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    password: Annotated[str | None, typer.Option("--password", help="New password.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read it from stdin.")] = False,
    db: DbOption = None,
) -> None:
    """Set a user's password."""
    new = _password(password, password_stdin)
    if not new:
        raise fail(ValueError("give --password or --password-stdin"))
    try:
        ended = session_service.set_password(_context(db), email=email, password=new)
    except NbcredError as exc:
        raise fail(exc) from None
    err.print(f"password set for {email}; {ended} signed-in session(s) ended", highlight=False)


@app.command("token")
def token(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    db: DbOption = None,
) -> None:
    """Create an API token and print only the token (it is not shown again)."""
    try:
        created = service.create_token(_context(db), email=email, label=label)
    except NbcredError as exc:
        raise fail(exc) from None
    typer.echo(created.token)


@app.command("tokens")
def tokens(email: Annotated[str, typer.Argument(help="The user's email.")], db: DbOption = None) -> None:
    """List a user's tokens (ids and dates; the tokens themselves are not stored)."""
    try:
        rows = service.list_tokens(_context(db), email=email)
    except NbcredError as exc:
        raise fail(exc) from None
    table = Table("id", "label", "created", "last used", "revoked")
    for row in rows:
        table.add_row(str(row.id), escape(row.label), row.created_at.isoformat(timespec="seconds"),
                      row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "-",
                      "yes" if row.revoked else "no")
    Console(emoji=False).print(table)


@app.command("revoke-token")
def revoke_token(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    token_id: Annotated[int | None, typer.Option("--id", help="Token id (default: all tokens).")] = None,
    db: DbOption = None,
) -> None:
    """Revoke one of a user's tokens, or all of them."""
    try:
        count = service.revoke_tokens(_context(db), email=email, token_id=token_id)
    except NbcredError as exc:
        raise fail(exc) from None
    err.print(f"revoked {count} token(s) of {email}", highlight=False)


@app.command("list")
def list_command(db: DbOption = None) -> None:
    """List users and their roles."""
    try:
        rows = service.list_users(_context(db))
    except NbcredError as exc:
        raise fail(exc) from None
    table = Table("email", "name", "role")
    for row in rows:
        table.add_row(row.email, escape(row.name), row.role)
    Console(emoji=False).print(table)


@app.command("sessions")
def sessions_command(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    ended: Annotated[bool, typer.Option("--all", help="Also list ended and expired sessions.")] = False,
    db: DbOption = None,
) -> None:
    """List a user's signed-in browser sessions."""
    try:
        rows = session_service.list_sessions(_context(db), email=email, include_ended=ended)
    except NbcredError as exc:
        raise fail(exc) from None
    table = Table("id", "signed in", "last seen", "expires", "address", "ended")
    for row in rows:
        table.add_row(str(row.id), row.created_at.isoformat(timespec="seconds"),
                      row.last_seen_at.isoformat(timespec="seconds"),
                      row.expires_at.isoformat(timespec="seconds"), escape(row.address or "-"),
                      escape(row.ended_reason or "-"))
    Console(emoji=False).print(table)


@app.command("end-sessions")
def end_sessions(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    session_id: Annotated[int | None, typer.Option("--id", help="Session id (default: all).")] = None,
    db: DbOption = None,
) -> None:
    """Sign a user out: end one of their sessions, or all of them."""
    try:
        ctx = _context(db)
        if session_id is not None:
            session_service.end_session_by_id(ctx, session_id, email=email)
            count = 1
        else:
            count = session_service.end_sessions(ctx, email=email)
    except NbcredError as exc:
        raise fail(exc) from None
    err.print(f"ended {count} session(s) of {email}", highlight=False)
