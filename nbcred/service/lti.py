"""LTI 1.3 as service operations: registration, login and launch, deep linking, scores, rosters.

The web adapters (``nbcred/web/lti.py``) and the command line (``nbcred lti``) call these; the
protocol work is in :mod:`nbcred.lti`. A launch signs the person in by (issuer, subject): the
linked account, else the account of the launch's e-mail (never an administrator's), else a new
one; an LMS instructor role makes a learner account an instructor.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from nbcred.lti import claims as c
from nbcred.lti import deeplink, keys, launch, registration, roster, scores, services
from nbcred.lti.errors import LaunchRefused, PlatformCallFailed, RegistrationError
from nbcred.service import links
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, Forbidden, NotFound
from nbcred.service.selfservice import learner_for
from nbcred.service.users import Account, account_of, new_account
from nbcred.store.models import (
    ExternalIdentity,
    LtiContext,
    LtiDeployment,
    LtiLink,
    LtiLinkUser,
    LtiPlatform,
    LtiScore,
    User,
)

log = logging.getLogger(__name__)
CONTINUE = "lti_continue"
CONTINUE_LIFETIME = timedelta(minutes=5)
REGISTER = "lti_register"
REGISTER_LIFETIME = timedelta(days=7)
__all__ = ["LaunchRefused", "PlatformCallFailed", "RegistrationError"]  # the errors front ends map
KEYSETS = launch.KeySets()
TOKENS = services.Tokens()


@dataclass(frozen=True)
class PlatformInfo:
    """A registered platform and its deployments."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    keyset_url: str
    title: str
    deployments: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class DeepLinkRequest:
    """A deep-linking launch waiting for the instructor's choice (kept signed by the web layer)."""

    platform_id: int
    deployment_id: str
    return_url: str
    user_id: int
    data: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"p": self.platform_id, "d": self.deployment_id, "r": self.return_url, "u": self.user_id,
                "x": self.data}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> DeepLinkRequest:
        return cls(int(value["p"]), str(value["d"]), str(value["r"]), int(value["u"]), value.get("x"))


@dataclass(frozen=True)
class Landing:
    """Where a verified launch goes: the signed-in account and the page (or the picker)."""

    account: Account
    target: str
    deep_link: DeepLinkRequest | None = None
    roster: tuple[str, str, str] | None = None
    """(issuer, client id, context id) of an instructor's launch in a course with a roster service."""


def _info(session: Session, row: LtiPlatform) -> PlatformInfo:
    deployments = tuple(session.scalars(select(LtiDeployment.deployment_id).where(
        LtiDeployment.platform_id == row.id).order_by(LtiDeployment.id)))
    return PlatformInfo(row.id, row.issuer, row.client_id, row.auth_login_url, row.auth_token_url,
                        row.keyset_url, row.title, deployments, row.created_at)


def _url(value: str, what: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise RegistrationError(f"{what} must be an http(s) URL, not {value!r}")
    return value.strip()


def add_platform(ctx: ServiceContext, *, issuer: str, client_id: str, deployment_id: str,
                 auth_login_url: str, auth_token_url: str, keyset_url: str, title: str = "",
                 token_audience: str | None = None) -> PlatformInfo:
    """Register a platform (or update its URLs) and add the deployment; idempotent."""
    if not issuer.strip() or not client_id.strip() or not deployment_id.strip():
        raise RegistrationError("--issuer, --client-id and --deployment-id must not be empty")
    urls = {"auth_login_url": _url(auth_login_url, "--auth-login-url"),
            "auth_token_url": _url(auth_token_url, "--auth-token-url"),
            "keyset_url": _url(keyset_url, "--keyset-url")}
    audience = (token_audience or "").strip() or None
    with ctx.store.session() as session:
        row = session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer.strip(),
                                                        LtiPlatform.client_id == client_id.strip())).first()
        if row is None:
            row = LtiPlatform(issuer=issuer.strip(), client_id=client_id.strip(), title=title.strip(),
                              token_audience=audience, **urls)
            session.add(row)
            session.flush()
        else:
            for name, value in urls.items():
                setattr(row, name, value)
            if title.strip():
                row.title = title.strip()
            if audience:
                row.token_audience = audience
        known = session.scalars(select(LtiDeployment).where(
            LtiDeployment.platform_id == row.id,
            LtiDeployment.deployment_id == deployment_id.strip())).first()
        if known is None:
            session.add(LtiDeployment(platform_id=row.id, deployment_id=deployment_id.strip()))
            session.flush()
        return _info(session, row)


def list_platforms(ctx: ServiceContext) -> list[PlatformInfo]:
    """Every registered platform with its deployments."""
    with ctx.store.session() as session:
        return [_info(session, row) for row in session.scalars(select(LtiPlatform).order_by(LtiPlatform.id))]


def frame_origins(ctx: ServiceContext) -> list[str]:
    """Origins of the registered platforms (issuer and login URL) that may frame the pages."""
    found: set[str] = set()
    with ctx.store.session() as session:
        for issuer, login in session.execute(select(LtiPlatform.issuer, LtiPlatform.auth_login_url)).tuples():
            for value in (issuer, login):
                parsed = urlparse(value)
                if parsed.scheme in ("https", "http") and parsed.netloc:
                    found.add(f"{parsed.scheme}://{parsed.netloc}")
    return sorted(found)


def _passphrase(ctx: ServiceContext) -> str:
    """The key passphrase, once the tool's first key exists (made now if need be)."""
    passphrase = ctx.settings.key_passphrase.get_secret_value()
    keys.ensure(ctx.store.engine, passphrase)
    return passphrase


def jwks(ctx: ServiceContext) -> dict[str, Any]:
    """The tool's public keys (``/lti/jwks.json``)."""
    _passphrase(ctx)
    with ctx.store.session() as session:
        return keys.published(session)


def rotate_key(ctx: ServiceContext) -> str:
    """A new signing key (the previous one stays published); its ``kid``."""
    passphrase = _passphrase(ctx)
    with ctx.store.session() as session:
        return keys.rotate(session, passphrase)


def sign(ctx: ServiceContext, claims: dict[str, Any]) -> str:
    """``claims`` signed with the tool's current key."""
    passphrase = _passphrase(ctx)
    with ctx.store.session() as session:
        return keys.sign(session, passphrase, claims)


def login(ctx: ServiceContext, params: dict[str, str], *, redirect_uri: str) -> str:
    """Start an OIDC login (third-party initiated); the platform URL to redirect the browser to."""
    with ctx.store.session() as session:
        return launch.begin_login(
            session, issuer=params.get("iss", ""), login_hint=params.get("login_hint", ""),
            target_link_uri=params.get("target_link_uri", ""), redirect_uri=redirect_uri,
            lti_message_hint=params.get("lti_message_hint"), client_id=params.get("client_id"))


def accept_launch(ctx: ServiceContext, *, id_token: str, state: str) -> Landing:
    """Verify a launch, sign its person in and record the link; where the browser goes next."""
    with ctx.store.session() as session:  # committed: the state is spent even when the launch is refused
        login = launch.spend_state(session, state)
    with ctx.store.session() as session:
        verified = launch.validate(session, id_token=id_token, login=login, keysets=KEYSETS)
    if verified.message_type == c.DEEP_LINKING_REQUEST and not verified.instructor:
        raise LaunchRefused("choosing an assessment (deep linking) is for instructors", 403)
    for tries in (1, 2):
        try:
            with ctx.store.session() as session:
                return _land(ctx, session, verified)
        except IntegrityError:  # a concurrent launch of the same person or link: once more
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _land(ctx: ServiceContext, session: Session, verified: launch.Launch) -> Landing:
    account = _account(ctx, session, verified)
    context = _context(session, verified)
    if verified.deep_linking is not None:
        assert verified.deep_linking is not None
        request = DeepLinkRequest(verified.platform_id, verified.deployment_id,
                                  verified.deep_linking.return_url, account.id, verified.deep_linking.data)
        return Landing(account, "/lti/deep-link", request)
    assessment = _assessment_of(session, verified)
    if assessment is None:
        return Landing(account, "/")
    link = _link(session, verified, assessment, context)
    member = session.scalars(select(LtiLinkUser).where(LtiLinkUser.link_id == link.id,
                                                       LtiLinkUser.user_id == account.id)).first()
    role = "instructor" if verified.instructor else "learner"
    if member is None:
        session.add(LtiLinkUser(link_id=link.id, user_id=account.id, subject=verified.subject, role=role))
        session.flush()
    else:
        member.subject, member.role, member.launched_at = verified.subject, role, func.now()
    if not verified.instructor:  # a grading from before this launch reaches the gradebook too
        scores.queue_for(session, ctx.settings, learner_id=account.learner, assessment_id=assessment)
    roster = (verified.issuer, verified.client_id, verified.context_id) if (
        verified.instructor and verified.context_id and verified.memberships_url) else None
    return Landing(account, f"/assessments/{assessment}", roster=roster)


def _assessment_of(session: Session, verified: launch.Launch) -> str | None:
    named = verified.custom.get("assessment")
    if isinstance(named, str) and named.strip():
        return named.strip()
    path = urlparse(verified.target_link_uri).path
    if path.startswith("/assessments/") and path.count("/") == 2:
        return path.rsplit("/", 1)[1]
    known = session.scalars(select(LtiLink.assessment_id).where(
        LtiLink.deployment_pk == verified.deployment_pk,
        LtiLink.resource_link_id == (verified.resource_link_id or ""))).first()
    return known


def _account(ctx: ServiceContext, session: Session, verified: launch.Launch) -> Account:
    linked = session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.issuer == verified.issuer, ExternalIdentity.subject == verified.subject)).first()
    if linked is not None:
        user = session.get(User, linked.user_id)
        if user is None or not user.active:
            raise LaunchRefused("the account linked to this LMS user is disabled", 403)
    else:
        user = session.scalars(select(User).where(User.email == verified.email)).first() \
            if verified.email else None
        if user is not None and (user.role == "admin" or not user.active):
            raise LaunchRefused("an LMS launch never signs in to an administrator's (or a disabled) "
                                f"account; {verified.email} is one: use another address in the LMS", 403)
        if user is None:
            email = verified.email or (
                "lti-" + hashlib.sha256(f"{verified.issuer}\n{verified.subject}".encode()).hexdigest()[:16]
                + f"@{ctx.settings.learner_email_domain}")
            created = new_account(session, email=email, name=verified.name or email,
                                  role="instructor" if verified.instructor else "learner",
                                  password_hash=None, learner=learner_for(session, email))
            user = session.get(User, created.id)
            assert user is not None
        session.add(ExternalIdentity(user_id=user.id, issuer=verified.issuer, subject=verified.subject))
    if verified.instructor and user.role == "learner":
        user.role = "instructor"
    session.flush()
    return account_of(user)


def _context(session: Session, verified: launch.Launch) -> LtiContext | None:
    if not verified.context_id:
        return None
    row = session.scalars(select(LtiContext).where(LtiContext.platform_id == verified.platform_id,
                                                   LtiContext.context_id == verified.context_id)).first()
    if row is None:
        row = LtiContext(platform_id=verified.platform_id, context_id=verified.context_id)
        session.add(row)
    row.title = verified.context_title or row.title or ""
    row.memberships_url = verified.memberships_url or row.memberships_url
    row.updated_at = func.now()
    session.flush()
    return row


def _link(session: Session, verified: launch.Launch, assessment: str, context: LtiContext | None) -> LtiLink:
    row = session.scalars(select(LtiLink).where(
        LtiLink.deployment_pk == verified.deployment_pk,
        LtiLink.resource_link_id == (verified.resource_link_id or ""))).first()
    if row is None:
        row = LtiLink(deployment_pk=verified.deployment_pk, resource_link_id=verified.resource_link_id or "",
                      assessment_id=assessment, scopes=[])
        session.add(row)
    row.assessment_id = assessment
    row.title = verified.resource_link_title or row.title or ""
    row.context_pk = context.id if context is not None else row.context_pk
    if verified.ags is not None:
        if verified.ags.lineitem and verified.ags.lineitem != row.lineitem:
            row.lineitem = verified.ags.lineitem
        row.lineitems = verified.ags.lineitems or row.lineitems
        row.scopes = list(verified.ags.scopes)
    row.updated_at = func.now()
    session.flush()
    return row


def continuation(ctx: ServiceContext, account: Account, target: str) -> str:
    """A single-use code (5 minutes) that signs ``account`` in at ``target`` in a new window."""
    with ctx.store.session() as session:
        token, _ = links.new_token(session, purpose=CONTINUE, email=account.email, lifetime=CONTINUE_LIFETIME,
                                   user_id=account.id, data={"next": target})
        return token


def peek_continuation(ctx: ServiceContext, code: str) -> tuple[int, str]:
    """(user id, target) of a continuation code that is still usable; :class:`NotFound` otherwise."""
    with ctx.store.session() as session:
        found = links.peek(session, code, CONTINUE)
    return int(found.user_id or 0), str(found.data.get("next") or "/")


def use_continuation(ctx: ServiceContext, code: str) -> tuple[Account, str]:
    """Spend a continuation code: the account to sign in and where to go."""
    with ctx.store.session() as session:
        found = links.use(session, code, CONTINUE)
        user = session.get(User, found.user_id) if found.user_id else None
        if user is None or not user.active:
            raise NotFound(links.INVALID)
        return account_of(user), str(found.data.get("next") or "/")


def deep_link_response(ctx: ServiceContext, account: Account, request: DeepLinkRequest, *,
                       assessment_id: str, launch_url: str) -> tuple[str, str]:
    """(return URL, signed ``LtiDeepLinkingResponse`` JWT) for the chosen assessment."""
    if account.id != request.user_id:
        raise Forbidden("this choice belongs to another LMS launch: start again from the LMS")
    assessment = ctx.catalogue.assessments.get(assessment_id)
    if assessment is None:
        raise NotFound(f"no assessment {assessment_id!r} in the catalogue")
    passphrase = _passphrase(ctx)
    with ctx.store.session() as session:
        platform = session.get(LtiPlatform, request.platform_id)
        if platform is None:
            raise NotFound("the platform of this launch is no longer registered")
        choice = deeplink.Choice(assessment.id, assessment.spec.title,
                                 float(sum(cell.points for cell in assessment.grade_cells())), launch_url)
        claims = deeplink.response_claims(client_id=platform.client_id, issuer=platform.issuer,
                                          deployment_id=request.deployment_id,
                                          items=[deeplink.content_item(choice)], data=request.data)
        return request.return_url, keys.sign(session, passphrase, claims)


@dataclass(frozen=True)
class RosterSync:
    """What a roster sync fetched and stored."""

    cohort: str
    title: str
    members: list[roster.RosterMember]
    stored: int


def sync_roster(ctx: ServiceContext, *, issuer: str, context_id: str, client_id: str | None = None,
                url: str | None = None) -> RosterSync:
    """Fetch the context's members (NRPS) and store its learners as a cohort."""
    with ctx.store.session() as session:
        try:
            platform = launch.find_platform(session, issuer, client_id)
        except LaunchRefused as exc:
            raise NotFound(str(exc)) from exc
        context = session.scalars(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                                           LtiContext.context_id == context_id)).first()
        memberships = url or (context.memberships_url if context is not None else None)
        if not memberships:
            raise BadRequest(f"no roster service is known for context {context_id!r} of {issuer}: "
                             "launch nbcred from that course once (the launch carries the service's "
                             "URL), or pass --url")
        registration = services.Registration(platform.issuer, platform.client_id, platform.auth_token_url,
                                             platform.token_audience)
        platform_id, title = platform.id, (context.title if context is not None else "") or context_id
    try:
        fetched = services.memberships(TOKENS, registration, lambda claims: sign(ctx, claims), memberships)
    except PlatformCallFailed as exc:
        raise BadRequest(f"the roster could not be fetched: {exc}") from exc
    members = roster.parse(fetched)
    cohort = roster.cohort_id(platform_id, context_id)
    with ctx.store.session() as session:
        stored = roster.store(session, issuer=issuer, cohort=cohort, title=title, members=members)
        if context is not None:
            row = session.get(LtiContext, context.id)
            if row is not None:
                row.cohort_id = cohort
    return RosterSync(cohort, title, members, stored)


def sync_roster_later(ctx: ServiceContext, *, issuer: str, client_id: str, context_id: str
                      ) -> threading.Thread:
    """Sync a course's roster in a background thread (an instructor's launch: no wait for the LMS)."""
    def run() -> None:
        try:
            done = sync_roster(ctx, issuer=issuer, client_id=client_id, context_id=context_id)
            log.info("roster of %s %s: %d learners in cohort %s", issuer, context_id, done.stored,
                     done.cohort)
        except Exception:  # the launch went on; the next one (or the command) tries again
            log.exception("syncing the roster of %s %s failed", issuer, context_id)

    thread = threading.Thread(target=run, name="nbcred-lti-roster", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class ScoreRow:
    """One queued score as the passback view lists it."""

    id: int
    course: str
    link_title: str
    assessment: str
    learner: str
    email: str
    score: str
    status: str
    tries: int
    last_error: str | None
    created_at: datetime
    posted_at: datetime | None


def list_scores(ctx: ServiceContext, *, status: str | None = None, limit: int = 500) -> list[ScoreRow]:
    """The newest queued scores with their LMS course, learner and outcome."""
    query = (select(LtiScore, LtiLink, User, LtiContext)
             .join(LtiLink, LtiScore.link_id == LtiLink.id).join(User, LtiScore.user_id == User.id)
             .outerjoin(LtiContext, LtiLink.context_pk == LtiContext.id)
             .order_by(LtiScore.id.desc()).limit(limit))
    if status:
        query = query.where(LtiScore.status == status)
    with ctx.store.session() as session:
        return [ScoreRow(s.id, (ctx_row.title or ctx_row.context_id) if ctx_row else "", link.title,
                         link.assessment_id, user.name, user.email,
                         f"{s.payload.get('scoreGiven', 0):g}/{s.payload.get('scoreMaximum', 0):g}",
                         s.status, s.tries, s.last_error, s.created_at, s.posted_at)
                for s, link, user, ctx_row in session.execute(query).tuples()]


def score_counts(ctx: ServiceContext) -> dict[str, int]:
    """How many scores are in each status."""
    with ctx.store.session() as session:
        rows = session.execute(select(LtiScore.status, func.count()).group_by(LtiScore.status)).tuples()
        return {status: int(n) for status, n in rows}


def retry_scores(ctx: ServiceContext, ids: list[int] | None = None) -> int:
    """Queue failed scores again (all when ``ids`` is empty); how many."""
    with ctx.store.session() as session:
        return scores.retry(session, ids)


def post_scores_now(ctx: ServiceContext) -> scores.PostReport:
    """Post every pending score now (waits between retries skipped)."""
    return scores.ScorePoster(ctx.settings, ctx.store, tokens=TOKENS).post_pending(due_only=False)


def grading_recorded(ctx: ServiceContext, session: Session, *, learner_id: str, assessment_id: str) -> int:
    """Queue the learner's score for the LMS links they launched ``assessment_id`` from (same
    transaction, in a savepoint: a failure here is logged and never loses the grading)."""
    try:
        with session.begin_nested():
            return scores.queue_for(session, ctx.settings, learner_id=learner_id, assessment_id=assessment_id)
    except SQLAlchemyError:
        log.exception("queueing the LMS score of %s on %s failed", learner_id, assessment_id)
        return 0


def score_poster(ctx: ServiceContext) -> scores.PosterThread:
    """The background poster ``nbcred serve`` runs (start it, close it on shutdown)."""
    return scores.PosterThread(ctx.settings, ctx.store, tokens=TOKENS)


def registration_url(ctx: ServiceContext, *, base: str) -> str:
    """A Dynamic Registration URL to paste into an LMS (single use, seven days)."""
    with ctx.store.session() as session:
        token, _ = links.new_token(session, purpose=REGISTER, email="", lifetime=REGISTER_LIFETIME)
    return f"{base}/lti/register?token={token}"


def dynamic_registration(ctx: ServiceContext, *, token: str, openid_configuration: str,
                         registration_token: str | None, base: str) -> PlatformInfo:
    """Register with the platform that opened the registration URL (LTI Dynamic Registration 1.0)."""
    with ctx.store.session() as session:
        links.peek(session, token, REGISTER)
    config = registration.read_configuration(openid_configuration)
    body = registration.tool_registration(base=base, name=ctx.settings.issuer_name)
    done = registration.register(config, body, registration_token)
    with ctx.store.session() as session:
        links.use(session, token, REGISTER)
    return add_platform(ctx, issuer=config.issuer, client_id=done.client_id, deployment_id=done.deployment_id,
                        auth_login_url=config.authorization_endpoint, auth_token_url=config.token_endpoint,
                        keyset_url=config.jwks_uri, title=config.product)
