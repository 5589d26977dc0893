"""Cohort similarity: which learners' written code is alike, with the matching fragments.

:func:`compare_submissions` fingerprints the code each learner wrote in the solution cells
(:mod:`nbcred.similarity.fingerprint`), indexes the fingerprints and reports the pairs at or
above a threshold (:mod:`nbcred.similarity.cohort`); :func:`render_html` writes the side-by-side
report. A reported pair is a lead for an instructor to read, never a verdict or a score change.
"""

from nbcred.similarity.cohort import (
    DEFAULT_THRESHOLD,
    Fragment,
    Pair,
    Side,
    SimilarityOptions,
    SimilarityReport,
    compare_submissions,
)
from nbcred.similarity.html import render_html

__all__ = ["DEFAULT_THRESHOLD", "Fragment", "Pair", "Side", "SimilarityOptions", "SimilarityReport",
           "compare_submissions", "render_html"]
