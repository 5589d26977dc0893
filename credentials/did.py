"""DIDs and verification methods: did:key (offline), did:web, and a pluggable key resolver.

``did:key`` resolves by itself. ``did:web`` needs the DID document: either supplied up front
(``documents={did: document}``) or fetched by an injected ``fetch(url) -> dict`` — this module
never opens a network connection itself. https verification methods (``https://host/path#key``)
resolve the same way from their controller document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, unquote

from credentials.errors import CredentialError, KeyFormatError, ResolutionError
from credentials.keys import KeyPair, PublicKey

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
_PURPOSES = ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation")

Fetch = Callable[[str], dict[str, Any]]
"""Fetch a JSON document by https URL (injected; raise any exception when it cannot)."""


@dataclass(frozen=True)
class ResolvedKey:
    """A verification method resolved to its public key and the purposes it is authorised for."""

    id: str
    controller: str
    public_key: PublicKey
    purposes: frozenset[str] = field(default_factory=frozenset)


class KeyResolver(Protocol):
    """Anything that turns a verification method URL into a :class:`ResolvedKey`."""

    def __call__(self, verification_method: str) -> ResolvedKey:
        """Resolve or raise :class:`ResolutionError`."""
        ...


def resolve_did_key(verification_method: str) -> ResolvedKey:
    """Resolve a ``did:key:z6Mk…[#z6Mk…]`` URL offline."""
    did, _, fragment = verification_method.partition("#")
    multibase = did.removeprefix("did:key:")
    try:
        public = PublicKey.from_multibase(multibase)
    except KeyFormatError as error:
        raise ResolutionError(f"cannot resolve {verification_method!r}: {error}") from error
    if fragment and fragment != multibase:
        raise ResolutionError(
            f"did:key verification method {verification_method!r} must use the key itself as "
            f"fragment (#{multibase})"
        )
    return ResolvedKey(
        id=f"{did}#{multibase}", controller=did, public_key=public, purposes=frozenset(_PURPOSES)
    )


def did_web_from_url(url: str) -> str:
    """Turn ``https://host[:port]/path`` into ``did:web:host[%3Aport]:path``."""
    if not url.startswith("https://"):
        raise ResolutionError(f"did:web needs an https URL, got {url!r}")
    rest = url.removeprefix("https://").rstrip("/")
    rest = rest.removesuffix("/.well-known/did.json").removesuffix("/did.json")
    host, _, path = rest.partition("/")
    parts = [quote(host, safe="")] + [p for p in path.split("/") if p]
    return "did:web:" + ":".join(parts)


def did_web_document_url(did: str) -> str:
    """The https URL of a did:web DID document (``/.well-known/did.json`` for bare hosts)."""
    if not did.startswith("did:web:"):
        raise ResolutionError(f"{did!r} is not a did:web DID")
    host, *path = did.removeprefix("did:web:").split(":")
    base = "https://" + unquote(host)
    return f"{base}/{'/'.join(path)}/did.json" if path else f"{base}/.well-known/did.json"


def did_web_document(did: str, keys: Iterable[PublicKey | KeyPair]) -> dict[str, Any]:
    """Build the DID document a web server serves for ``did`` listing every key (rotation).

    Each key's verification method id is ``{did}#{publicKeyMultibase}``; all are authorised for
    ``assertionMethod`` and ``authentication``, so credentials signed with old keys still verify.
    """
    publics = [k.public if isinstance(k, KeyPair) else k for k in keys]
    methods = [
        {
            "id": f"{did}#{key.multibase}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.multibase,
        }
        for key in publics
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


def _method_key(method: Mapping[str, Any]) -> PublicKey:
    multibase = method.get("publicKeyMultibase")
    if isinstance(multibase, str):
        return PublicKey.from_multibase(multibase)
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        import base64

        x = str(jwk.get("x", ""))
        return PublicKey(raw=base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    raise ResolutionError(
        f"verification method {method.get('id')!r} has no Ed25519 publicKeyMultibase or publicKeyJwk"
    )


def _absolute(controller: str, ref: str) -> str:
    return controller + ref if ref.startswith("#") else ref


def key_from_controller_document(document: Mapping[str, Any], verification_method: str) -> ResolvedKey:
    """Find ``verification_method`` in a DID / controller document and return its key."""
    controller = str(document.get("id", ""))
    wanted = verification_method
    found: Mapping[str, Any] | None = None
    purposes: set[str] = set()
    for method in document.get("verificationMethod", []) or []:
        if isinstance(method, Mapping) and _absolute(controller, str(method.get("id"))) == wanted:
            found = method
    for purpose in _PURPOSES:
        for entry in document.get(purpose, []) or []:
            if isinstance(entry, str) and _absolute(controller, entry) == wanted:
                purposes.add(purpose)
            elif isinstance(entry, Mapping) and _absolute(controller, str(entry.get("id"))) == wanted:
                purposes.add(purpose)
                found = entry
    if found is None:
        raise ResolutionError(
            f"verification method {verification_method!r} is not listed in the controller "
            f"document of {controller!r}"
        )
    try:
        public = _method_key(found)
    except KeyFormatError as error:
        raise ResolutionError(f"cannot read key {verification_method!r}: {error}") from error
    return ResolvedKey(id=wanted, controller=controller, public_key=public, purposes=frozenset(purposes))


def assertion_methods(document: Mapping[str, Any]) -> frozenset[str]:
    """The absolute ids of the verification methods a DID document lists under ``assertionMethod``."""
    controller = str(document.get("id", ""))
    found: set[str] = set()
    for entry in document.get("assertionMethod", []) or []:
        ref = entry if isinstance(entry, str) else entry.get("id") if isinstance(entry, Mapping) else None
        if isinstance(ref, str):
            found.add(_absolute(controller, ref))
    return frozenset(found)


class Resolver:
    """Default :class:`KeyResolver`: did:key offline; did:web and https from documents or fetch."""

    def __init__(
        self,
        *,
        documents: Mapping[str, Mapping[str, Any]] | None = None,
        fetch: Fetch | None = None,
        keys: Mapping[str, PublicKey] | None = None,
    ) -> None:
        self.documents: dict[str, Mapping[str, Any]] = dict(documents or {})
        self.fetch = fetch
        self.keys = dict(keys or {})

    def add_document(self, document: Mapping[str, Any]) -> None:
        """Make a DID / controller document available for resolution (keyed by its ``id``)."""
        self.documents[str(document.get("id"))] = document

    def controller_document(self, controller: str) -> Mapping[str, Any]:
        """The DID / controller document of ``controller`` (supplied, or fetched when allowed)."""
        return self._document(controller)

    def _document(self, controller: str) -> Mapping[str, Any]:
        if controller in self.documents:
            return self.documents[controller]
        url = did_web_document_url(controller) if controller.startswith("did:web:") else controller
        if self.fetch is None:
            kind = "did:web" if controller.startswith("did:web:") else "controller document"
            raise ResolutionError(
                f"cannot resolve {kind} {controller!r} offline: its document at {url} was not "
                "supplied (pass it with --did-document, or allow fetching)"
            )
        try:
            document = self.fetch(url)
        except CredentialError:
            raise
        except Exception as error:
            raise ResolutionError(f"cannot resolve {controller!r}: fetching {url} failed: {error}") from error
        if str(document.get("id")) != controller:
            raise ResolutionError(
                f"document fetched from {url} has id {document.get('id')!r}, expected {controller!r}"
            )
        self.documents[controller] = document
        return document

    def __call__(self, verification_method: str) -> ResolvedKey:
        """Resolve a verification method URL to its key."""
        if verification_method in self.keys:
            controller = verification_method.split("#", 1)[0]
            return ResolvedKey(
                id=verification_method,
                controller=controller,
                public_key=self.keys[verification_method],
                purposes=frozenset(_PURPOSES),
            )
        if verification_method.startswith("did:key:"):
            return resolve_did_key(verification_method)
        controller, hash_, _ = verification_method.partition("#")
        if not hash_:
            raise ResolutionError(
                f"verification method {verification_method!r} has no '#fragment' naming the key"
            )
        if controller.startswith("did:web:") or controller.startswith("https://"):
            return key_from_controller_document(self._document(controller), verification_method)
        raise ResolutionError(
            f"cannot resolve {verification_method!r}: only did:key, did:web and https "
            "verification methods are supported"
        )
