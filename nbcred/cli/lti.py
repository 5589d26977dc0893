"""``nbcred lti``: LMS platforms (LTI 1.3), the tool's key, roster sync and the score queue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nbcred.cli._common import CHECK_FAILED, DbOption, fail, open_context, out
from nbcred.errors import NbcredError

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.command("add-platform")
def add_platform(
    issuer: Annotated[str, typer.Option("--issuer", help="The platform's issuer (iss), e.g. "
                                        "https://canvas.instructure.com.")],
    client_id: Annotated[str, typer.Option("--client-id", help="The client id the LMS gave this tool.")],
    deployment_id: Annotated[str, typer.Option("--deployment-id", help="The deployment id of the install.")],
    auth_login_url: Annotated[str, typer.Option("--auth-login-url", help="The platform's OIDC "
                                                "authorisation endpoint.")],
    auth_token_url: Annotated[str, typer.Option("--auth-token-url", help="The platform's OAuth 2 token "
                                                "endpoint (grade passback, rosters).")],
    keyset_url: Annotated[str, typer.Option("--keyset-url", help="The platform's public key set (JWKS).")],
    title: Annotated[str, typer.Option(help="A name for the admin page, e.g. 'University Canvas'.")] = "",
    token_audience: Annotated[str | None, typer.Option(
        "--token-audience", help="The aud the platform wants in client assertions when it is not the "
        "token URL (Brightspace: https://api.brightspace.com/auth/token).")] = None,
    db: DbOption = None,
) -> None:
    """Register an LMS (or add a deployment to one already registered)."""
    from nbcred.service.lti import add_platform as register

    try:
        info = register(open_context(db), issuer=issuer, client_id=client_id, deployment_id=deployment_id,
                        auth_login_url=auth_login_url, auth_token_url=auth_token_url, keyset_url=keyset_url,
                        title=title, token_audience=token_audience)
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"platform {info.id}: {info.issuer} (client {info.client_id}), deployments: "
              f"{', '.join(info.deployments)}", highlight=False, soft_wrap=True)


@app.command("platforms")
def platforms(db: DbOption = None) -> None:
    """The registered platforms and their deployments."""
    from nbcred.service.lti import list_platforms

    try:
        rows = list_platforms(open_context(db))
    except NbcredError as exc:
        raise fail(exc) from exc
    table = Table("id", "issuer", "client id", "deployments", "login URL")
    for p in rows:
        table.add_row(str(p.id), p.issuer, p.client_id, ", ".join(p.deployments), p.auth_login_url)
    out.print(table)


@app.command("registration-url")
def registration_url(db: DbOption = None) -> None:
    """A URL to paste into an LMS that registers nbcred by itself (LTI Dynamic Registration; works
    once, for seven days; uses NBCRED_BASE_URL, else NBCRED_PUBLIC_BASE_URL)."""
    from nbcred.service.lti import registration_url as make

    try:
        ctx = open_context(db)
        out.print(make(ctx, base=ctx.settings.links_base()), highlight=False, soft_wrap=True)
    except NbcredError as exc:
        raise fail(exc) from exc


@app.command("rotate-key")
def rotate_key(db: DbOption = None) -> None:
    """Make a new signing key; the previous one stays published until the next rotation."""
    from nbcred.service.lti import rotate_key as rotate

    try:
        kid = rotate(open_context(db))
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"new signing key {kid}", highlight=False)


@app.command("sync-roster")
def sync_roster(
    issuer: Annotated[str, typer.Option("--issuer", help="The platform's issuer.")],
    context: Annotated[str, typer.Option("--context", help="The LMS course's context id.")],
    client_id: Annotated[str | None, typer.Option("--client-id", help="Needed when the issuer is "
                                                  "registered more than once.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="The memberships URL (default: the one the "
                                            "last launch from that course carried).")] = None,
    db: DbOption = None,
) -> None:
    """Fetch a course's members (Names and Role Provisioning) and store its learners as a cohort."""
    from nbcred.service.lti import sync_roster as sync

    try:
        result = sync(open_context(db), issuer=issuer, context_id=context, client_id=client_id, url=url)
    except NbcredError as exc:
        raise fail(exc) from exc
    table = Table("name", "e-mail", "role", "status")
    for m in result.members:
        table.add_row(m.name, m.email, "instructor" if m.instructor else "learner",
                      "active" if m.active else "inactive")
    out.print(table)
    out.print(f"{len(result.members)} members; cohort {result.cohort} holds {result.stored} learners",
              highlight=False)


@app.command("scores")
def scores(
    status: Annotated[str | None, typer.Option(help="pending, posting, posted or failed.")] = None,
    db: DbOption = None,
) -> None:
    """The scores queued for LMS gradebooks, newest first, with the reason of each failure."""
    from nbcred.service.lti import list_scores, score_counts

    try:
        ctx = open_context(db)
        rows, totals = list_scores(ctx, status=status, limit=200), score_counts(ctx)
    except NbcredError as exc:
        raise fail(exc) from exc
    table = Table("id", "course", "assessment", "learner", "score", "status", "tries", "reason")
    for r in rows:
        table.add_row(str(r.id), r.course, r.assessment, r.email, r.score, r.status, str(r.tries),
                      r.last_error or "")
    out.print(table)
    summary = " · ".join(f"{k}: {v}" for k, v in sorted(totals.items()))
    out.print(summary or "no score queued", highlight=False)


@app.command("flush")
def flush(db: DbOption = None) -> None:
    """Post every pending score now; exit 1 when some could not be posted."""
    from nbcred.service.lti import post_scores_now

    try:
        report = post_scores_now(open_context(db))
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"posted {report.posted}, failed {report.failed}, waiting {report.deferred}", highlight=False)
    raise typer.Exit(CHECK_FAILED if report.failed or report.deferred else 0)


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Score ids (default: every failed one).")] = None,
    db: DbOption = None,
) -> None:
    """Queue failed scores again (posted by the running service or the next flush)."""
    from nbcred.service.lti import retry_scores

    try:
        count = retry_scores(open_context(db), list(ids or []))
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"queued again: {count}", highlight=False)
