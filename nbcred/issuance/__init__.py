"""Credential issuance in the application: badges for passing gradings, status, stacking.

The service context (:class:`nbcred.service.context.ServiceContext`) builds the one
:class:`CredentialIssuer` a process uses; ``issue_pathways_with`` stacks completed pathways.
"""

from __future__ import annotations

from nbcred.issuance.issuer import CredentialIssuer, RetryReport
from nbcred.issuance.manage import (
    CredentialInfo,
    change_status,
    export_clr,
    list_credentials,
)
from nbcred.issuance.pathways import issue_pathways_with

__all__ = [
    "CredentialInfo",
    "CredentialIssuer",
    "RetryReport",
    "change_status",
    "export_clr",
    "issue_pathways_with",
    "list_credentials",
]

