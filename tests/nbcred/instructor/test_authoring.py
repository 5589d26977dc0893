"""Authoring: JupyterLab with nbgrader's extension is part of the installed set, Create Assignment on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_config_path


def test_nbgrader_lab_extension_with_create_assignment_is_installed_and_enabled() -> None:
    import jupyterlab

    assert int(jupyterlab.__version__.split(".")[0]) >= 4
    root = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
    package = json.loads((root / "package.json").read_text())
    assert package["name"] == "@jupyter/nbgrader" and package["jupyterlab"]["_build"]["load"]
    bundle = "".join(p.read_text(errors="replace") for p in (root / "static").glob("*.js"))
    assert 'id:"@jupyter/nbgrader:create-assignment"' in bundle  # the Create Assignment plugin
    for folder in jupyter_config_path():  # nothing in the installed set switches it off
        page_config = Path(folder) / "labconfig" / "page_config.json"
        if page_config.is_file():
            disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
            assert not any(name.startswith("@jupyter/nbgrader") and off for name, off in
                           (disabled.items() if isinstance(disabled, dict) else
                            ((n, True) for n in disabled))), page_config
