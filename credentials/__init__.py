"""Scores in, verifiable credentials out: Open Badges 3.0 and CLR 2.0 on W3C VC 2.0.

The names in ``__all__`` are what the application (``nbcred``) may use; each is importable from
the module :data:`SURFACE` names (``from credentials.proof import sign``) or from here, and is
imported on first use. A name that is a module of this package (``ob3``, ``statuslist``…) is the
module itself, and its public names are part of the surface too.
``tests/nbcred/structure/test_library_surfaces.py`` checks that the application imports nothing else.
"""

import importlib
import sys
from typing import Any

# jsonschema imports rfc3987_syntax, when installed, only to check the "iri" string formats;
# credentials.schema validates without a format checker, and building that grammar is a large part
# of every process's start-up (the verification workers'; docs/benchmarks.md). Mark it
# unavailable, as grader does.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

#: The public surface: each name and the module that defines it.
SURFACE: dict[str, str] = {
    # documents
    "ob3": "credentials.ob3",
    "pathways": "credentials.pathways",
    "build_clr": "credentials.pathways",
    # status
    "statuslist": "credentials.statuslist",
    "revocationlist": "credentials.revocationlist",
    # signing
    "sign": "credentials.proof",
    "CRYPTOSUITE": "credentials.proof",
    "CRYPTOSUITES": "credentials.proof",
    "PROOF_TYPE": "credentials.proof",
    "format_created": "credentials.proof",
    "hash_proof": "credentials.proof",
    "default_canonicalizer": "credentials.template_canon",
    "TemplateCanonicalizer": "credentials.template_canon",
    "shape_of": "credentials.template_canon",
    # keys and identifiers
    "KeyPair": "credentials.keys",
    "KeyStore": "credentials.keys",
    "load_key_file": "credentials.keys",
    "multibase_encode": "credentials.keys",
    "Resolver": "credentials.did",
    "did_web_document": "credentials.did",
    "did_web_document_url": "credentials.did",
    "did_web_from_url": "credentials.did",
    # verifying
    "StatusChecker": "credentials.verify",
    "VerificationResult": "credentials.verify",
    "issuer_id": "credentials.binding",
    "LIMITS": "credentials.limits",
    "check_document": "credentials.limits",
    "failed_result": "credentials.verify",
    "list_status_checker": "credentials.verify",
    "offline_verifier": "credentials.verify",
    "parse_datetime": "credentials.verify",
    "verify_bytes": "credentials.verify",
    "verify_credential": "credentials.verify",
    # holders (wallets)
    "KeyProof": "credentials.holder",
    "PROOF_ALGORITHMS": "credentials.holder",
    "DID_METHODS": "credentials.holder",
    "verify_key_proof": "credentials.holder",
    "verify_authentication": "credentials.presentation",
    "HolderProofError": "credentials.errors",
    # baking
    "bake": "credentials.baking",
    "unbake": "credentials.baking",
    # errors
    "CredentialError": "credentials.errors",
    "LimitExceeded": "credentials.errors",
}

__all__ = sorted(SURFACE)


def __getattr__(name: str) -> Any:
    """A surface name, imported from its module on first use."""
    if name not in SURFACE:
        raise AttributeError(f"module 'credentials' has no attribute {name!r}")
    module = importlib.import_module(SURFACE[name])
    return module if SURFACE[name] == f"{__name__}.{name}" else getattr(module, name)
