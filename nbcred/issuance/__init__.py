"""Credential issuance in the application: badges for passing gradings, status, stacking.

``build_issuer`` is what the runtime plugs into the grading pipeline; ``issue_pathways`` is
what the demo runs after grading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbcred.issuance.issuer import CredentialIssuer, RetryReport
from nbcred.issuance.manage import (
    CredentialInfo,
    change_status,
    export_clr,
    list_credentials,
)
from nbcred.issuance.pathways import issue_pathways_with
from nbcred.settings import Settings
from nbcred.store import Store

if TYPE_CHECKING:
    from nbcred.catalogue import Catalogue
    from nbcred.runtime import Runtime

__all__ = [
    "CredentialInfo",
    "CredentialIssuer",
    "RetryReport",
    "build_issuer",
    "change_status",
    "export_clr",
    "issue_pathways",
    "list_credentials",
]


def build_issuer(settings: Settings, store: Store) -> CredentialIssuer | None:
    """The issuer for this configuration (keys are loaded, or created, on first use)."""
    return CredentialIssuer(settings, store)


def issue_pathways(runtime: Runtime, catalogue: Catalogue) -> list[str]:
    """Issue stacked certificates (and CLRs) for completed pathways; lines for the demo."""
    issuer = runtime.issuer
    if not isinstance(issuer, CredentialIssuer):
        issuer = CredentialIssuer(runtime.settings, runtime.store)
    return issue_pathways_with(issuer, catalogue)
