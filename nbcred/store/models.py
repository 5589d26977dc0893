"""The gradebook's tables (SQLAlchemy 2 declarative). Alembic owns the schema: see migrations/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Learner(Base):
    __tablename__ = "learners"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AssessmentVersion(Base):
    """One assessment as graded: its id, declared version and a fingerprint of its files."""

    __tablename__ = "assessment_versions"
    __table_args__ = (UniqueConstraint("assessment_id", "fingerprint"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    fingerprint: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AssessmentArchive(Base):
    """The files of one assessment version (a gzipped tar of its folder), kept while the
    catalogue moves on so past submissions stay viewable, gradable by hand and exportable."""

    __tablename__ = "assessment_archives"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    """A learner's submitted content for one assessment version; the content hash is its key."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("learner_id", "assessment_pk", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), index=True)
    assessment_pk: Mapped[int] = mapped_column(ForeignKey("assessment_versions.pk"))
    content_hash: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # bumped by every manual-grading save: the UPDATE serialises concurrent saves of one submission
    manual_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    gradings: Mapped[list[Grading]] = relationship(
        back_populates="submission", order_by="Grading.id", cascade="all, delete-orphan"
    )
    assessment: Mapped[AssessmentVersion] = relationship()


class Extension(Base):
    """An instructor's allowance for one learner and assessment: attempts beyond the assessment's
    limit and a later due date."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("learner_id", "assessment_id", name="uq_extensions_learner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"))
    assessment_id: Mapped[str] = mapped_column(String(200))
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    granted_by: Mapped[str] = mapped_column(String(320))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attempt(Base):
    """The attempt ledger: each distinct content a learner submits for an assessment, numbered.

    Both constraints hold across app processes: one content per attempt number, one attempt number
    per content. A submission takes its number here in the same transaction that queues it.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("learner_id", "assessment_id", "attempt", name="uq_attempts_number"),
        UniqueConstraint("learner_id", "assessment_id", "content_hash", name="uq_attempts_content"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"))
    assessment_id: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Grading(Base):
    """One grading run of a submission. Never updated in place: a re-run adds a row."""

    __tablename__ = "gradings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # "graded" | "error"
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    needs_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    tampered_cells: Mapped[list[str]] = mapped_column(JSON, default=list)
    feedback_path: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "auto": the grader's run; "manual": that run amended by instructors' manual grades
    origin: Mapped[str] = mapped_column(String(20), default="auto", server_default="auto")
    based_on: Mapped[int | None] = mapped_column(Integer)  # the automatic grading amended
    graded_by: Mapped[str | None] = mapped_column(String(320))  # who saved the last manual grade
    tests: Mapped[list[dict] | None] = mapped_column(JSON)  # the learner feedback entries
    integrity: Mapped[list[dict] | None] = mapped_column(JSON)  # instructor-only flags (IntegrityFlag)

    submission: Mapped[Submission] = relationship(back_populates="gradings")
    cells: Mapped[list[GradedCell]] = relationship(cascade="all, delete-orphan", order_by="GradedCell.id")
    competencies: Mapped[list[CompetencyResult]] = relationship(
        cascade="all, delete-orphan", order_by="CompetencyResult.id"
    )


class GradedCell(Base):
    __tablename__ = "cell_grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    notebook: Mapped[str] = mapped_column(String(200))
    cell: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    needs_manual: Mapped[bool] = mapped_column(Boolean)


class CompetencyResult(Base):
    __tablename__ = "competency_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    competency_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)


class IssuedCredential(Base):
    """A credential issued to a learner: one per achievement, version and issue key.

    The issue key is empty for credentials earned by grading; a bulk run may set one (e.g. a
    re-certification round) to issue the same achievement again. ``superseded_by`` names the newer
    credential of the same assessment that replaced this one (it still verifies).
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("learner_id", "achievement_id", "achievement_version", "issue_key",
                         name="uq_credentials_issue"),
        UniqueConstraint("status_list", "status_index", name="uq_credentials_status_slot"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # urn:uuid:...
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), index=True)
    achievement_id: Mapped[str] = mapped_column(String(500))
    achievement_version: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20), default="badge")  # "badge" | "pathway"
    grading_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|revoked|suspended
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_list: Mapped[str | None] = mapped_column(String(500))
    status_index: Mapped[int | None] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issue_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    superseded_by: Mapped[str | None] = mapped_column(String(100))
    #: when the status last changed (revoked, suspended, reinstated): the public page's date
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PendingIssuance(Base):
    """A passing grading whose credential could not be signed yet; retried on the next run."""

    __tablename__ = "pending_issuance"

    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    tries: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusListRecord(Base):
    """A Bitstring Status List's bits and allocation state."""

    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(500), primary_key=True)  # the list credential URL
    purpose: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    allocation: Mapped[bytes | None] = mapped_column(LargeBinary)  # which indexes were handed out
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A person who signs in to the web service: learner, instructor or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # learner | instructor | admin
    password_hash: Mapped[str | None] = mapped_column(Text)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A per-user API token; only its SHA-256 is stored. Revoked tokens stay, marked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser session; the cookie carries a random token, only its SHA-256 is here.

    Ending a session (sign-out, a password change, an administrator) marks it ended: a cookie
    saved before then is no longer accepted, even though its signature is still good.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(100))


class SignInFailure(Base):
    """Recent failed sign-ins per email: each further attempt waits longer."""

    __tablename__ = "signin_failures"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSubmission(Base):
    """An upload received by the web service: the queue entry and its lifecycle.

    ``status`` goes queued → running → graded | error. The row is the queue: any app process
    claims a queued row atomically; a running row whose lease expired is queued again.
    """

    __tablename__ = "web_submissions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), index=True)
    assessment_id: Mapped[str] = mapped_column(String(200), index=True)
    assessment_version: Mapped[str] = mapped_column(String(50))
    fingerprint: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    upload_path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    grading_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))
    credential_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)


class Cohort(Base):
    """A group of learners (a roster) taking a set of assessments with deadlines."""

    __tablename__ = "cohorts"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CohortMember(Base):
    """One learner of a cohort's roster."""

    __tablename__ = "cohort_members"

    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    email: Mapped[str] = mapped_column(String(320))
    section: Mapped[str | None] = mapped_column(String(200))


class CohortAssessment(Base):
    """An assessment a cohort takes, with its deadline and attempt limit."""

    __tablename__ = "cohort_assessments"

    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int | None] = mapped_column(Integer)


class ManualGrade(Base):
    """An instructor's score and comment for one cell of a submission; every save adds a row."""

    __tablename__ = "manual_grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    notebook: Mapped[str] = mapped_column(String(200))
    cell: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    grader: Mapped[str] = mapped_column(String(320))
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    grading_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))  # the grading it made



class MailMessage(Base):
    """One e-mail in the outbox, written in the transaction of the event that causes it.

    ``status`` goes pending → sending (claimed with a lease) → sent | failed; a pending message
    waits until ``next_attempt_at``; a sending one whose lease ran out is claimed again.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    template_values: Mapped[dict | None] = mapped_column(JSON)
    """The template's values: the message is rendered when it is sent (subject and bodies empty
    until then); None for a message stored rendered, or once a single-use link's message went."""
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountToken(Base):
    """A single-use link sent by e-mail (claim, reset, confirm, invite); only its SHA-256 is kept."""

    __tablename__ = "account_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # claim | reset | confirm | email | invite
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MailPreference(Base):
    """Whether an address wants notification e-mails (claims and resets are always sent)."""

    __tablename__ = "mail_preferences"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExternalIdentity(Base):
    """A sign-in at an OpenID Connect provider linked to a user: (issuer, subject) is the key."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiPlatform(Base):
    """An LMS registered as an LTI 1.3 platform: one (issuer, client id) registration."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platform"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(Text)
    auth_token_url: Mapped[str] = mapped_column(Text)
    keyset_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200), default="")
    #: the ``aud`` of client assertions when the platform names one (Brightspace); else the token URL
    token_audience: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiDeployment(Base):
    """A deployment of this tool on a platform (a ``deployment_id`` the platform sends)."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiKey(Base):
    """The tool's own signing keys (RSA, RS256): the newest active one signs; all unretired are
    published at /lti/jwks.json. The private key is encrypted with NBCRED_KEY_PASSPHRASE."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LtiLogin(Base):
    """An OIDC login started by a platform: the state (hashed) and the nonce the launch must echo.
    Single use: ``used_at`` is set by the launch that spends it."""

    __tablename__ = "lti_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LtiContext(Base):
    """An LMS course (context) seen in a launch, with its roster service URL when it offers one."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    memberships_url: Mapped[str | None] = mapped_column(Text)
    cohort_id: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiLink(Base):
    """A resource link (an LMS assignment placement) and the assessment and line item it stands for."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("deployment_pk", "resource_link_id", name="uq_lti_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_pk: Mapped[int] = mapped_column(ForeignKey("lti_deployments.id", ondelete="CASCADE"),
                                               index=True)
    context_pk: Mapped[int | None] = mapped_column(ForeignKey("lti_contexts.id", ondelete="SET NULL"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    assessment_id: Mapped[str] = mapped_column(String(200), index=True)
    lineitem: Mapped[str | None] = mapped_column(Text)
    lineitems: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiLinkUser(Base):
    """A person who launched a resource link, with their LMS user id (``sub``) for score posts."""

    __tablename__ = "lti_link_users"
    __table_args__ = (UniqueConstraint("link_id", "user_id", name="uq_lti_link_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_links.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    launched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiScore(Base):
    """A score to post to a line item: the durable queue (pending → posting → posted | failed).

    ``dedupe_key`` (link, user, grading) makes queueing the same grading twice a no-op; a grading
    whose score equals the last one queued for that link and user is not queued at all.
    """

    __tablename__ = "lti_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_links.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    grading_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WalletOffer(Base):
    """An OpenID4VCI credential offer: its pre-authorized code (and optional transaction code)
    stored hashed, single-use and short-lived; redeeming it gives the access token (also hashed)
    that the wallet spends on one credential."""

    __tablename__ = "wallet_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WalletNonce(Base):
    """A ``c_nonce`` from the nonce endpoint (hashed): a key proof must carry one, once."""

    __tablename__ = "wallet_nonces"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WalletExchange(Base):
    """A VC-API exchange (the DCC Learner Credential Wallet): the secret in its URL is stored
    hashed; the wallet authenticates its DID against ``challenge`` once."""

    __tablename__ = "wallet_exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"))
    challenge: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HolderCopy(Base):
    """A credential re-signed for a wallet: ``credentialSubject.id`` is the holder's DID and its
    status entry is the original's, so a status change of one is a change of both."""

    __tablename__ = "holder_copies"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # urn:uuid:...
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    holder: Mapped[str] = mapped_column(String(2000))
    protocol: Mapped[str] = mapped_column(String(20))  # openid4vci | vcapi
    document: Mapped[dict] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredBlob(Base):
    """A blob of the shared store (``NBCRED_STORAGE=database``), known by its content's SHA-256."""

    __tablename__ = "storage_blobs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredChunk(Base):
    """One piece (up to 1 MiB) of a stored blob, in order: blobs are streamed, never read whole."""

    __tablename__ = "storage_chunks"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoredName(Base):
    """A name in the shared store (an upload, an executed notebook, a key) and the blob it is."""

    __tablename__ = "storage_names"

    name: Mapped[str] = mapped_column(String(500), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
