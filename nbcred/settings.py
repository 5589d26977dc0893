"""Every setting of nbcred, declared once, read from the environment with the ``NBCRED_`` prefix.

Pass a :class:`Settings` object down; nothing else reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The folder ``make demo`` and a checkout use; picked when it already exists in the current folder.
LOCAL_HOME = Path(".nbcred")


def default_home() -> Path:
    """``./.nbcred`` if it already exists, else the user's data folder (never a new folder here).

    The user's data folder is ``$XDG_DATA_HOME/nbcred`` (default ``~/.local/share/nbcred``): one
    gradebook and one issuer key per user, wherever a command is run from.
    """
    if LOCAL_HOME.is_dir():
        return LOCAL_HOME
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "nbcred"


#: The sample catalogue and submissions shipped with nbcred's source (next to the package).
SAMPLE_CATALOGUE = Path(__file__).resolve().parents[1] / "assessments"
SAMPLE_SUBMISSIONS = Path(__file__).resolve().parents[1] / "notebooks"
#: The issuer and base URL until they are set: a credential signed with them points nowhere.
PLACEHOLDER_URL = "https://nbcred.example.org"


def default_catalogue() -> Path:
    """``./assessments`` if it exists here, else the sample catalogue, wherever nbcred is started."""
    here = Path("assessments")
    return here if here.is_dir() or not SAMPLE_CATALOGUE.is_dir() else SAMPLE_CATALOGUE


def default_submissions() -> Path:
    """``./notebooks`` if it exists here, else the sample submissions shipped with the catalogue."""
    here = Path("notebooks")
    return here if here.is_dir() or not SAMPLE_SUBMISSIONS.is_dir() else SAMPLE_SUBMISSIONS


class OidcProvider(BaseModel):
    """One institution's OpenID Connect provider (an entry of ``NBCRED_OIDC_PROVIDERS``)."""

    name: str = Field(description="Short id used in URLs, e.g. uni (letters, digits, - and _).",
                      pattern=r"^[A-Za-z0-9_-]{1,40}$")
    title: str = Field(description='Button text after "Sign in with", e.g. Example University.')
    discovery_url: str = Field(description="The provider's .well-known/openid-configuration URL.")
    client_id: str = Field(description="nbcred's client id at the provider.")
    roles_claim: str | None = Field(None, description="ID-token claim listing the person's roles.")
    role_values: dict[str, str] = Field(
        default_factory=dict, description="Claim value → nbcred role, e.g. {\"staff\": \"instructor\"}.")
    domain_roles: dict[str, str] = Field(
        default_factory=dict, description="E-mail domain → nbcred role, e.g. {\"staff.example.edu\": "
        "\"instructor\"}; everyone else is a learner.")


class Settings(BaseSettings):
    """nbcred's configuration. Each field is documented; ``nbcred settings`` prints them all."""

    model_config = SettingsConfigDict(env_prefix="NBCRED_", extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        description="Folder for the default SQLite gradebook, feedback reports, keys and status lists "
        "(default: ./.nbcred if it exists, else $XDG_DATA_HOME/nbcred, i.e. ~/.local/share/nbcred).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the gradebook; default: SQLite at <home>/gradebook.sqlite. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    catalogue: Path = Field(
        default_factory=default_catalogue,
        description="Folder of assessments and pathways (default: ./assessments if it exists, else "
        "the sample catalogue shipped with nbcred).",
    )
    submissions: Path = Field(
        default_factory=default_submissions,
        description="Folder of sample learner submissions (default: ./notebooks if it exists, else "
        "the samples shipped with nbcred).",
    )
    url: str | None = Field(
        None,
        description="Address of the nbcred web service that clients (the Jupyter exchange) talk to, "
        "e.g. https://badges.example.org.",
    )
    token: SecretStr | None = Field(
        None,
        description="The learner's API token for the nbcred web service, used by the Jupyter exchange "
        "(create one on your account page).",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Parallel grading workers for the local executor (default: number of cores).",
    )
    executor: Literal["local", "celery"] = Field("local", description="Where notebooks run.")
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Celery broker (Redis or amqp:// for RabbitMQ)."
    )
    result_backend: str = Field("redis://127.0.0.1:6379/1", description="Celery result backend.")
    storage: str = Field(
        "local",
        description="Where uploads, assessment versions, executed notebooks, feedback, published files "
        "and the issuer's keys live for every process: local (files under NBCRED_HOME, one machine), "
        "database (content-addressed blobs in NBCRED_DATABASE_URL's database, PostgreSQL; app "
        "processes and workers on any machine), or s3://bucket[/prefix] (an S3-compatible object "
        "store; endpoint in NBCRED_S3_ENDPOINT_URL, keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of the S3-compatible store for NBCRED_STORAGE=s3://… (default: "
        "AWS_ENDPOINT_URL, else Amazon S3).",
    )
    s3_region: str | None = Field(None, description="Region of that store (default: us-east-1).")
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that may read /metrics (Prometheus format) besides an admin's API "
        "token; give it to the monitoring system.",
    )
    seed_secret: SecretStr = Field(
        SecretStr("nbcred-default-seed-secret"),
        description="Secret mixed into each learner's papermill seed so seeds cannot be predicted.",
    )
    key_passphrase: SecretStr = Field(
        SecretStr("nbcred-development-passphrase"),
        description="Passphrase that encrypts issuer signing keys at rest. Set it in production.",
    )
    identity_salt: SecretStr | None = Field(
        None,
        description="One salt for every hashed learner email (OB3 IdentityObject). Unset (the "
        "default): each credential gets its own random salt, so a learner's credentials cannot "
        "be linked by their identityHash.",
    )
    issuer_name: str = Field("nbcred Data Skills Academy", description="Issuer profile name.")
    issuer_url: str = Field(PLACEHOLDER_URL, description="Issuer profile URL (signed into every "
                            "credential; the placeholder default points nowhere: set it).")
    issuer_did_web: str | None = Field(
        None, description="Domain for a did:web issuer (e.g. badges.example.org); default did:key."
    )
    trusted_issuers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Issuer ids (DIDs) that the verify pages call recognised besides this service's "
        "own, comma-separated (e.g. did:web:partner.example.org). Any other issuer is shown by its "
        "id as 'issuer not recognised', whatever name it gives itself.",
    )
    verify_deadline_seconds: float = Field(
        10.0, gt=0, le=120,
        description="Longest one verification may run (in a worker process, which is stopped "
        "when the time is up); the caller gets a refusal instead.",
    )
    verify_workers: int = Field(
        2, ge=1, le=32, description="Worker processes that verify credentials for the web service.",
    )
    verify_link_deadline_seconds: float = Field(
        8.0, gt=0, le=60,
        description="Total time allowed to fetch a credential from a link on the verify page "
        "(resolution, connection, redirects and body together).",
    )
    learner_email_domain: str = Field(
        "learners.nbcred.example.org",
        description="Domain for learners without a recorded email: credentials identify them as "
        "<learner id>@<domain> (hashed with NBCRED_IDENTITY_SALT).",
    )
    public_base_url: str = Field(
        PLACEHOLDER_URL,
        description="Base URL where status lists, achievements and the verify page are served "
        "(default: NBCRED_BASE_URL when that is set).",
    )

    session_secret: SecretStr | None = Field(
        None,
        description="Secret that signs web session cookies and CSRF tokens; the same long random value "
        "in every app process. Unset: `nbcred serve` on a loopback address makes a random one and keeps "
        "it in <home>/session-secret (mode 0600); on any other address it refuses to start.",
    )
    upload_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1024,
        description="Largest upload accepted by the web service (one request, bytes).",
    )
    upload_max_files: int = Field(
        50, ge=1, description="Most files in one upload (notebooks, or entries of a zip)."
    )
    upload_max_unzipped_bytes: int = Field(
        50 * 1024 * 1024, ge=1024,
        description="Largest total size a zip upload may expand to (zip bombs are refused).",
    )
    upload_max_cells: int = Field(
        2_000, ge=10,
        description="Most cells in one uploaded notebook (a larger one is refused before it is stored).",
    )
    upload_max_output_bytes: int = Field(
        8 * 1024 * 1024, ge=1024,
        description="Largest total size of the outputs saved in one uploaded notebook (bytes).",
    )
    request_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024,
        description="Largest body of any other request (JSON, forms, the verify page's badge), bytes; "
        "notebook uploads may be NBCRED_UPLOAD_MAX_BYTES plus 64 KiB of form overhead.",
    )
    json_max_depth: int = Field(
        64, ge=8, description="Deepest nesting of arrays and objects accepted in a JSON request body.",
    )
    frame_ancestors: str = Field(
        "",
        description="Origins (space-separated, e.g. https://lms.example.edu) allowed to show this "
        "service's pages in a frame; empty: none may (frame-ancestors 'none').",
    )
    serve_grading: bool = Field(
        True,
        description="Grade queued web submissions in this app process (local pool, or dispatch to "
        "Celery with NBCRED_EXECUTOR=celery); false for a web-only process.",
    )
    kernel_preload: bool = Field(
        True,
        description="Pre-forked kernel templates also import what each assessment's source notebooks "
        "import and its execution.preload lists (false: only the default preload).",
    )
    notebook_engine: Literal["shell", "kernel"] = Field(
        "shell",
        description="How the default (auto) runner executes Python notebooks in the sandbox: "
        "'shell' forks one process per notebook that holds IPython's shell and runs the cells "
        "itself (no kernel server); 'kernel' forks an ipykernel per notebook and drives it over "
        "ZeroMQ. Notebooks in other languages always get a kernel.",
    )
    queue_lease_seconds: int = Field(
        120, ge=5,
        description="A running web submission whose app process stopped renewing it for this long "
        "is queued again (a restarted or crashed process loses nothing).",
    )

    base_url: str | None = Field(
        None,
        description="Address of the web pages, used in links sent by e-mail (claim, password reset, "
        "confirmation) and in every URL published to wallets (the OpenID4VCI credential issuer "
        "and its endpoints, VC-API exchanges); https for wallets. Default: NBCRED_PUBLIC_BASE_URL.",
    )
    wallet_offer_minutes: int = Field(
        10, ge=1, le=24 * 60,
        description="Minutes a credential offer (its pre-authorized code and QR code) or a wallet "
        "exchange stays usable; each is single-use.",
    )
    wallet_tx_code: bool = Field(
        False,
        description="Whether credential offers made from the wallet page carry a transaction code "
        "(a PIN shown next to the QR code that the wallet asks for) unless the learner unticks it.",
    )
    smtp_url: str | None = Field(
        None,
        description="Outgoing mail server: smtp://host:25, smtp+starttls://user@host:587 or "
        "smtps://user@host:465 (password in NBCRED_SMTP_PASSWORD). Unset: mail waits in the outbox.",
    )
    smtp_password: SecretStr | None = Field(
        None, description="Password for the SMTP user named in NBCRED_SMTP_URL (never on a command line)."
    )
    mail_from: str = Field(
        "nbcred <nbcred@localhost>", description="From address of every message nbcred sends."
    )
    mail_poll_seconds: float = Field(
        1.0, gt=0, description="How often a running service or worker looks for mail to send."
    )
    mail_max_tries: int = Field(
        12, ge=1,
        description="Delivery attempts (with growing waits, up to about a day) before a message is "
        "marked failed; `nbcred mail retry` queues failed messages again.",
    )
    mail_lease_seconds: float = Field(
        120.0, ge=1,
        description="A batch of mail claimed by a sender that stopped (killed, crashed) is sent by "
        "another after this many seconds.",
    )
    claim_days: int = Field(30, ge=1, description="Days a claim link in an issuance e-mail stays valid.")
    reset_minutes: int = Field(60, ge=5, description="Minutes a password-reset link stays valid.")
    signup: str = Field(
        "off",
        description="Self-service sign-up: off (default), open, invite, or domains:example.edu,… "
        "(only addresses of those domains).",
    )
    oidc_providers: list[OidcProvider] = Field(
        default_factory=list,
        description="Institutional sign-in (OpenID Connect), a JSON list: [{\"name\": \"uni\", \"title\": "
        "\"Example University\", \"discovery_url\": \"https://idp.example.edu/.well-known/"
        "openid-configuration\", \"client_id\": \"nbcred\", \"roles_claim\": \"roles\", \"role_values\": "
        "{\"staff\": \"instructor\"}}]. Secrets go in NBCRED_OIDC_CLIENT_SECRETS.",
    )
    oidc_client_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Client secrets of the OpenID Connect providers by name, as JSON: {\"uni\": \"…\"}.",
    )
    lti_poll_seconds: float = Field(
        2.0, gt=0, description="How often a running service looks for scores to post to an LMS (LTI "
        "Assignment and Grade Services).",
    )
    lti_max_tries: int = Field(
        10, ge=1,
        description="Attempts to post one score to an LMS (waits grow from 5 s to an hour) before it is "
        "marked failed; instructors post it again from the passback page or `nbcred lti retry`.",
    )
    lti_lease_seconds: float = Field(
        60.0, ge=1,
        description="A score claimed by a poster that stopped is posted by another after this many seconds.",
    )
    lti_score_policy: Literal["latest", "best"] = Field(
        "latest",
        description="Which attempt's score goes to the LMS gradebook when a learner submitted several: "
        "the latest graded one, or the best.",
    )
    lti_score_policies: dict[str, Literal["latest", "best"]] = Field(
        default_factory=dict,
        description="Per-assessment exceptions to NBCRED_LTI_SCORE_POLICY, as JSON: {\"python-basics\": "
        "\"best\"}.",
    )
    password_min_length: int = Field(8, ge=8, description="Shortest password accepted at sign-up, "
                                     "claim and reset (common passwords are refused too).")

    def placeholders(self) -> list[str]:
        """The settings still at the placeholder URL (credentials signed now would carry it)."""
        values = {"NBCRED_PUBLIC_BASE_URL": self.public_base_url, "NBCRED_ISSUER_URL": self.issuer_url}
        return [name for name, value in values.items() if value.rstrip("/") == PLACEHOLDER_URL]

    def frame_ancestor_origins(self) -> list[str]:
        """``frame_ancestors`` as a list of origins."""
        return [o for o in self.frame_ancestors.replace(",", " ").split() if o]

    @model_validator(mode="after")
    def _public_base_from_base(self) -> Settings:
        """One address for a deployment: NBCRED_BASE_URL alone also places the public URLs."""
        if "public_base_url" not in self.model_fields_set and self.base_url:
            self.public_base_url = self.base_url
        return self

    @field_validator("signup")
    @classmethod
    def _signup_mode(cls, value: str) -> str:
        cleaned = value.strip().lower()
        if cleaned in ("off", "open", "invite"):
            return cleaned
        if cleaned.startswith("domains:") and cleaned.removeprefix("domains:").strip(" ,"):
            return cleaned
        raise ValueError("NBCRED_SIGNUP is off, open, invite or domains:example.edu,example.org")

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        cleaned = value.strip()
        if cleaned.lower() in ("local", "database"):
            return cleaned.lower()
        if cleaned.startswith("s3://") and cleaned.removeprefix("s3://").split("/", 1)[0]:
            return cleaned
        raise ValueError("NBCRED_STORAGE is local, database or s3://bucket[/prefix]")

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def score_policy(self, assessment_id: str) -> Literal["latest", "best"]:
        """The attempt policy applied before a score is posted to an LMS for ``assessment_id``."""
        return self.lti_score_policies.get(assessment_id, self.lti_score_policy)

    def resolved_database_url(self) -> str:
        """The gradebook URL, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'gradebook.sqlite').resolve()}"

    def links_base(self) -> str:
        """Where e-mailed links point: ``NBCRED_BASE_URL`` (else the public base URL), no slash."""
        return (self.base_url or self.public_base_url).rstrip("/")
