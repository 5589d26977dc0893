"""Sign-up with e-mail confirmation, change of e-mail, notification preference, deleting one's account.

``NBCRED_SIGNUP`` decides who may sign up: ``off`` (default: administrators add accounts),
``open``, ``domains:example.edu,…`` (addresses of those domains) or ``invite`` (only through an
instructor's invitation, :mod:`nbcred.service.invitations`). The account exists only once its
address is confirmed; the answer to a sign-up never reveals whether the address had an account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nbcred.mail import Outgoing, enqueue
from nbcred.mail.outbox import set_notifications, wants_notifications
from nbcred.service import links
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, Conflict, Forbidden, NotFound
from nbcred.service.passwords import check_password
from nbcred.service.users import Account, hash_password, new_account, normalise_email, sign_in
from nbcred.settings import Settings
from nbcred.store.models import (
    AccountToken,
    ApiToken,
    CohortMember,
    ExternalIdentity,
    Learner,
    MailMessage,
    MailPreference,
    SignInFailure,
    User,
    WebSession,
)

CONFIRM_HOURS = 48


@dataclass(frozen=True)
class SignupPolicy:
    """Who may sign up, parsed from ``NBCRED_SIGNUP``."""

    mode: str  # off | open | domains | invite
    domains: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> SignupPolicy:
        value = settings.signup.strip().lower()
        if value.startswith("domains:"):
            names = value.removeprefix("domains:").split(",")
            domains = tuple(d.strip().lstrip("@") for d in names if d.strip())
            return cls("domains", domains)
        return cls(value if value in ("open", "invite") else "off")

    @property
    def form_open(self) -> bool:
        """The public sign-up form is offered."""
        return self.mode in ("open", "domains")

    def check(self, email: str) -> None:
        """Refuse an address the policy does not admit."""
        if not self.form_open:
            raise Forbidden("sign-up is not open here: ask your instructor for an invitation "
                            "or an administrator for an account")
        domain = email.rpartition("@")[2]
        if self.mode == "domains" and domain not in self.domains:
            raise Forbidden(f"sign-up is open to addresses at {', '.join(self.domains)} only")


def learner_for(session: Session, email: str) -> str:
    """The learner id a new account of ``email`` gets: a roster learner with that address and no
    account yet (their credentials become theirs), else a fresh random id (never the address)."""
    linked = select(User.learner_id)
    found = session.scalars(select(Learner.id).where(Learner.email == email,
                                                     Learner.id.not_in(linked))).first()
    return found or f"learner-{secrets.token_hex(6)}"


def sign_up(ctx: ServiceContext, *, name: str, email: str, password: str) -> None:
    """Mail a confirmation link (the account is created when it is used); silent for known addresses."""
    address = normalise_email(email)
    SignupPolicy.of(ctx.settings).check(address)
    check_password(ctx.settings, password, email=address)
    if not name.strip():
        raise BadRequest("give your name (it is shown on your account and in e-mails)")
    digest = hash_password(password)
    with ctx.store.session() as session:
        if session.scalars(select(User.id).where(User.email == address)).first() is not None:
            return  # the same answer: nothing tells a stranger this address has an account
        token, _ = links.new_token(session, purpose="confirm", email=address,
                                   lifetime=timedelta(hours=CONFIRM_HOURS),
                                   data={"name": name.strip()[:200], "password_hash": digest})
        enqueue(session, ctx.settings, [Outgoing("confirm", address, {
            "name": name.strip(), "hours": CONFIRM_HOURS,
            "link": f"{ctx.settings.links_base()}/signup/confirm/{token}"})])


def confirm_email(ctx: ServiceContext, token: str) -> str:
    """The address a usable confirmation link is for."""
    with ctx.store.session() as session:
        return links.peek(session, token, "confirm").email


def confirm(ctx: ServiceContext, token: str) -> Account:
    """Use a confirmation link: the account is created (a learner) and returned."""
    with ctx.store.session() as session:
        link = links.use(session, token, "confirm")
        if session.scalars(select(User.id).where(User.email == link.email)).first() is not None:
            raise Conflict("this address already has an account: sign in")
        return new_account(session, email=link.email, name=str(link.data.get("name") or ""),
                           role="learner", password_hash=str(link.data.get("password_hash") or "") or None,
                           learner=learner_for(session, link.email))


def request_email_change(ctx: ServiceContext, account: Account, *, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address (the password is checked first)."""
    sign_in(ctx, email=account.email, password=password)
    address = normalise_email(new_email)
    if address == account.email:
        raise BadRequest("that is already your address")
    with ctx.store.session() as session:
        token, _ = links.new_token(session, purpose="email_change", email=address, user_id=account.id,
                                   lifetime=timedelta(hours=CONFIRM_HOURS), data={"old": account.email})
        enqueue(session, ctx.settings, [Outgoing("email_change", address, {
            "name": account.name, "new_email": address, "hours": CONFIRM_HOURS,
            "link": f"{ctx.settings.links_base()}/account/email/{token}"})])


def change_email(ctx: ServiceContext, token: str) -> str:
    """Use an e-mail change link: the account's address becomes the confirmed one; returns it."""
    with ctx.store.session() as session:
        link = links.use(session, token, "email_change")
        user = session.get(User, link.user_id) if link.user_id is not None else None
        if user is None or not user.active:
            raise NotFound(links.INVALID)
        if session.scalars(select(User.id).where(User.email == link.email)).first() is not None:
            raise Conflict(f"{link.email} already belongs to another account")
        user.email = link.email
        learner = session.get(Learner, user.learner_id)
        if learner is not None:
            learner.email = link.email
        return link.email


def notifications(ctx: ServiceContext, account: Account) -> bool:
    """Whether the account gets notification e-mails."""
    with ctx.store.session() as session:
        return wants_notifications(session, account.email)


def set_account_notifications(ctx: ServiceContext, account: Account, wanted: bool) -> None:
    """Turn notification e-mails on or off for the account's address."""
    with ctx.store.session() as session:
        set_notifications(session, account.email, wanted)


def delete_account(ctx: ServiceContext, account: Account, *, password: str) -> None:
    """Erase the account and its personal data (name, address, tokens, sessions, mail).

    Grades and issued credentials stay, under the learner id (a random id or the roster's, never
    the address): credentials are signed documents the learner holds and stay valid.
    """
    sign_in(ctx, email=account.email, password=password)
    with ctx.store.session() as session:
        user = session.get(User, account.id)
        if user is None:
            raise NotFound("this account no longer exists")
        email = user.email
        for model in (ApiToken, WebSession, AccountToken, ExternalIdentity):
            session.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
        session.execute(delete(AccountToken).where(AccountToken.email == email))
        session.execute(delete(MailMessage).where(MailMessage.recipient == email))
        session.execute(delete(MailPreference).where(MailPreference.email == email))
        session.execute(delete(SignInFailure).where(SignInFailure.key == email))
        session.execute(update(CohortMember).where(CohortMember.learner_id == user.learner_id)
                        .values(name="", email=""))
        learner = session.get(Learner, user.learner_id)
        if learner is not None:
            learner.email, learner.name = None, None
        # the row stays (submissions refer to it), emptied and unable to sign in
        user.email, user.name = f"deleted-{user.id}@deleted.invalid", "(deleted account)"
        user.password_hash, user.active = None, False
