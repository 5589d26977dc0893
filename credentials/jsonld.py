"""Offline JSON-LD processing: bundled contexts, a document loader and RDFC-1.0 canonicalisation.

Nothing here touches the network: every context URL a credential may use is bundled under
``credentials/contexts/`` and any other URL is refused with :class:`ContextError`.

Three canonicalisers produce the same RDFC-1.0 (URDNA2015) N-Quads:

* ``"pyld"`` — pyld expands the document, converts it to RDF and canonicalises it;
* ``"oxigraph"`` — pyld expands the document and converts it to RDF, pyoxigraph canonicalises it;
* ``"template"`` — documents of the same shape are converted to RDF once and their values
  substituted (``credentials.template_canon``), then pyoxigraph canonicalises them.

Both refuse documents whose properties or types would be silently dropped by expansion
(:class:`DroppedTermsError`): a signature must cover everything the document says. All refuse
documents beyond :mod:`credentials.limits` (:class:`LimitExceeded`): too deep, too many values
or quads, or blank nodes whose canonicalisation would take exponential work. Those few datasets
that need N-degree hashing at all are canonicalised by the bounded pyld implementation, whatever
canonicaliser was asked for (the output is the same RDFC-1.0).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import pyoxigraph as ox
from pyld import jsonld
from pyld import nquads as _pyld_nquads

from credentials.errors import CanonicalizationError, ContextError, CredentialError, DroppedTermsError
from credentials.limits import BoundedURDNA2015, check_dataset, check_document, needs_ndegree

#: What :func:`canonicalize_dataset` implements; :mod:`credentials.canonical` chooses among these
#: and the template canonicaliser.
DATASET_CANONICALIZERS: tuple[str, ...] = ("pyld", "oxigraph")

CONTEXT_FILES: dict[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr-v2p0-context-2.0.1.json",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-signature-2020-v1.jsonld",
}
"""Every context URL nbcred understands, mapped to its bundled file."""

# Terms and types that no context defines expand against this vocabulary during the check, so
# they can be found and named instead of vanishing.
_SENTINEL_VOCAB = "urn:nbcred:undefined-term:"

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# RDFC-1.0 canonical N-Quads (RDF 1.2 N-Triples "canonical form"): BS, HT, LF, FF, CR, '"' and
# '\' use ECHAR; the other C0 controls and DEL use UCHAR with upper-case hex digits.
_ECHAR = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_ESCAPES: dict[int, str] = {code: _ECHAR.get(chr(code), f"\\u{code:04X}") for code in [*range(0x20), 0x7F]}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form as RDFC-1.0 canonical N-Quads requires."""
    return value.translate(_ESCAPES)


# pyld's own escaping only handles \t \n \r " and \, leaving other control characters raw, which
# differs from RDFC-1.0 both in the output and in the blank-node hashes. Its serialiser looks the
# function up at call time, so installing the conforming one fixes both.
_pyld_nquads.escape = escape_literal


@cache
def _context_text(filename: str) -> str:
    return (resources.files("credentials.contexts") / filename).read_text(encoding="utf-8")


def load_context(url: str) -> dict[str, Any]:
    """Return the bundled JSON-LD document for a context URL (a fresh copy).

    Raises :class:`ContextError` naming the URL and the supported ones if it is not bundled.
    """
    filename = CONTEXT_FILES.get(url)
    if filename is None:
        raise ContextError(url, sorted(CONTEXT_FILES))
    document: dict[str, Any] = json.loads(_context_text(filename))
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld-compatible document loader serving only the bundled contexts."""
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url)}


def _options(**extra: Any) -> dict[str, Any]:
    return {"documentLoader": document_loader, "base": None, **extra}


def _unwrap(error: BaseException) -> CredentialError | None:
    """Find a :class:`CredentialError` in pyld's chain of wrapped causes."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CredentialError):
            return current
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None


def _jsonld_call(func: Callable[..., Any], document: Any, options: dict[str, Any]) -> Any:
    try:
        return func(document, options)
    except jsonld.JsonLdError as error:
        inner = _unwrap(error)
        if inner is not None:
            raise copy.copy(inner) from error
        raise CanonicalizationError(
            f"JSON-LD processing failed: {error}. Check the document's @context and structure."
        ) from error


def _collect_undefined(node: Any, found: set[str]) -> None:
    """Collect sentinel IRIs (undefined terms and types) from an expanded document."""
    if isinstance(node, list):
        for item in node:
            _collect_undefined(item, found)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key.startswith(_SENTINEL_VOCAB):
            found.add(key[len(_SENTINEL_VOCAB) :])
        if key in ("@type", "@id"):
            values = value if isinstance(value, list) else [value]
            for item in values:
                if not isinstance(item, str):
                    continue
                if item.startswith(_SENTINEL_VOCAB):
                    found.add(f"{item[len(_SENTINEL_VOCAB) :]} ({key[1:]})")
                elif not item.startswith("_:") and not _ABSOLUTE_IRI.match(item):
                    found.add(f"{item} (relative {key[1:]})")
        elif key != "@value":
            _collect_undefined(value, found)


def expand_checked(document: dict[str, Any]) -> list[Any]:
    """Expand a JSON-LD document, refusing it if expansion would silently drop anything.

    The document's contexts are preceded by a sentinel ``@vocab``: a term or type that no context
    defines (and that a document's own ``@vocab`` does not catch) expands to a sentinel IRI
    instead of being dropped. If none appears, the result equals plain expansion.
    Raises :class:`DroppedTermsError` naming the undefined terms.
    """
    if not isinstance(document, dict):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    check_document(document)
    context = document.get("@context")
    if context is None:
        raise CanonicalizationError(
            'the document has no @context; add e.g. "https://www.w3.org/ns/credentials/v2"'
        )
    contexts = context if isinstance(context, list) else [context]
    probe = dict(document)
    probe["@context"] = [{"@vocab": _SENTINEL_VOCAB}, *contexts]
    expanded: list[Any] = _jsonld_call(jsonld.expand, probe, _options())
    found: set[str] = set()
    _collect_undefined(expanded, found)
    if found:
        raise DroppedTermsError(sorted(found))
    return expanded


def to_dataset(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Convert a JSON-LD document to a pyld RDF dataset after the dropped-terms check."""
    expanded = expand_checked(document)
    dataset: dict[str, list[dict[str, Any]]] = _jsonld_call(jsonld.to_rdf, expanded, _options())
    check_dataset(dataset)
    return dataset


def _canonicalize_pyld(dataset: dict[str, list[dict[str, Any]]]) -> str:
    try:
        result: str = BoundedURDNA2015().main(copy.deepcopy(dataset), {"format": "application/n-quads"})
    except (jsonld.JsonLdError, KeyError, ValueError) as error:
        raise CanonicalizationError(f"RDF canonicalisation failed: {error}") from error
    return result


def _ox_term(term: dict[str, Any]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    kind = term["type"]
    if kind == "IRI":
        return ox.NamedNode(term["value"])
    if kind == "blank node":
        return ox.BlankNode(term["value"][2:])
    if term.get("datatype") == _RDF_LANGSTRING and term.get("language"):
        return ox.Literal(term["value"], language=term["language"])
    return ox.Literal(term["value"], datatype=ox.NamedNode(term.get("datatype", _XSD_STRING)))


def _ox_graph(name: str) -> ox.NamedNode | ox.BlankNode | ox.DefaultGraph:
    if name == "@default":
        return ox.DefaultGraph()
    if name.startswith("_:"):
        return ox.BlankNode(name[2:])
    return ox.NamedNode(name)


def _canonicalize_oxigraph(dataset: dict[str, list[dict[str, Any]]]) -> str:
    if needs_ndegree(dataset):  # oxigraph's N-degree work cannot be bounded: use the bounded one
        return _canonicalize_pyld(dataset)
    graph = ox.Dataset()
    try:
        for name, triples in dataset.items():
            graph_name = _ox_graph(name)
            for triple in triples:
                subject = _ox_term(triple["subject"])
                predicate = ox.NamedNode(triple["predicate"]["value"])
                obj = _ox_term(triple["object"])
                graph.add(ox.Quad(subject, predicate, obj, graph_name))  # type: ignore[arg-type]
        graph.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    except (ValueError, SyntaxError) as error:
        raise CanonicalizationError(f"RDF canonicalisation failed: {error}") from error
    return "".join(sorted(f"{quad} .\n" for quad in graph))


def canonicalize_dataset(dataset: dict[str, list[dict[str, Any]]], *, canonicalizer: str = "pyld") -> str:
    """Canonicalise a pyld RDF dataset to RDFC-1.0 N-Quads with the chosen canonicaliser."""
    if canonicalizer == "pyld":
        return _canonicalize_pyld(dataset)
    if canonicalizer == "oxigraph":
        return _canonicalize_oxigraph(dataset)
    raise CanonicalizationError(
        f"unknown canonicaliser {canonicalizer!r}; choose one of {', '.join(DATASET_CANONICALIZERS)}"
    )
