"""The README's demo command on the shipped catalogue and sample learners."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT


def hidden_test_lines() -> set[str]:
    """Every distinctive line inside a HIDDEN TESTS region of the catalogue's source notebooks."""
    lines: set[str] = set()
    visible: set[str] = set()
    for path in (ROOT / "assessments").glob("*/source/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            inside = False
            for line in source.splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) > 12:
                    lines.add(line.strip())
                else:
                    visible.add(line.strip())
    return lines - visible


@pytest.mark.slow
def test_demo_grades_issues_and_verifies(demo_run: Any) -> None:  # conftest.DemoRun
    env = demo_run.env
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    out = demo_run.stdout
    assert "alice earned Data Analyst Foundations (stacked from 4 badges)" in out
    assert "Issued credentials, verified offline" in out
    assert "│ no " not in out  # every issued credential verifies
    home = demo_run.home
    badges = sorted(p.name for p in (home / "credentials" / "alice").glob("*.json"))
    assert len([b for b in badges if "-v" in b]) == 4
    assert (home / "reports" / "cohort.html").is_file()
    pages = list((home / "feedback").rglob("*.html"))
    assert len(pages) == 24
    hidden = hidden_test_lines()
    assert len(hidden) > 10
    for page in pages:  # feedback never reveals hidden tests
        text = page.read_text()
        leaked = [line for line in hidden if html.escape(line) in text or line in text]
        assert not leaked, (page, leaked)
    clr = json.loads((home / "credentials" / "alice" / "data-analyst-foundations-clr.json").read_text())
    assert "ClrCredential" in clr["type"]
    # running it again grades nothing twice
    again = subprocess.run([str(Path(sys.executable).parent / "nbcred"), "demo"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert len(list((home / "credentials" / "alice").glob("*-v*.json"))) == 4
    # grading alice again reuses her result and reports the credential she already holds
    regrade = subprocess.run(
        [str(Path(sys.executable).parent / "nbcred"), "grade", "assessments/pandas-cleaning",
         "notebooks/pandas-cleaning/alice", "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    record = json.loads(regrade.stdout)
    issued = json.loads(next((home / "credentials" / "alice").glob("pandas-cleaning-v*.json")).read_text())
    assert record["passed"] and record["credential"] == issued["id"]
    assert "already graded 1" in regrade.stderr
