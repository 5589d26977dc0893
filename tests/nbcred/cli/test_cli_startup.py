"""Start-up of the console script: what it imports before it does the first useful thing.

No timing here (the machine is shared): the guards are on what is imported, and in which order
``nbcred grade`` does things. Each check runs a fresh interpreter, since this one has imported
everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

#: Imported by grading (nbgrader, nbclient, SQLAlchemy…): ~1 s each time a process starts.
HEAVY = ("nbgrader", "nbconvert", "nbclient", "jupyter_client", "sqlalchemy", "alembic", "papermill",
         "grader.assessment", "grader.grade", "nbcred.store", "nbcred.issuance")


def _python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBCRED_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_help_imports_neither_settings_nor_the_grader(tmp_path: Path) -> None:
    code = f"""
import json, sys
from nbcred.cli import app
try:
    app(["--help"])
except SystemExit:
    pass
print(json.dumps([m for m in {(*HEAVY, "nbcred.settings", "grader")!r} if m in sys.modules]))
"""
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "grade" in proc.stdout
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_grade_starts_its_workers_before_importing_the_grader_and_looking_up(tmp_path: Path) -> None:
    """The workers (fork server, assessment, kernel template) start first; the lookup follows."""
    assessment = ROOT / "assessments" / "pandas-cleaning"
    submission = ROOT / "notebooks" / "pandas-cleaning" / "alice"
    code = f"""
import json, sys
import nbcred.pipeline as pipeline
from nbcred.executors.local import LocalExecutor

events = []

def start_workers(self, count=None, *, assessment=None):
    events.append(["start", count, assessment, [m for m in {HEAVY!r} if m in sys.modules]])

def grade(self, jobs, *, on_result):
    events.append(["grade", len(jobs)])

lookup = pipeline._lookup

def looked_up(*args, **kwargs):
    events.append(["lookup"])
    yield from lookup(*args, **kwargs)

LocalExecutor.start_workers = start_workers
LocalExecutor.grade = grade
pipeline._lookup = looked_up
from nbcred.cli import app
try:
    app(["grade", {str(assessment)!r}, {str(submission)!r}, "--workers", "2", "--format", "json"])
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(events))
"""
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = json.loads(proc.stdout.splitlines()[-1])
    assert [e[0] for e in events] == ["start", "lookup", "grade"]
    assert events[0] == ["start", 1, str(assessment), []], "imported before the workers started"
