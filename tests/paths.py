"""Where things are, for every test: the checkout, the tests folder and its shared data.

Tests and their helpers import one another by full name (``tests.grader.factory``,
``tests.nbcred.web.conftest``…), which works from the checkout's root (pytest's ``pythonpath``);
paths are taken from here so moving a test file never changes what it reads."""

from __future__ import annotations

from pathlib import Path

#: The checkout (pyproject.toml, nbcred/, assessments/, notebooks/, docs/).
ROOT = Path(__file__).resolve().parents[1]
#: This folder.
TESTS = ROOT / "tests"
#: Credential test vectors (OB 3.0 document, W3C Data Integrity vectors).
VECTORS = TESTS / "credentials" / "vectors"
#: Shared schemas and corpora kept beside the checkout, when present.
SHARED = ROOT.parent / "shared"
