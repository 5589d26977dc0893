"""Notebooks in, scores out.

Load and validate an assessment, release the student version, restore tampered cells, execute a
submission and score it with nbgrader's semantics, roll scores up to competencies and render
feedback. Nothing in here touches a database or a credential.
"""

import sys

# jsonschema (imported by nbformat) imports rfc3987_syntax, when installed, only to check the
# "iri" string formats, which no notebook schema uses; building its grammar costs ~1.7 s at every
# process start (measured with `python -X importtime -c "import nbformat"`). Mark it unavailable
# so jsonschema skips those two format checkers.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
