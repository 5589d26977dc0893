"""Processing limits for documents from strangers: size, depth, values, quads and RDFC-1.0 work.

RDF canonicalisation is cheap for credentials, whose blank nodes all differ at first glance,
but factorial for blank nodes that look alike and link to each other (a clique of eight takes
minutes). RDFC-1.0 (section 4.4) lets an implementation bound that work; this module does it by
counting calls of the N-degree hash algorithm and the permutations it walks, and refuses the
document once either budget is spent, with :class:`LimitExceeded` naming the limit.

The limits (values below) are far above what any credential nbcred issues needs: an Open
Badges 3.0 credential is ~6 KB, 12 levels deep, ~150 values, ~60 quads and needs no N-degree
hashing at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyld.canon import URDNA2015

from credentials.errors import LimitExceeded


@dataclass(frozen=True)
class Limits:
    """How much a document may ask of the verifier."""

    max_bytes: int = 2 * 1024 * 1024
    """Size of the credential as given (JSON text, or the badge image it is baked into)."""
    max_depth: int = 64
    """Nesting of JSON objects and arrays."""
    max_values: int = 100_000
    """JSON values (objects, arrays, strings, numbers, …) in the whole document."""
    max_quads: int = 50_000
    """RDF quads the document expands to."""
    max_ndegree_calls: int = 2_000
    """Calls of RDFC-1.0's Hash N-Degree Quads algorithm (0 for an ordinary credential)."""
    max_permutations: int = 20_000
    """Permutations of related blank nodes that Hash N-Degree Quads may walk."""


LIMITS = Limits()


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def check_document(document: Any, limits: Limits = LIMITS) -> None:
    """Refuse a JSON document deeper than ``max_depth`` or with more than ``max_values`` values.

    Walks without recursion, so any depth that JSON parsing produced is measured safely.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    values = 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > limits.max_values:
            raise LimitExceeded(f"the document has more than {limits.max_values} JSON values; "
                                "it is refused without being processed")
        if isinstance(value, dict | list):
            if depth > limits.max_depth:
                raise LimitExceeded(f"the document is nested more than {limits.max_depth} levels "
                                    "deep; it is refused without being processed")
            stack.extend((child, depth + 1) for child in _children(value))


def check_dataset(dataset: dict[str, list[Any]], limits: Limits = LIMITS) -> None:
    """Refuse an RDF dataset of more than ``max_quads`` quads."""
    quads = sum(len(triples) for triples in dataset.values())
    if quads > limits.max_quads:
        raise LimitExceeded(f"the document expands to {quads} RDF quads, more than the "
                            f"{limits.max_quads} allowed")


class BoundedURDNA2015(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 (URDNA2015) with the N-degree work bounded (RDFC-1.0 section 4.4)."""

    def __init__(self, limits: Limits = LIMITS) -> None:
        super().__init__()
        self.limits = limits
        self.calls = 0
        self.permutations = 0

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self.calls += 1
        if self.calls > self.limits.max_ndegree_calls:
            raise _too_much_work(f"more than {self.limits.max_ndegree_calls} N-degree hash calls")
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        # Hash N-Degree Quads walks every permutation of each list (step 5.4): charge them first.
        for nodes in related.values():
            self.permutations += math.factorial(min(len(nodes), 20))
            if self.permutations > self.limits.max_permutations:
                raise _too_much_work(f"more than {self.limits.max_permutations} permutations of "
                                     "related blank nodes")
        return related


def _too_much_work(what: str) -> LimitExceeded:
    return LimitExceeded(
        f"canonicalising this document would take {what}: its blank nodes are linked so "
        "symmetrically that RDF canonicalisation becomes exponential. It is refused; no "
        "credential needs this.")


def needs_ndegree(dataset: dict[str, list[dict[str, Any]]]) -> bool:
    """True when two blank nodes share a first-degree hash, so N-degree hashing would run."""
    canon = URDNA2015()
    for graph, triples in dataset.items():
        for triple in triples:
            quad = dict(triple)
            if graph != "@default":
                quad["name"] = {"type": "blank node" if graph.startswith("_:") else "IRI", "value": graph}
            for key, component in quad.items():
                if key != "predicate" and component["type"] == "blank node":
                    canon.blank_node_info.setdefault(component["value"], {"quads": []})["quads"].append(quad)
    hashes = [canon.hash_first_degree_quads(node) for node in canon.blank_node_info]
    return len(hashes) != len(set(hashes))
