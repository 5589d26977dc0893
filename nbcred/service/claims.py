"""Claiming issued credentials from an e-mailed link, and the "your badge is ready" notice.

A bulk run with ``--notify`` calls :func:`claim_messages` in the transaction that stores the new
credentials: a learner without an account gets a single-use claim link (hashed, expiring after
``NBCRED_CLAIM_DAYS``); one who has an account gets a "sign in to see it" link. Claiming creates
the account with the roster's name and e-mail, linked to the roster's learner id, so every
credential issued to that learner id is in its wallet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nbcred.mail import Outgoing, enqueue
from nbcred.service import links
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict
from nbcred.service.passwords import check_password
from nbcred.service.users import Account, hash_password, new_account
from nbcred.settings import Settings
from nbcred.store.models import IssuedCredential, Learner, User
from nbcred.store.queries import among

URN = "urn:uuid:"


@dataclass(frozen=True)
class NewCredential:
    """A credential just stored, with what its e-mail needs (the achievement's name and picture:
    see :class:`AchievementFacts`, read once per achievement, not once per credential)."""

    credential_id: str
    learner: str
    name: str
    email: str
    achievement: AchievementFacts


@dataclass(frozen=True)
class AchievementFacts:
    """What a claim e-mail says of the achievement."""

    name: str
    image: str | None
    """The achievement's picture on the web, if it has one (else the credential's PNG is linked)."""

    @classmethod
    def of(cls, document: dict[str, Any]) -> AchievementFacts:
        return cls(achievement_name(document), _web_image(document))


@dataclass(frozen=True)
class ClaimPage:
    """What a claim link's page shows."""

    achievement: str
    issuer: str
    name: str
    email: str
    image_url: str | None
    has_account: bool


def achievement_name(document: dict[str, Any]) -> str:
    """The achievement a credential document certifies (its name)."""
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    if isinstance(achievement, dict) and isinstance(achievement.get("name"), str):
        return str(achievement["name"])
    return str(document.get("name") or "a badge")


def _web_image(document: dict[str, Any]) -> str | None:
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    image = achievement.get("image") if isinstance(achievement, dict) else None
    url = image.get("id") if isinstance(image, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def image_url(settings: Settings, credential_id: str, document: dict[str, Any]) -> str:
    """A fetchable badge picture: the achievement's web image, else the credential's PNG."""
    return _web_image(document) or _png(settings, credential_id)


def _png(settings: Settings, credential_id: str) -> str:
    return f"{settings.links_base()}/credentials/{credential_id.removeprefix(URN)}/image.png"


def claim_messages(session: Session, settings: Settings, credentials: Sequence[NewCredential]) -> int:
    """Queue one e-mail per new credential (claim link, or sign-in link for account holders)."""
    wanted = [c for c in credentials if c.email]
    if not wanted:
        return 0
    emails = list({c.email.lower() for c in wanted})
    learners = list({c.learner for c in wanted})
    holders = session.execute(select(User.email, User.learner_id).where(
        or_(among(session, User.email, emails), among(session, User.learner_id, learners)))).tuples().all()
    known = {e for e, _ in holders} | {learner for _, learner in holders}
    base = settings.links_base()
    claiming = [c for c in wanted if not (c.email.lower() in known or c.learner in known)]
    tokens, expires = links.new_tokens(
        session, purpose="claim", lifetime=timedelta(days=settings.claim_days),
        wanted=[links.NewLink(c.email.lower(), {"learner": c.learner, "name": c.name,
                                                "credential": c.credential_id}) for c in claiming])
    token_of = {c.credential_id: token for c, token in zip(claiming, tokens, strict=True)}
    items = []
    for credential in wanted:
        values = {"name": credential.name or credential.email, "achievement": credential.achievement.name,
                  "image_url": credential.achievement.image or _png(settings, credential.credential_id)}
        token = token_of.get(credential.credential_id)
        if token is None:
            values["link"] = f"{base}/signin?next=/wallet"
            kind = "signin"
        else:
            values.update(link=f"{base}/claim/{token}", expires=f"{expires:%Y-%m-%d}")
            kind = "claim"
        items.append(Outgoing(kind, credential.email, values, dedupe_key=f"claim:{credential.credential_id}"))
    return enqueue(session, settings, items)


def _holder(session: Session, email: str, learner: str) -> User | None:
    return session.scalars(select(User).where(
        or_(User.email == email.lower(), User.learner_id == learner))).first()


def claim_page(ctx: ServiceContext, token: str) -> ClaimPage:
    """What the claim link offers; :class:`NotFound` for a used, expired or unknown link."""
    with ctx.store.session() as session:
        link = links.peek(session, token, "claim")
        credential = session.get(IssuedCredential, str(link.data.get("credential", "")))
        document = dict(credential.document) if credential is not None else {}
        learner = str(link.data.get("learner", ""))
        return ClaimPage(
            achievement=achievement_name(document), issuer=ctx.settings.issuer_name,
            name=str(link.data.get("name") or ""), email=link.email,
            image_url=image_url(ctx.settings, credential.id, document) if credential else None,
            has_account=_holder(session, link.email, learner) is not None)


def claim(ctx: ServiceContext, token: str, password: str) -> Account:
    """Use the claim link: create the learner's account with ``password`` and return it."""
    with ctx.store.session() as session:
        link = links.peek(session, token, "claim")
    check_password(ctx.settings, password, email=link.email)
    digest = hash_password(password)
    with ctx.store.session() as session:
        link = links.use(session, token, "claim")
        learner = str(link.data.get("learner") or link.email)
        if _holder(session, link.email, learner) is not None:
            raise Conflict("an account with this e-mail address already exists: sign in to see your badge")
        return new_account(session, email=link.email, name=str(link.data.get("name") or ""),
                           role="learner", password_hash=digest, learner=learner)


def badge_ready(session: Session, settings: Settings, *, email: str, name: str, credential_id: str,
                document: dict[str, Any]) -> int:
    """Queue the "your badge is ready" notice (with the public link) for a graded learner."""
    values = {"name": name or email, "achievement": achievement_name(document),
              "image_url": image_url(settings, credential_id, document),
              "link": f"{settings.public_base_url.rstrip('/')}/credentials/{credential_id.removeprefix(URN)}"}
    return enqueue(session, settings, [Outgoing("badge_ready", email, values,
                                                dedupe_key=f"ready:{credential_id}")])


def expiring_notices(session: Session, settings: Settings, credential_ids: Sequence[str]) -> int:
    """Queue "your badge expires on …" for each credential whose learner has an address."""
    items = []
    for credential_id in credential_ids:
        row = session.get(IssuedCredential, credential_id)
        if row is None or row.valid_until is None:
            continue
        learner = session.get(Learner, row.learner_id)
        if learner is None or not learner.email:
            continue
        document = dict(row.document)
        until = f"{row.valid_until:%Y-%m-%d}"
        items.append(Outgoing("expiring", learner.email, {
            "name": learner.name or learner.email, "achievement": achievement_name(document),
            "until": until, "image_url": image_url(settings, row.id, document),
            "link": f"{settings.public_base_url.rstrip('/')}/credentials/{row.id.removeprefix(URN)}"},
            dedupe_key=f"expiring:{row.id}:{until}"))
    return enqueue(session, settings, items)
