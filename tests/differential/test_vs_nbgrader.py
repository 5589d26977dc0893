"""``nbcred grade`` must score every submission of the corpus exactly as real nbgrader does.

For each assignment the CLI is run once, as a user would, on all its
submissions; its JSON lines are compared with nbgrader's gradebook after
``nbgrader autograde`` (see ``nbgrader_reference.py``): totals, and for every
grade cell nbgrader knows, score, max_score, kind and needs_manual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from compare_results import compare
from nbgrader_reference import Results, list_assignments, list_students

pytestmark = pytest.mark.slow

NbcredResults = dict[tuple[str, str], dict[str, Any]]


def nbcred_executable() -> str:
    exe = Path(sys.executable).parent / "nbcred"
    return str(exe) if exe.exists() else "nbcred"


def run_nbcred_grade(course_dir: Path, assignment: str, db_url: str, cwd: Path) -> NbcredResults:
    """``nbcred grade <source> <submissions...> --format json --db <url>``, parsed."""
    submissions = [
        str(course_dir / "submitted" / student / assignment)
        for student in list_students(course_dir, assignment)
    ]
    cmd = [
        nbcred_executable(),
        "grade",
        str(course_dir / "source" / assignment),
        *submissions,
        "--format",
        "json",
        "--db",
        db_url,
    ]
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["NBCRED_HOME"] = str(cwd / ".nbcred")  # feedback and keys stay in the test's folder
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    context = f"$ {' '.join(cmd)}\nexit {proc.returncode}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, context
    results: NbcredResults = {}
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line in nbcred's output: {line!r}\n{context}")
        key = (record["learner"], record["assessment"])
        assert key not in results, f"two results for {key}\n{context}"
        results[key] = record
    return results


@pytest.fixture(scope="module")
def nbcred_results(
    course_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    nbgrader_pending: Future[Any],  # nbgrader grades the same corpus meanwhile
) -> NbcredResults:
    work = tmp_path_factory.mktemp("nbcred")
    db_url = f"sqlite:///{work / 'gb.sqlite'}"
    results: NbcredResults = {}
    for assignment in list_assignments(course_dir):
        results.update(run_nbcred_grade(course_dir, assignment, db_url, work))
    return results


def test_every_submission_has_one_result(nbcred_results: NbcredResults, nbgrader_results: Results) -> None:
    assert set(nbcred_results) == set(nbgrader_results)


def test_scores_match_nbgrader(
    nbcred_results: NbcredResults,
    nbgrader_results: Results,
    manifest: list[dict[str, Any]],
) -> None:
    notes = {(m["student"], m["assignment"]): "; ".join(m["notes"]) for m in manifest}
    report: list[str] = []
    for key in sorted(nbgrader_results):
        ref = nbgrader_results[key]
        got = nbcred_results.get(key)
        if got is None:
            report.append(f"{key[0]}/{key[1]}: no result from nbcred")
            continue
        diff = compare(ref, got)
        if diff:
            report.append(f"{key[0]}/{key[1]} ({notes.get(key, '')}):")
            report.extend(diff)
    assert not report, "nbcred differs from nbgrader:\n" + "\n".join(report)


def test_tampered_locked_cells_are_reported(
    nbcred_results: NbcredResults, manifest: list[dict[str, Any]]
) -> None:
    report: list[str] = []
    for entry in manifest:
        key = (entry["student"], entry["assignment"])
        if key not in nbcred_results:
            report.append(f"{key[0]}/{key[1]}: no result from nbcred")
            continue
        flagged = set(nbcred_results[key].get("tampered_cells", []))
        must = set(entry["must_flag_tampered"])
        may = set(entry["may_flag_tampered"]) | must
        if not must <= flagged:
            report.append(f"{key[0]}/{key[1]}: not reported: {sorted(must - flagged)}")
        if not flagged <= may:
            report.append(f"{key[0]}/{key[1]}: reported but untouched: {sorted(flagged - may)}")
    assert not report, "tampered_cells is wrong:\n" + "\n".join(report)


def test_no_grading_errors(
    nbcred_results: NbcredResults, nbgrader_results: Results, manifest: list[dict[str, Any]]
) -> None:
    """nbgrader graded every submission without error; nbcred must too.

    A missing notebook is not a grading error for nbgrader (its cells score 0);
    nbcred may mention it in ``errors``, naming the notebook, and nothing else.
    """
    report: list[str] = []
    for entry in manifest:
        key = (entry["student"], entry["assignment"])
        errors = nbcred_results.get(key, {}).get("errors", [])
        submitted = set(entry["notebooks"])
        missing = {nb for nb, _ in nbgrader_results[key].cells} - submitted
        unexplained = [e for e in errors if not any(f"{nb}.ipynb" in e for nb in missing)]
        if unexplained:
            report.append(f"{key[0]}/{key[1]}: {unexplained}")
    assert not report, "nbcred reported grading errors:\n" + "\n".join(report)


def test_corpus_exercises_tampering(manifest: list[dict[str, Any]]) -> None:
    # guards the test above against a corpus where it could not fail
    assert sum(len(m["must_flag_tampered"]) for m in manifest) >= 5
