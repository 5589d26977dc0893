"""A learner's wallet and the public side of credentials: list, look up, bake, share."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from credentials import pathways as cp
from credentials.baking import bake
from credentials.ob3 import subject_name
from nbcred.issuance import badges
from nbcred.issuance.manage import active_documents
from nbcred.issuance.pathways import to_pathway
from nbcred.issuance.slots import parse_time
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound
from nbcred.service.users import Account
from nbcred.store.models import IssuedCredential

URN = "urn:uuid:"
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


@dataclass(frozen=True)
class CredentialSummary:
    """One credential as the wallet and the API list it."""

    id: str
    name: str
    achievement: str
    kind: str
    status: str
    issued: datetime
    valid_until: datetime | None
    url: str
    linkedin_url: str
    image: str | None
    learner: str
    shows_name: bool = False  # the learner put their name in it (public page, OB 3.0 identifier)

    def as_json(self) -> dict[str, Any]:
        """``{"id","achievement","issued","url"}`` plus name, kind, status, valid_until."""
        issued = parse_time(self.issued)
        until = parse_time(self.valid_until)
        return {"id": self.id, "achievement": self.achievement,
                "issued": issued.isoformat() if issued else None, "url": self.url,
                "name": self.name, "kind": self.kind, "status": self.status,
                "valid_until": until.isoformat() if until else None}


@dataclass(frozen=True)
class PathwayProgress:
    """How far a learner is along one pathway."""

    id: str
    name: str
    total: int
    satisfied: tuple[str, ...]
    missing: tuple[str, ...]
    complete: bool


def credential_url(ctx: ServiceContext, credential_id: str) -> str:
    """The public URL of a credential: ``<base>/credentials/<uuid>``."""
    return f"{ctx.base_url()}/credentials/{credential_id.removeprefix(URN)}"


def linkedin_url(ctx: ServiceContext, *, name: str, issued: datetime, valid_until: datetime | None,
                 url: str, credential_id: str) -> str:
    """LinkedIn's documented add-to-profile link for a certification."""
    params: dict[str, Any] = {
        "startTask": "CERTIFICATION_NAME", "name": name,
        "organizationName": ctx.settings.issuer_name,
        "issueYear": issued.year, "issueMonth": issued.month,
    }
    if valid_until is not None:
        params.update(expirationYear=valid_until.year, expirationMonth=valid_until.month)
    params.update(certUrl=url, certId=credential_id.removeprefix(URN))
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


def _image(document: dict[str, Any]) -> str | None:
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    image = achievement.get("image") if isinstance(achievement, dict) else None
    if isinstance(image, dict) and isinstance(image.get("id"), str):
        return str(image["id"])
    return None


def _summary(ctx: ServiceContext, row: IssuedCredential) -> CredentialSummary:
    url = credential_url(ctx, row.id)
    name = str(row.document.get("name", row.achievement_id))
    issued = parse_time(row.issued_at) or row.issued_at
    until = parse_time(row.valid_until)
    return CredentialSummary(
        id=row.id, name=name, achievement=row.achievement_id, kind=row.kind, status=row.status,
        issued=issued, valid_until=until, url=url,
        linkedin_url=linkedin_url(ctx, name=name, issued=issued, valid_until=until, url=url,
                                  credential_id=row.id),
        image=_image(row.document), learner=row.learner_id,
        shows_name=subject_name(row.document) is not None,
    )


def list_credentials(ctx: ServiceContext, account: Account) -> list[CredentialSummary]:
    """The caller's credentials, newest first."""
    query = (select(IssuedCredential).where(IssuedCredential.learner_id == account.learner)
             .order_by(IssuedCredential.issued_at.desc(), IssuedCredential.id))
    with ctx.store.session() as session:
        return [_summary(ctx, row) for row in session.scalars(query)]


def _row(ctx: ServiceContext, credential_id: str) -> IssuedCredential:
    key = credential_id if credential_id.startswith(URN) else URN + credential_id
    with ctx.store.session() as session:
        row = session.get(IssuedCredential, key)
        if row is None:
            raise NotFound(f"no credential {credential_id!r} was issued here")
        return row


def public_credential(ctx: ServiceContext, credential_id: str) -> tuple[CredentialSummary, dict[str, Any]]:
    """Anyone may see an issued credential by its id (it is shared by its holder)."""
    row = _row(ctx, credential_id)
    return _summary(ctx, row), dict(row.document)


def own_credential(
    ctx: ServiceContext, account: Account, credential_id: str
) -> tuple[CredentialSummary, dict[str, Any]]:
    """One of the caller's credentials (another learner's is "not found")."""
    row = _row(ctx, credential_id)
    if row.learner_id != account.learner:
        raise NotFound(f"no credential {credential_id!r} in your wallet")
    return _summary(ctx, row), dict(row.document)


def baked_png(ctx: ServiceContext, account: Account, credential_id: str) -> tuple[str, bytes]:
    """The credential baked into a PNG badge (file name, bytes)."""
    summary, document = own_credential(ctx, account, credential_id)
    return f"{summary.id.removeprefix(URN)}.png", bake(document, badge_png(summary.name))


def badge_png(title: str, size: int = 320) -> bytes:
    """A plain round PNG badge showing ``title``."""
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=(31, 78, 121, 255), outline=(242, 169, 0, 255), width=10)
    font = ImageFont.load_default(size=22)
    lines = textwrap.wrap(title, width=18)[:5]
    height = 28 * len(lines)
    for n, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((size - width) / 2, (size - height) / 2 + 28 * n), line, fill="white", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pathway_progress(ctx: ServiceContext, account: Account) -> list[PathwayProgress]:
    """Progress along every pathway of the catalogue, from the learner's active badges."""
    issuer = ctx.issuer
    held = active_documents(issuer, account.learner, kind="badge")
    with ctx.store.session() as session:
        email = badges.learner_email(session, ctx.settings, account.learner)
    out = []
    for spec in ctx.catalogue.pathways:
        pathway = to_pathway(issuer, ctx.catalogue, spec)
        progress = cp.evaluate_pathway(pathway, held, email=email, now=issuer.clock())
        out.append(PathwayProgress(
            id=spec.id, name=pathway.name, total=len(pathway.requirements),
            satisfied=tuple(r.describe() for r, _doc in progress.satisfied),
            missing=tuple(r.describe() for r in progress.missing), complete=progress.complete,
        ))
    return out
