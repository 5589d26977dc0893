"""Self-service accounts: password reset, sign-up with e-mail confirmation, change of e-mail,
deleting one's account.

Every answer to "send me a link" is the same whether or not the address has an account; links
are single-use, expiring and stored hashed (:mod:`nbcred.service.links`). A new password ends
every other session of the account and every outstanding reset link.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nbcred.mail import Outgoing, enqueue
from nbcred.service import links
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest
from nbcred.service.passwords import check_password
from nbcred.service.sessions import PASSWORD_CHANGED, end_user_sessions
from nbcred.service.users import Account, account_by_id, hash_password, normalise_email
from nbcred.store.models import SignInFailure, User

RESET = "reset"


def end_other_sessions(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End the user's web sessions (but ``keep``) in ``session``'s transaction."""
    return end_user_sessions(session, user_id, reason=PASSWORD_CHANGED, keep=keep)


def _active_user(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except BadRequest:
        return None
    user = session.scalars(select(User).where(User.email == address)).first()
    return user if user is not None and user.active else None


def request_reset(ctx: ServiceContext, email: str) -> None:
    """Mail a reset link if ``email`` has an active account; the same (silent) outcome otherwise."""
    minutes = ctx.settings.reset_minutes
    with ctx.store.session() as session:
        user = _active_user(session, email)
        if user is None:
            return
        token, _expires = links.new_token(session, purpose=RESET, email=user.email, user_id=user.id,
                                          lifetime=timedelta(minutes=minutes))
        link = f"{ctx.settings.links_base()}/password-reset/{token}"
        enqueue(session, ctx.settings, [Outgoing("reset", user.email,
                                                 {"name": user.name, "link": link, "minutes": minutes})])


def reset_email(ctx: ServiceContext, token: str) -> str:
    """The address a usable reset link is for; :class:`NotFound` otherwise."""
    with ctx.store.session() as session:
        return links.peek(session, token, RESET).email


def reset_password(ctx: ServiceContext, token: str, password: str) -> Account:
    """Use the reset link: set ``password``, end every session and every other reset link."""
    with ctx.store.session() as session:
        email = links.peek(session, token, RESET).email
    check_password(ctx.settings, password, email=email)
    digest = hash_password(password)
    with ctx.store.session() as session:
        link = links.use(session, token, RESET)
        user = session.get(User, link.user_id) if link.user_id is not None else None
        if user is None or not user.active:
            raise BadRequest(links.INVALID)
        user.password_hash = digest
        links.end_links(session, user_id=user.id, purposes=(RESET,))
        end_other_sessions(session, user.id)
        session.execute(delete(SignInFailure).where(SignInFailure.key == user.email))
        user_id = user.id
    account = account_by_id(ctx, user_id)
    assert account is not None
    return account
