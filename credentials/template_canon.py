"""RDFC-1.0 canonicalisation of many similar documents: map the shared part to RDF once.

Credentials of one achievement differ only in a few string values (ids, dates, the identity
hash, scores). JSON-LD expansion and conversion to RDF cost far more per credential than
canonicalising the resulting quads (docs/benchmarks.md). :class:`TemplateCanonicalizer` therefore:

1. reduces a document to its *skeleton*: the document with every substitutable string value
   (anything but ``@context``, ``type`` and other keywords) replaced by a numbered slot;
2. the first time a skeleton is seen, converts it to RDF with each slot set to a unique sentinel
   IRI (with the same dropped-terms check as the full path) and records where each sentinel lands
   in the dataset: as a whole literal (its datatype and language come from the context, never
   from the value) or as a whole IRI;
3. for each document, substitutes its values into that dataset and canonicalises it with
   oxigraph, giving byte for byte what :func:`credentials.canonical.canonicalize` gives.

A value whose mapping could depend on the value itself is *pinned* (becomes part of the
template's key) instead of substituted: a value in an IRI position that is not an absolute IRI
with a scheme no context defines as a term (``Badge`` under ``@vocab``, a compact IRI, a relative
reference, a blank node id), and a slot whose sentinel did not land as one whole term (a ``@json``
literal, a dropped node). Numbers and booleans are always part of the key (their datatype depends
on the value).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyoxigraph as ox

from credentials.errors import CanonicalizationError
from credentials.jsonld import CONTEXT_FILES, escape_literal, load_context, to_dataset

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type", "@language", "@direction", "@vocab", "@base"})
_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):[^\s<>\"{}|\\^`]*$")

_SLOT = ("slot",)


def _terms_of(context: Any, terms: set[str]) -> None:
    """Add every term a context (and its scoped contexts) defines to ``terms``."""
    if isinstance(context, list):
        for item in context:
            _terms_of(item, terms)
    elif isinstance(context, dict):
        for term, definition in context.items():
            terms.add(term)
            if isinstance(definition, dict) and "@context" in definition:
                _terms_of(definition["@context"], terms)


@cache
def _bundled_terms() -> frozenset[str]:
    terms: set[str] = set()
    for url in CONTEXT_FILES:
        _terms_of(load_context(url).get("@context"), terms)
    return frozenset(terms)


def _document_terms(node: Any, terms: set[str]) -> None:
    """Terms defined by the contexts embedded in a document (anywhere in it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                _terms_of(value, terms)
            else:
                _document_terms(value, terms)
    elif isinstance(node, list):
        for item in node:
            _document_terms(item, terms)


def _safe_iri(value: str, terms: frozenset[str]) -> bool:
    """An absolute IRI whose scheme no context defines as a term (else it is a compact IRI)."""
    match = _IRI.match(value)
    return match is not None and not value.startswith("_:") and match.group(1) not in terms


def _skeleton(node: Any, leaves: list[str], key: str | None = None) -> Any:
    """A hashable shape of ``node``; substitutable strings become slots appended to ``leaves``."""
    if key == "@context":
        return ("c", json.dumps(node, sort_keys=True))
    if isinstance(node, dict):
        return ("{", tuple((k, _skeleton(v, leaves, k)) for k, v in node.items()))
    if isinstance(node, list):
        return ("[", tuple(_skeleton(v, leaves, key) for v in node))
    if isinstance(node, str) and key not in _STRUCTURAL_KEYS:
        leaves.append(node)
        return _SLOT
    if key in _STRUCTURAL_KEYS:
        return ("c", repr(node))
    return ("v", type(node).__name__, repr(node))


class Shape:
    """A document's skeleton with its hash computed once: the key of its templates.

    Documents of one shape differ only in their substitutable strings (:func:`shape_of`), so a
    caller that makes many documents of one shape (bulk issuance) computes it once and passes
    each document's strings to :meth:`TemplateCanonicalizer.canonicalize_values`.
    """

    __slots__ = ("_hash", "skeleton")

    def __init__(self, skeleton: Any) -> None:
        self.skeleton = skeleton
        self._hash = hash(skeleton)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Shape) and self._hash == other._hash
                                 and self.skeleton == other.skeleton)


def shape_of(document: dict[str, Any]) -> tuple[Shape, list[str]]:
    """The document's :class:`Shape` and its substitutable strings, in document order."""
    values: list[str] = []
    return Shape(_skeleton(document, values)), values


def _fill(node: Any, values: list[str], position: list[int], key: str | None = None) -> Any:
    """Rebuild ``node`` with its substitutable strings replaced by ``values`` in order."""
    if key == "@context":
        return node
    if isinstance(node, dict):
        return {k: _fill(v, values, position, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values, position, key) for v in node]
    if isinstance(node, str) and key not in _STRUCTURAL_KEYS:
        value = values[position[0]]
        position[0] += 1
        return value
    return node


# A term of a template quad: ("i", iri) | ("b", label) | ("l", value, suffix) | ("s", slot, suffix)
# where a slot's suffix is None for an IRI, else the literal's "^^<datatype>", "@lang" or "".
Term = tuple[Any, ...]
Quad = tuple[Term, Term, Term, Term | None]
Piece = str | tuple[str, str] | tuple[str, int, str | None]
Form = tuple[str | tuple[str, int, str | None], ...]
"""A blank quad as a ``%``-format: text (``%`` doubled, each blank node ``%(key)s``) and slots."""


@dataclass
class _Template:
    ground: tuple[str, ...]
    """Canonical lines of the quads without blank nodes or slots (fixed for every document)."""
    ground_pieces: tuple[tuple[Piece, ...], ...]
    """The quads without blank nodes that hold a slot: text and slots."""
    ground_slotted: tuple[Quad, ...]
    blank: tuple[Quad, ...]
    """Quads with blank nodes: only these take part in RDFC-1.0's labelling."""
    forms: tuple[Form, ...]
    """Each blank quad as a format whose keys are its blank nodes' keys."""
    quads_of: dict[str, tuple[int, ...]]
    """The blank quads (by number) that mention each blank node (by key)."""
    az: dict[str, dict[str, str]]
    """For each blank node (by key): every key to ``_:z``, its own to ``_:a`` (first-degree hash)."""
    slotted: frozenset[int]
    """The blank quads (by number) that hold a slot."""
    fixed_hashes: dict[str, str]
    """First-degree hashes of the blank nodes none of whose quads holds a slot: the same for
    every document of the template."""
    blank_by_slot: dict[int, tuple[int, ...]]
    ground_by_slot: dict[int, tuple[int, ...]]
    nodes_of_quad: tuple[tuple[str, ...], ...]
    iri_slots: frozenset[int]
    unsafe: frozenset[int]
    """Slots whose sentinel did not land as one whole term: they must be pinned."""
    checked: tuple[int, ...]
    """The slots whose value may pin them (unsafe ones and IRIs), in order."""
    terms: frozenset[str]
    """Terms the document's contexts define: an IRI whose scheme is one is a compact IRI."""
    base: _Base | None = None
    """Set by the first document canonicalised through the template."""


class TemplateCanonicalizer:
    """Canonicalises documents through per-skeleton RDF templates (see the module docstring).

    Not thread-safe (give each thread or process its own). ``max_templates`` bounds the cache.
    ``fallbacks`` counts documents whose blank nodes could not be told apart by their
    first-degree hashes and went through pyoxigraph's full RDFC-1.0 instead.
    """

    def __init__(self, *, max_templates: int = 256) -> None:
        self.max_templates = max_templates
        self._templates: OrderedDict[Any, _Template] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.fallbacks = 0
        self.seconds = 0.0
        """Total time spent in :meth:`canonicalize` and :meth:`canonicalize_values`."""
        self.build_seconds = 0.0
        """Of which building templates (JSON-LD expansion and conversion to RDF)."""

    def canonicalize(self, document: dict[str, Any]) -> str:
        """RDFC-1.0 canonical N-Quads of ``document``, identical to the full path's."""
        if not isinstance(document, dict):
            raise CanonicalizationError("a JSON-LD document must be a JSON object")
        started = time.perf_counter()
        try:
            shape, values = shape_of(document)
            return self._canonicalize(shape, document, values)
        finally:
            self.seconds += time.perf_counter() - started

    def canonicalize_values(self, shape: Shape, exemplar: dict[str, Any], values: list[str]) -> str:
        """What :meth:`canonicalize` gives for the document of ``shape`` whose strings are ``values``.

        ``exemplar`` is any document of that shape (its own strings do not matter): it is
        expanded only when the shape's template is built. The caller vouches that ``shape`` is
        ``shape_of(exemplar)[0]`` and that ``values`` has one string per slot.
        """
        started = time.perf_counter()
        try:
            return self._canonicalize(shape, exemplar, values)
        finally:
            self.seconds += time.perf_counter() - started

    def _canonicalize(self, shape: Shape, document: dict[str, Any], values: list[str]) -> str:
        template = self._template(document, shape, len(values), pinned=())
        pinned = tuple(
            (i, values[i]) for i in template.checked
            if i in template.unsafe or not _safe_iri(values[i], template.terms)
        )
        if pinned:
            template = self._template(document, shape, len(values), pinned=pinned)
        result = _canonical(template, values)
        if result is None:
            self.fallbacks += 1
            return _canonical_oxigraph(template, values)
        return result

    def _template(self, document: dict[str, Any], shape: Shape, count: int,
                  pinned: tuple[tuple[int, str], ...]) -> _Template:
        key = (shape, pinned)
        template = self._templates.get(key)
        if template is not None:
            self.hits += 1
            self._templates.move_to_end(key)
            return template
        self.misses += 1
        started = time.perf_counter()
        template = _build(document, count, dict(pinned))
        self.build_seconds += time.perf_counter() - started
        self._templates[key] = template
        if len(self._templates) > self.max_templates:
            self._templates.popitem(last=False)
        return template


def _literal_suffix(raw: dict[str, Any]) -> str:
    language = raw.get("language")
    datatype = raw.get("datatype", _XSD_STRING)
    if datatype == _RDF_LANGSTRING and language:
        return f"@{language}"
    return "" if datatype == _XSD_STRING else f"^^<{datatype}>"


def _build(document: dict[str, Any], count: int, pinned: dict[int, str]) -> _Template:
    """Convert the document with sentinels in its free slots to RDF; locate every sentinel."""
    token = secrets.token_hex(8)
    sentinels = [pinned.get(i, f"urn:x-nbcred-slot:{token}:{i}") for i in range(count)]
    by_value = {s: i for i, s in enumerate(sentinels) if i not in pinned}
    dataset = to_dataset(_fill(document, sentinels, [0]))
    seen: set[int] = set()
    unsafe: set[int] = set()
    iri_slots: set[int] = set()
    marker = f"urn:x-nbcred-slot:{token}:"

    def term(raw: dict[str, Any]) -> Term:
        value: str = raw["value"]
        index = by_value.get(value)
        if index is not None and raw["type"] in ("IRI", "literal"):
            seen.add(index)
            if raw["type"] == "IRI":
                iri_slots.add(index)
                return ("s", index, None)
            return ("s", index, _literal_suffix(raw))
        if marker in value:  # a sentinel inside a larger term: the value is not substitutable
            unsafe.update(i for s, i in by_value.items() if s in value)
        if raw["type"] == "IRI":
            return ("i", value)
        if raw["type"] == "blank node":
            return ("b", value)
        return ("l", value, _literal_suffix(raw))

    ground: list[str] = []
    ground_slotted: list[Quad] = []
    blank: list[Quad] = []
    for name, triples in dataset.items():
        graph: Term | None = None if name == "@default" else (
            ("b", name) if name.startswith("_:") else ("i", name))
        for triple in triples:
            quad: Quad = (term(triple["subject"]), ("i", triple["predicate"]["value"]),
                          term(triple["object"]), graph)
            kinds = {t[0] for t in quad if t is not None}
            if "b" in kinds:
                blank.append(quad)
            elif "s" in kinds:
                ground_slotted.append(quad)
            else:
                ground.append(_line(quad, [], {}))
    unsafe.update(i for i in by_value.values() if i not in seen)
    terms: set[str] = set()
    _document_terms(document, terms)
    return _assemble(ground, ground_slotted, blank, iri_slots, unsafe, frozenset(terms) | _bundled_terms())


def _assemble(ground: list[str], ground_slotted: list[Quad], blank: list[Quad], iri_slots: set[int],
              unsafe: set[int], terms: frozenset[str]) -> _Template:
    """Index a template's quads: which quads hold which slot and blank node, and their formats."""
    keys: dict[str, str] = {}
    for quad in blank:
        for t in quad:
            if t is not None and t[0] == "b" and t[1] not in keys:
                keys[t[1]] = f"n{len(keys)}"
    forms = tuple(_form(q, keys) for q in blank)
    quads_of: dict[str, list[int]] = {}
    nodes_of_quad = []
    for number, quad in enumerate(blank):
        nodes = tuple(dict.fromkeys(keys[t[1]] for t in quad if t is not None and t[0] == "b"))
        nodes_of_quad.append(nodes)
        for node in nodes:
            quads_of.setdefault(node, []).append(number)
    az = {node: {**dict.fromkeys(quads_of, "_:z"), node: "_:a"} for node in quads_of}
    slotted = frozenset(n for n, form in enumerate(forms) if any(not isinstance(p, str) for p in form))
    fixed = {node: _first_degree_hash([str(forms[n][0]) for n in numbers], az[node])
             for node, numbers in quads_of.items() if not any(n in slotted for n in numbers)}
    ground_pieces = tuple(_pieces(q) for q in ground_slotted)
    return _Template(
        tuple(ground), ground_pieces, tuple(ground_slotted), tuple(blank), forms,
        {node: tuple(numbers) for node, numbers in quads_of.items()}, az, slotted, fixed,
        _by_slot(forms), _by_slot(ground_pieces), tuple(nodes_of_quad), frozenset(iri_slots),
        frozenset(unsafe), tuple(sorted(iri_slots | unsafe)), terms,
    )


def _by_slot(quads: tuple[tuple[Any, ...], ...]) -> dict[int, tuple[int, ...]]:
    """For each slot, the quads (by number) that hold it."""
    found: dict[int, list[int]] = {}
    for number, pieces in enumerate(quads):
        for piece in pieces:
            if not isinstance(piece, str) and piece[0] == "s":
                numbers = found.setdefault(int(piece[1]), [])
                if not numbers or numbers[-1] != number:
                    numbers.append(number)
    return {slot: tuple(numbers) for slot, numbers in found.items()}


def _first_degree_hash(lines: list[str], az: dict[str, str]) -> str:
    """RDFC-1.0's first-degree hash of a node: its quads (as formats) with it as ``_:a``, other
    blank nodes ``_:z``, sorted."""
    return hashlib.sha256("".join(sorted(line % az for line in lines)).encode("utf-8")).hexdigest()


def _render(term: Term, values: list[str], labels: dict[str, str]) -> str:
    kind = term[0]
    if kind == "i":
        return f"<{term[1]}>"
    if kind == "b":
        return f"_:{labels[term[1]]}"
    if kind == "l":
        return f'"{escape_literal(term[1])}"{term[2]}'
    value = values[term[1]]
    return f"<{value}>" if term[2] is None else f'"{escape_literal(value)}"{term[2]}'


def _line(quad: Quad, values: list[str], labels: dict[str, str]) -> str:
    terms = [t for t in quad if t is not None]
    return " ".join(_render(t, values, labels) for t in terms) + " .\n"


def _pieces(quad: Quad) -> tuple[Piece, ...]:
    """A quad as text with its blank nodes ``("b", label)`` and slots ``("s", i, suffix)`` open."""
    out: list[Piece] = []
    for position, term in enumerate(t for t in quad if t is not None):
        if position:
            out.append(" ")
        if term[0] in ("b", "s"):
            out.append(term)  # type: ignore[arg-type]
        else:
            out.append(_render(term, [], {}))
    out.append(" .\n")
    merged: list[Piece] = []
    for piece in out:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return tuple(merged)


def _form(quad: Quad, keys: dict[str, str]) -> Form:
    """A blank quad's :data:`Form`: its text with ``%`` doubled and blank nodes as ``%(key)s``."""
    out: list[str | tuple[str, int, str | None]] = []
    for piece in _pieces(quad):
        text = (piece.replace("%", "%%") if isinstance(piece, str)
                else f"%({keys[str(piece[1])]})s" if piece[0] == "b" else None)
        if text is None:
            out.append(piece)  # type: ignore[arg-type]
        elif out and isinstance(out[-1], str):
            out[-1] += text
        else:
            out.append(text)
    return tuple(out)


@dataclass
class _Base:
    """A template's first document, fully rendered: later documents redo only what differs."""

    values: list[str]
    slot_text: dict[tuple[int, str | None], str]
    lines: list[str]
    """Each blank quad's format with the slots filled in."""
    ground_lines: list[str]
    hashes: dict[str, str]


def _canonical(template: _Template, values: list[str]) -> str | None:
    """RDFC-1.0 when every blank node has a distinct first-degree hash; ``None`` otherwise.

    Only quads that mention blank nodes take part in the labelling; the algorithm hashes, for
    each blank node, its quads with itself written ``_:a`` and every other blank node ``_:z``,
    and issues ``c14n0``, ``c14n1``... in the order of those hashes. Ties need the n-degree
    hashes, which pyoxigraph computes (the caller falls back to it). Quads and hashes that no
    changed value touches are reused from the template's first document.
    """
    base = template.base
    if base is None:
        slot_text: dict[tuple[int, str | None], str] = {}
        lines = [f[0] if len(f) == 1 and isinstance(f[0], str) else "" for f in template.forms]
        ground = [""] * len(template.ground_pieces)
        hashes = dict(template.fixed_hashes)
        blank_quads: Iterable[int] = template.slotted
        ground_quads: Iterable[int] = range(len(ground))
        nodes: Iterable[str] = [node for node in template.quads_of if node not in hashes]
    else:
        old = base.values
        changed = [i for i, value in enumerate(values) if value is not old[i] and value != old[i]]
        slot_text = {k: v for k, v in base.slot_text.items() if k[0] not in changed} if changed \
            else base.slot_text
        lines = list(base.lines)
        ground = list(base.ground_lines)
        hashes = dict(base.hashes)
        blank_quads = {n for i in changed for n in template.blank_by_slot.get(i, ())}
        ground_quads = {n for i in changed for n in template.ground_by_slot.get(i, ())}
        nodes = {node for n in blank_quads for node in template.nodes_of_quad[n]}

    def slot(index: int, suffix: str | None) -> str:
        text = slot_text.get((index, suffix))
        if text is None:
            value = values[index]
            text = f"<{value}>" if suffix is None else f'"{escape_literal(value)}"{suffix}'
            slot_text[(index, suffix)] = text
        return text

    for n in blank_quads:
        lines[n] = "".join(p if isinstance(p, str) else slot(p[1], p[2]).replace("%", "%%")  # type: ignore[arg-type]
                           for p in template.forms[n])
    for n in ground_quads:
        ground[n] = "".join(p if isinstance(p, str) else slot(p[1], p[2])  # type: ignore[misc,arg-type]
                            for p in template.ground_pieces[n])
    for node in nodes:
        hashes[node] = _first_degree_hash([lines[n] for n in template.quads_of[node]], template.az[node])
    if base is None:
        template.base = _Base(list(values), slot_text, lines, ground, hashes)
    if len(set(hashes.values())) != len(hashes):
        return None
    order = sorted(hashes, key=hashes.__getitem__)
    canonical = {node: f"_:c14n{i}" for i, node in enumerate(order)}
    blank_lines = [line % canonical for line in lines]
    if len(set(blank_lines)) != len(blank_lines):  # substituted values made two quads equal
        return None
    return "".join(sorted({*template.ground, *ground, *blank_lines}))


def _ox(term: Term, values: list[str]) -> Any:
    kind = term[0]
    if kind == "i":
        return ox.NamedNode(term[1])
    if kind == "b":
        return ox.BlankNode(term[1][2:])
    value, suffix = (term[1], term[2]) if kind == "l" else (values[term[1]], term[2])
    if suffix is None:
        return ox.NamedNode(value)
    if suffix.startswith("@"):
        return ox.Literal(value, language=suffix[1:])
    return ox.Literal(value, datatype=ox.NamedNode(suffix[3:-1] if suffix else _XSD_STRING))


def _canonical_oxigraph(template: _Template, values: list[str]) -> str:
    """The whole dataset through pyoxigraph's RDFC-1.0 (for blank nodes with tied hashes)."""
    graph = ox.Dataset()
    try:
        for parsed in ox.parse("".join(template.ground), format=ox.RdfFormat.N_QUADS):
            graph.add(parsed)  # type: ignore[arg-type]
        for subject, predicate, obj, name in (*template.ground_slotted, *template.blank):
            graph.add(ox.Quad(_ox(subject, values), _ox(predicate, values), _ox(obj, values),
                              ox.DefaultGraph() if name is None else _ox(name, values)))
        graph.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    except (ValueError, SyntaxError) as error:
        raise CanonicalizationError(f"RDF canonicalisation failed: {error}") from error
    return "".join(sorted(f"{quad} .\n" for quad in graph))


_DEFAULT = threading.local()


def default_canonicalizer() -> TemplateCanonicalizer:
    """This thread's shared template canonicaliser (it is not thread-safe: one per thread, e.g.
    a web service's result recorder and the request threads that revoke)."""
    canonicalizer: TemplateCanonicalizer | None = getattr(_DEFAULT, "canonicalizer", None)
    if canonicalizer is None:
        canonicalizer = _DEFAULT.canonicalizer = TemplateCanonicalizer()
    return canonicalizer
