"""Verify credential files (JSON, or baked PNG/SVG badges) offline: what ``nbcred credential
verify`` runs.

Status list credentials and the did:web document this deployment published under
``<NBCRED_HOME>/public`` are used automatically (each status list's own proof is checked before
its bits are read); more can be passed in, and ``fetch`` allows the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from credentials import revocationlist
from credentials.verify import (
    VerificationResult,
    failed_result,
    verify_bytes,
)
from nbcred.issuance.verification import local_verifier
from nbcred.settings import Settings

Fetch = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class FileVerdict:
    """One file and what verifying it says."""

    file: str
    result: VerificationResult

    def to_json(self) -> dict[str, Any]:
        """``{"file", "verified", "checks"}`` (+ ``embedded`` for a CLR): one CLI JSON line."""
        return {"file": self.file, **self.result.to_json()}


def _json_files(folder: Path) -> list[dict[str, Any]]:
    documents = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            try:
                document = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(document, dict) and isinstance(document.get("id"), str):
                documents.append(document)
    return documents


def published_documents(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(status list credentials and 1EdTech revocation lists, DID documents) published under
    ``<home>/public``."""
    public = settings.home / "public"
    lists = [d for d in _json_files(public / "status")
             if "BitstringStatusListCredential" in (d.get("type") or []) or revocationlist.is_list(d)]
    did = public / ".well-known" / "did.json"
    dids = [d for d in _json_files(did.parent) if d.get("id", "").startswith("did:")]
    return lists, dids


def verify_files(
    settings: Settings,
    files: Sequence[Path],
    *,
    status_lists: Sequence[dict[str, Any]] = (),
    did_documents: Sequence[dict[str, Any]] = (),
    fetch: Fetch | None = None,
    now: datetime | None = None,
    require_status: bool = False,
    require_schema: bool = False,
    canonicalizer: str = "pyld",
) -> list[FileVerdict]:
    """Verify each file: proof, dates, status, schema (and a CLR's embedded credentials)."""
    local_lists, local_dids = published_documents(settings)  # the files: no gradebook needed
    verifier = local_verifier(status_lists=[*local_lists, *status_lists],
                              did_documents=[*local_dids, *did_documents], fetch=fetch)
    verdicts = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as error:
            result = failed_result(f"cannot read {file}: {error.strerror}")
        else:
            result = verify_bytes(data, resolver=verifier.resolver, status_checker=verifier.status_checker,
                                  now=now, require_status=require_status, require_schema=require_schema,
                                  canonicalizer=canonicalizer)
        verdicts.append(FileVerdict(str(file), result))
    return verdicts
