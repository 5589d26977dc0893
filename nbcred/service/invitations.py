"""Invitations: an instructor invites learners to a cohort by e-mail; the link leads to sign-up or
sign-in and joins the cohort.

An invitation link proves the address it was sent to, so accepting it creates the account
without a further confirmation (whatever ``NBCRED_SIGNUP`` says: ``invite`` is the mode where this
is the only way in).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nbcred.mail import Outgoing, enqueue
from nbcred.service import links
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, Conflict, NotFound
from nbcred.service.passwords import check_password
from nbcred.service.selfservice import learner_for
from nbcred.service.users import Account, hash_password, new_account, normalise_email
from nbcred.store.models import Cohort, CohortMember, User

INVITE = "invite"


@dataclass
class InviteReport:
    """What inviting a list of addresses did."""

    invited: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    """Addresses already in the cohort (not invited again)."""
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InvitePage:
    """What an invitation link's page shows."""

    cohort: str
    email: str
    inviter: str
    has_account: bool


def read_addresses(text: str) -> list[str]:
    """Addresses from a CSV with an ``email`` column, or one address per line."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "email" in header:
        column = header.index("email")
        return [r[column].strip() for r in rows[1:] if len(r) > column and r[column].strip()]
    return [r[0].strip() for r in rows if r and r[0].strip()]


def invite(ctx: ServiceContext, *, cohort: str, addresses: list[str], inviter: str) -> InviteReport:
    """Mail an invitation to each address not yet in ``cohort`` (bad addresses are listed, not sent)."""
    report = InviteReport()
    with ctx.store.session() as session:
        group = session.get(Cohort, cohort)
        if group is None:
            raise NotFound(f"no cohort {cohort!r}; import its roster first (`nbcred cohort import`)")
        members = set(session.scalars(select(CohortMember.email).where(CohortMember.cohort_id == cohort)))
        items = []
        for raw in dict.fromkeys(addresses):
            try:
                address = normalise_email(raw)
            except BadRequest as exc:
                report.problems.append(str(exc))
                continue
            if address in members:
                report.members.append(address)
                continue
            token, expires = links.new_token(session, purpose=INVITE, email=address,
                                             lifetime=timedelta(days=ctx.settings.claim_days),
                                             data={"cohort": cohort, "inviter": inviter})
            items.append(Outgoing("invite", address, {
                "inviter": inviter, "cohort": group.title, "expires": f"{expires:%Y-%m-%d}",
                "link": f"{ctx.settings.links_base()}/invite/{token}"}))
            report.invited.append(address)
        enqueue(session, ctx.settings, items)
    return report


def invitation(ctx: ServiceContext, token: str) -> InvitePage:
    """What a usable invitation link offers."""
    with ctx.store.session() as session:
        link = links.peek(session, token, INVITE)
        group = session.get(Cohort, str(link.data.get("cohort")))
        has_account = session.scalars(select(User.id).where(User.email == link.email)).first() is not None
        return InvitePage(group.title if group else str(link.data.get("cohort")), link.email,
                          str(link.data.get("inviter") or ""), has_account)


def accept(ctx: ServiceContext, token: str, *, account: Account | None, name: str = "",
           password: str = "") -> Account:
    """Use the invitation: join the cohort with ``account``, or create the invited address's account."""
    with ctx.store.session() as session:
        link = links.peek(session, token, INVITE)
    digest = None
    if account is None:
        check_password(ctx.settings, password, email=link.email)
        if not name.strip():
            raise BadRequest("give your name")
        digest = hash_password(password)
    with ctx.store.session() as session:
        link = links.use(session, token, INVITE)
        if account is None:
            if session.scalars(select(User.id).where(User.email == link.email)).first() is not None:
                raise Conflict("this address already has an account: sign in, then open the link again")
            account = new_account(session, email=link.email, name=name.strip()[:200], role="learner",
                                  password_hash=digest, learner=learner_for(session, link.email))
        _join(session, str(link.data.get("cohort")), account)
        return account


def _join(session: Session, cohort: str, account: Account) -> None:
    if session.get(Cohort, cohort) is None:
        raise NotFound(f"the cohort {cohort!r} no longer exists")
    if session.get(CohortMember, (cohort, account.learner)) is None:
        user = session.get(User, account.id)
        email = user.email if user is not None else account.email
        session.add(CohortMember(cohort_id=cohort, learner_id=account.learner, name=account.name,
                                 email=email))


