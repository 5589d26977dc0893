"""Scores in, verifiable credentials out: Open Badges 3.0 and CLR 2.0 on W3C VC 2.0."""

import sys

# jsonschema imports rfc3987_syntax, when installed, only to check the "iri" string formats;
# credentials.schema validates without a format checker, and building that grammar costs ~1.5 s
# of CPU at every process start (the verification workers' start-up, measured with
# `python -X importtime -c "import credentials.verify"`). Mark it unavailable, as grader does.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
