"""Cohort similarity: an inverted index of fingerprints, pairs above a threshold, fragments.

Every submission is fingerprinted once (in parallel for large cohorts); an inverted index maps a
fingerprint to the submissions holding it, and only submissions sharing fingerprints are ever
paired, so the work grows with the shared code, not with the square of the cohort. A fingerprint
held by more than :data:`COMMON_FRACTION` of a cohort of at least :data:`COMMON_MIN` submissions is
common idiom, not evidence, and is ignored. A pair's score is the share of the smaller side's
fingerprints found in the other (0..1), so a partial copy scores by what was copied.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.assessment import Assessment
from grader.grade import learner_id
from nbcred.similarity.fingerprint import WINDOW, Document, K, fingerprint, learner_regions, read_notebook

#: Pairs scoring at least this are reported (the labelled corpus in the README justifies it).
DEFAULT_THRESHOLD = 0.5
#: A pair whose smaller side wrote fewer normalised tokens than this is "too short to mean anything".
MIN_TOKENS = 80
COMMON_FRACTION = 0.1
COMMON_MIN = 20
MAX_FRAGMENTS = 8
PARALLEL_FROM = 200
CHUNK = 4_000_000  # pair codes held at once while counting


@dataclass(frozen=True)
class SimilarityOptions:
    """How to compare: report threshold, k-gram and window sizes, worker processes."""

    threshold: float = DEFAULT_THRESHOLD
    k: int = K
    window: int = WINDOW
    min_tokens: int = MIN_TOKENS
    workers: int = 2


@dataclass(frozen=True)
class Side:
    """Where a fragment is in one submission, and its code."""

    notebook: str
    cell: str
    first_line: int
    last_line: int
    code: str


@dataclass(frozen=True)
class Fragment:
    """Matching code, side by side."""

    a: Side
    b: Side
    fingerprints: int


@dataclass(frozen=True)
class Pair:
    """Two learners whose written code is similar."""

    a: str
    b: str
    score: float
    shared: int
    too_short: bool
    fragments: list[Fragment]

    def as_json(self) -> dict[str, Any]:
        """The documented JSON-lines record."""
        return {
            "a": self.a, "b": self.b, "score": self.score,
            "fragments": [{"a": vars(f.a), "b": vars(f.b), "fingerprints": f.fingerprints}
                          for f in self.fragments],
            "shared_fingerprints": self.shared, "too_short": self.too_short,
        }


@dataclass
class SimilarityReport:
    """Every pair at or above the threshold, highest score first."""

    assessment: str
    submissions: int
    pairs: list[Pair]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _starter(assessment: Assessment) -> dict[str, dict[str, str]]:
    starter: dict[str, dict[str, str]] = {}
    for source in assessment.notebooks:
        cells = {}
        for cell in source.release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cells[str(meta.get("grade_id", ""))] = str(cell.source)
        starter[source.filename] = cells
    return starter


def _document(task: tuple[str, str, dict[str, dict[str, str]], int, int]) -> Document | None:
    learner, folder, starter, k, window = task
    regions = []
    for filename, cells in starter.items():
        nb = read_notebook(Path(folder) / filename)
        if nb is not None:
            regions += learner_regions(nb, cells, Path(filename).stem)
    return fingerprint(learner, regions, k=k, window=window) if regions else None


def compare_submissions(
    *, assessment: Assessment, submissions: list[Path], options: SimilarityOptions | None = None,
    labels: list[str] | None = None,
) -> SimilarityReport:
    """Pairs of ``submissions`` of ``assessment`` whose learner-written code is similar.

    Each submission is reported under its ``labels`` entry (default: the learner id its folder names).
    """
    options = options or SimilarityOptions()
    start = time.perf_counter()
    starter = _starter(assessment)
    names = labels if labels is not None else [learner_id(Path(s), assessment) for s in submissions]
    if len(names) != len(submissions):
        raise ValueError("one label per submission")
    tasks = [(name, str(s), starter, options.k, options.window) for name, s in zip(names, submissions,
                                                                                   strict=True)]
    if len(tasks) >= PARALLEL_FROM and options.workers > 1:
        with ProcessPoolExecutor(options.workers) as pool:
            found = list(pool.map(_document, tasks, chunksize=64))
    else:
        found = [_document(t) for t in tasks]
    docs = [d for d in found if d is not None]
    skipped = [t[0] for t, d in zip(tasks, found, strict=True) if d is None]
    pairs = score_pairs(docs, options)
    return SimilarityReport(assessment.id, len(submissions), pairs, skipped,
                            time.perf_counter() - start)


def score_pairs(docs: list[Document], options: SimilarityOptions) -> list[Pair]:
    """Score every pair that shares a fingerprint; keep those at or above the threshold."""
    postings: dict[int, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        for value in doc.fingerprints:
            postings[value].append(i)
    cap = max(COMMON_MIN, int(len(docs) * COMMON_FRACTION)) if len(docs) >= COMMON_MIN else len(docs)
    common = {v for v, holders in postings.items() if len(holders) > cap}
    sizes = np.array([sum(1 for v in d.fingerprints if v not in common) for d in docs], dtype=np.int64)
    groups = [np.array(h, dtype=np.int64) for v, h in postings.items() if len(h) > 1 and v not in common]
    codes, counts = _pair_counts(groups, len(docs))
    first, second = codes // len(docs), codes % len(docs)
    smaller = np.minimum(sizes[first], sizes[second])
    scores = np.round(counts / np.maximum(smaller, 1), 4)
    keep = np.nonzero((scores >= options.threshold) & (smaller > 0))[0]
    pairs = []
    for index in keep:
        a, b = sorted((docs[first[index]], docs[second[index]]), key=lambda d: d.learner)
        values = [v for v in a.fingerprints if v in b.fingerprints and v not in common]
        pairs.append(Pair(a.learner, b.learner, float(scores[index]), int(counts[index]),
                          min(a.tokens, b.tokens) < options.min_tokens, _fragments(a, b, values)))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


Array = np.ndarray[Any, Any]


def _pair_counts(groups: list[Array], n: int) -> tuple[Array, Array]:
    """(pair code ``i * n + j``, shared fingerprints) for every pair co-occurring in a group."""
    triangles: dict[int, tuple[Array, Array]] = {}
    chunks: list[tuple[Array, Array]] = []
    pending: list[Array] = []
    size = 0

    def flush() -> None:
        if pending:
            unique, count = np.unique(np.concatenate(pending), return_counts=True)
            chunks.append((unique, count))
            pending.clear()

    for holders in groups:
        if len(holders) not in triangles:
            triangles[len(holders)] = np.triu_indices(len(holders), 1)
        i, j = triangles[len(holders)]
        pending.append(holders[i] * n + holders[j])
        size += len(i)
        if size > CHUNK:
            flush()
            size = 0
    flush()
    if not chunks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes = np.concatenate([c for c, _ in chunks])
    counts = np.concatenate([c for _, c in chunks])
    unique, inverse = np.unique(codes, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts).astype(np.int64)


def _fragments(a: Document, b: Document, values: list[int]) -> list[Fragment]:
    groups: dict[tuple[int, int], list[tuple[int, int, int, int]]] = defaultdict(list)
    for value in values:
        ra, a1, a2 = a.fingerprints[value]
        rb, b1, b2 = b.fingerprints[value]
        groups[(ra, rb)].append((a1, a2, b1, b2))
    fragments = []
    for (ra, rb), spans in groups.items():
        fragments.append(Fragment(
            _side(a, ra, min(s[0] for s in spans), max(s[1] for s in spans)),
            _side(b, rb, min(s[2] for s in spans), max(s[3] for s in spans)), len(spans)))
    fragments.sort(key=lambda f: -f.fingerprints)
    return fragments[:MAX_FRAGMENTS]


def _side(doc: Document, region: int, first: int, last: int) -> Side:
    r = doc.regions[region]
    code = "\n".join(r.source.splitlines()[first - 1:last])
    return Side(r.notebook, r.cell, first, last, code)
