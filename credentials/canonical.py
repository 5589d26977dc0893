"""The one place a canonicaliser is chosen: RDFC-1.0 N-Quads of a JSON-LD document, offline.

``pyld`` (the default) and ``oxigraph`` expand the document with pyld and canonicalise the full
dataset (:mod:`credentials.jsonld`); ``template`` reuses the RDF of a document skeleton per
achievement (:mod:`credentials.template_canon`, what bulk issuance signs with). All three give the
same bytes; the tests compare them on the W3C vectors and the corpora.
"""

from __future__ import annotations

from typing import Any, Literal

from credentials.errors import CanonicalizationError
from credentials.jsonld import DATASET_CANONICALIZERS, canonicalize_dataset, to_dataset

Canonicalizer = Literal["pyld", "oxigraph", "template"]
CANONICALIZERS: tuple[str, ...] = (*DATASET_CANONICALIZERS, "template")


def canonicalize(document: dict[str, Any], *, canonicalizer: str = "pyld") -> str:
    """Canonicalise a JSON-LD document to RDFC-1.0 N-Quads with the chosen canonicaliser.

    Raises :class:`~credentials.errors.DroppedTermsError` if expansion would drop terms,
    :class:`~credentials.errors.ContextError` for a context that is not bundled,
    :class:`CanonicalizationError` for anything else (an unknown canonicaliser among them).
    """
    if canonicalizer not in CANONICALIZERS:
        raise CanonicalizationError(
            f"unknown canonicaliser {canonicalizer!r}; choose one of {', '.join(CANONICALIZERS)}"
        )
    if canonicalizer == "template":
        from credentials.template_canon import default_canonicalizer

        return default_canonicalizer().canonicalize(document)
    return canonicalize_dataset(to_dataset(document), canonicalizer=canonicalizer)
