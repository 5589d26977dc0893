"""Issued credentials as service operations for the command line: list them, export a CLR.

Status changes and reissue are :mod:`nbcred.service.courseware`'s (the instructor pages and
``nbcred credential revoke|suspend|unsuspend`` share them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbcred.issuance.manage import CredentialInfo, export_clr, list_credentials
from nbcred.service.context import ServiceContext

__all__ = ["CredentialInfo", "export_learner_clr", "list_issued"]


def list_issued(ctx: ServiceContext, *, learner: str | None = None) -> list[CredentialInfo]:
    """Every issued credential (of one learner), oldest first, with its status."""
    return list_credentials(ctx.issuer, learner=learner)


def export_learner_clr(ctx: ServiceContext, learner: str, output: Path) -> dict[str, Any]:
    """Write a signed CLR 2.0 of the learner's active, unexpired credentials to ``output``."""
    return export_clr(ctx.issuer, learner, output)
