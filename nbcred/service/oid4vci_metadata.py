"""OpenID4VCI 1.0 metadata: the credential issuer's and its authorization server's.

One credential configuration per badge of the catalogue (id: the assessment id), per pathway
(``pathway-<id>``) and a generic one; each is ``ldp_vc`` (Data Integrity, ``eddsa-rdfc-2022``)
for holders proving a ``did:key`` or ``did:jwk`` with a ``jwt`` proof (``EdDSA`` or ``ES256``).
Besides what OpenID4VCI 1.0 asks for, the issuer metadata also carries ``issuer`` and
``token_endpoint`` (``@digitalbazaar/oid4-client`` reads the authorization server's values from
there) and each configuration its ``display`` at the top level (Draft 13 wallets look there).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from credentials.holder import DID_METHODS, PROOF_ALGORITHMS
from credentials.ob3 import OB_CONTEXTS
from credentials.proof import CRYPTOSUITE
from nbcred.issuance import badges
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound
from nbcred.service.wallet import badge_png
from nbcred.service.walletstore import GENERIC_CONFIGURATION, PATHWAY_PREFIX, issuer_url

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
TOKEN_PATH = "/openid4vci/token"
NONCE_PATH = "/openid4vci/nonce"
CREDENTIAL_PATH = "/openid4vci/credential"
LOGO_PATH = "/openid4vci/logos"
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
BACKGROUND, TEXT = "#1f4e79", "#ffffff"


@dataclass(frozen=True)
class Configuration:
    """One credential configuration: id, what wallets show, and the badge image if any."""

    id: str
    name: str
    description: str
    image: bytes | None = None


def configurations(ctx: ServiceContext) -> dict[str, Configuration]:
    """The configurations offered, by id."""
    out = {GENERIC_CONFIGURATION: Configuration(GENERIC_CONFIGURATION, "Open Badge",
                                                f"A badge from {ctx.settings.issuer_name}")}
    catalogue = ctx.catalogue
    for assessment in catalogue.assessments.values():
        badge = assessment.spec.badge
        if badge is None:
            continue
        path = badges.image_file(assessment)
        image = path.read_bytes() if path is not None and path.suffix.lower() == ".png" else None
        out[assessment.spec.id] = Configuration(assessment.spec.id, badge.name, badge.description, image)
    for pathway in catalogue.pathways:
        key = PATHWAY_PREFIX + pathway.id
        out[key] = Configuration(key, pathway.name, pathway.description)
    return out


def _display(name: str, logo: str, description: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "locale": "en", "logo": {"uri": logo, "alt_text": name}}
    if description:
        entry["description"] = description
    return entry


def _configuration(base: str, config: Configuration) -> dict[str, Any]:
    display = {**_display(config.name, f"{base}{LOGO_PATH}/{config.id}.png", config.description),
               "background_color": BACKGROUND, "text_color": TEXT}
    return {
        "format": "ldp_vc",
        "cryptographic_binding_methods_supported": list(DID_METHODS),
        "credential_signing_alg_values_supported": [CRYPTOSUITE],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}},
        "credential_definition": {"@context": list(OB_CONTEXTS), "type": list(CREDENTIAL_TYPE)},
        "credential_metadata": {"display": [display]},
        "display": [display],
    }


def issuer_metadata(ctx: ServiceContext) -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer``."""
    base = issuer_url(ctx)
    return {
        "credential_issuer": base,
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": base + NONCE_PATH,
        "authorization_details_types_supported": ["openid_credential"],
        "display": [_display(ctx.settings.issuer_name, f"{base}{LOGO_PATH}/issuer.png")],
        "credential_configurations_supported": {
            key: _configuration(base, config) for key, config in configurations(ctx).items()},
    }


def authorization_server_metadata(ctx: ServiceContext) -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the pre-authorized code grant only."""
    base = issuer_url(ctx)
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
        "authorization_details_types_supported": ["openid_credential"],
    }


def logo(ctx: ServiceContext, name: str) -> bytes:
    """The PNG shown for the issuer (``issuer``) or a configuration: its badge image if it is a
    PNG, else a drawn badge with its name."""
    if name == "issuer":
        return badge_png(ctx.settings.issuer_name)
    config = configurations(ctx).get(name)
    if config is None:
        raise NotFound(f"no credential configuration {name!r}")
    return config.image or badge_png(config.name)


def data_uri_png(data: bytes) -> str:
    """A ``data:`` URI of PNG bytes (the wallet page's badge previews)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
