"""``nbcred grade`` / ``validate`` / ``release`` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.grader import factory

NBCRED = str(Path(sys.executable).parent / "nbcred")


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBCRED_HOME": str(home), "NBCRED_WORKERS": "2"}
    return subprocess.run([NBCRED, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """An nbgrader course: source/ps1 and submitted/<learner>/ps1."""
    source = tmp_path / "course" / "source" / "ps1"
    factory.write(factory.squares_source(), source / "problem1.ipynb")
    return tmp_path / "course"


def learner_copy(course: Path, learner: str, edit: Callable[[dict], None] | None = None) -> Path:
    release = json.loads((course / "release" / "ps1" / "problem1.ipynb").read_text())
    if edit:
        edit(release)
    folder = course / "submitted" / learner / "ps1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "problem1.ipynb").write_text(json.dumps(release))
    return folder


def test_release_then_grade_json_contract(course: Path, tmp_path: Path) -> None:
    released = run("release", str(course / "source" / "ps1"), "-o", str(course / "release" / "ps1"),
                   home=tmp_path / "home")
    assert released.returncode == 0, released.stderr

    def answer(nb: dict) -> None:
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "squares":
                cell["source"] = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"

    good = learner_copy(course, "bitdiddle", answer)
    blank = learner_copy(course, "hacker")
    broken = course / "submitted" / "corrupt" / "ps1"
    broken.mkdir(parents=True)
    (broken / "problem1.ipynb").write_text("not a notebook")
    proc = run("grade", str(course / "source" / "ps1"), str(good), str(blank), str(broken),
               "--format", "json", "--db", f"sqlite:///{tmp_path / 'gb.sqlite'}", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    records = {r["learner"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(records) == {"bitdiddle", "hacker", "corrupt"}
    assert records["bitdiddle"]["score"] == 3.0 and records["bitdiddle"]["max_score"] == 4.0
    assert records["bitdiddle"]["passed"] is True and records["bitdiddle"]["assessment"] == "ps1"
    assert records["hacker"]["score"] == 0.0 and records["hacker"]["passed"] is False
    assert records["corrupt"]["errors"] and "not valid JSON" in records["corrupt"]["errors"][0]
    assert Path(records["bitdiddle"]["feedback"]).is_file()

    again = run("grade", str(course / "source" / "ps1"), str(good), "--format", "json",
                "--db", f"sqlite:///{tmp_path / 'gb.sqlite'}", home=tmp_path / "home")
    assert json.loads(again.stdout)["score"] == 3.0
    assert "already graded 1" in again.stderr


def test_bad_assessment_exits_2_with_a_message(tmp_path: Path) -> None:
    proc = run("grade", str(tmp_path / "missing"), str(tmp_path), "--format", "json", home=tmp_path)
    assert proc.returncode == 2
    assert "assessment folder not found" in proc.stderr
    assert proc.stdout == ""


def test_validate_command(course: Path, tmp_path: Path) -> None:
    proc = run("validate", str(course / "source" / "ps1"), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "solution 3/4, student version 0" in proc.stdout
