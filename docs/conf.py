"""Sphinx configuration of nbcred's documentation (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

from nbcred import __version__  # noqa: E402

project = "nbcred"
author = "nbcred contributors"
copyright = "nbcred contributors"
release = version = __version__

extensions = [
    "myst_parser",
    "nbcred_reference",  # docs/_ext: settings, CLI and HTTP API pages generated from the code
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 4
nitpicky = True
suppress_warnings: list[str] = []

html_theme = "furo"
html_title = f"nbcred {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
