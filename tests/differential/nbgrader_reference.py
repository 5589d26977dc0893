"""Run the real ``nbgrader`` on a course directory and read back its gradebook.

The differential test compares ``nbcred grade`` with these numbers, and the
benchmark uses :func:`run_nbgrader_autograde` to time nbgrader itself.

A course directory has nbgrader's layout::

    <course>/source/<assignment>/*.ipynb (+ data files)
    <course>/submitted/<student>/<assignment>/*.ipynb

Nothing is written inside the given course directory: every run works on a
copy in a temporary directory, with its own ``nbgrader_config.py`` and sqlite
gradebook. A course's own ``nbgrader_config.py`` (timeout, ignore list,
header/footer …) is kept in the copy, with the gradebook and root set for it,
and files directly in ``source/`` (a header notebook) are copied too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

COURSE_ID = "nbcred-differential"
EXECUTE_TIMEOUT = 60


@dataclass(frozen=True)
class CellScore:
    """nbgrader's view of one graded (grade or task) cell of one submission."""

    notebook: str
    cell: str
    kind: str  # "autograded" | "manual" | "task"
    score: float
    max_score: float
    needs_manual: bool
    auto_score: float | None
    # whether a cell with this grade_id was still a grade/task cell in the
    # notebook nbgrader executed (False: deleted cell or missing notebook)
    present: bool


@dataclass
class SubmissionScore:
    """nbgrader's totals and per-cell scores for one student and assignment."""

    student: str
    assignment: str
    score: float
    max_score: float
    cells: dict[tuple[str, str], CellScore] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "cells": [asdict(c) for c in self.cells.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionScore:
        cells = [CellScore(**c) for c in data["cells"]]
        return cls(
            student=data["student"],
            assignment=data["assignment"],
            score=data["score"],
            max_score=data["max_score"],
            cells={(c.notebook, c.cell): c for c in cells},
        )


Results = dict[tuple[str, str], SubmissionScore]  # keyed by (student, assignment)


class NbgraderFailed(RuntimeError):
    """A real nbgrader command exited non-zero."""


def write_config(course_dir: Path, db_path: Path, own: str = "") -> None:
    """Write an ``nbgrader_config.py``, so the same run can be repeated by hand.

    (``cd <course> && nbgrader autograde <assignment> --force``). ``own`` is the
    course's own configuration: it comes after the defaults, before the paths.
    """
    config = (
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Execute.timeout = {EXECUTE_TIMEOUT}\n"
        f"{own}\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(db_path)!r}\n"
    )
    (course_dir / "nbgrader_config.py").write_text(config)


def _path_with_env_bin(path: str | None) -> str:
    """PATH with the interpreter's bin directory first (nbgrader runs ``alembic`` from PATH)."""
    bin_dir = str(Path(sys.executable).parent)
    parts = path.split(os.pathsep) if path else []
    if bin_dir in parts:
        return os.pathsep.join(parts)
    return os.pathsep.join([bin_dir, *parts])


def _run_driver(course: Path, assignments: Sequence[str], *, grade: bool) -> dict[str, Any]:
    """Run :func:`_drive` in a fresh interpreter; return what it printed (JSON)."""
    env = dict(os.environ)
    env["PATH"] = _path_with_env_bin(env.get("PATH"))
    # keep the user's own jupyter / nbgrader configuration out of the run
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")
    env.pop("NBGRADER_EXECUTION", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--drive", str(course), *assignments]
    if not grade:
        cmd.append("--no-grade")
    for attempt in (1, 2):
        proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, check=False)
        # jupyter_client picks a kernel's ports before binding them: with other kernels starting on
        # the machine one may be taken in between, and that kernel never answers. Once more, then.
        if proc.returncode == 0 or attempt == 2 or "Address already in use" not in proc.stderr:
            break
    if proc.returncode != 0:
        raise NbgraderFailed(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    result: dict[str, Any] = json.loads((course.parent / "driver-result.json").read_text())
    return result


def list_assignments(course_dir: Path) -> list[str]:
    return sorted(p.name for p in (course_dir / "source").iterdir() if p.is_dir())


def list_students(course_dir: Path, assignment: str) -> list[str]:
    submitted = course_dir / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def corpus_hash(course_dir: Path) -> str:
    """A hash of every file under ``source/`` and ``submitted/`` and the course config."""
    digest = hashlib.sha256()
    config = course_dir / "nbgrader_config.py"
    if config.is_file():
        digest.update(config.read_bytes())
    for top in ("source", "submitted"):
        root = course_dir / top
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(course_dir)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def prepare_course(course_dir: Path, work_dir: Path, submissions: Mapping[str, Sequence[str]]) -> Path:
    """Copy the chosen assignments' source and submissions into ``work_dir/course``.

    ``submissions`` maps an assignment to the students whose submission is copied.
    """
    course = work_dir / "course"
    for assignment, students in submissions.items():
        shutil.copytree(course_dir / "source" / assignment, course / "source" / assignment)
        for student in students:
            src = course_dir / "submitted" / student / assignment
            if not src.is_dir():
                raise FileNotFoundError(f"no submission {src}")
            shutil.copytree(src, course / "submitted" / student / assignment)
    for path in (course_dir / "source").iterdir():
        if path.is_file():  # e.g. a header notebook named by the course's config
            shutil.copy2(path, course / "source" / path.name)
    own = course_dir / "nbgrader_config.py"
    write_config(course, work_dir / "gradebook.sqlite", own.read_text() if own.is_file() else "")
    return course


def release_assignments(course: Path, assignments: Sequence[str]) -> None:
    """``nbgrader generate_assignment`` for each assignment of ``course`` (writes release/)."""
    _run_driver(course, assignments, grade=False)


def _grade_ids_in(notebook_path: Path) -> set[str]:
    """grade_ids of grade or task cells in an (autograded) notebook."""
    if not notebook_path.exists():
        return set()
    nb = nbformat.read(notebook_path, as_version=4)
    ids: set[str] = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if (meta.get("grade") or meta.get("task")) and "grade_id" in meta:
            ids.add(meta["grade_id"])
    return ids


def read_gradebook(
    course: Path, db_url: str, assignment: str, students: Iterable[str]
) -> list[SubmissionScore]:
    """Read nbgrader's scores for ``assignment`` from its gradebook."""
    from nbgrader.api import Gradebook, TaskCell

    results: list[SubmissionScore] = []
    with Gradebook(db_url, COURSE_ID) as gb:
        source = gb.find_assignment(assignment)
        solution_ids = {(nb.name, cell.name) for nb in source.notebooks for cell in nb.solution_cells}
        for student in students:
            sub = gb.find_submission(assignment, student)
            result = SubmissionScore(
                student=student,
                assignment=assignment,
                score=float(sub.score),
                max_score=float(sub.max_score),
            )
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                graded = course / "autograded" / student / assignment / f"{nb.name}.ipynb"
                present = _grade_ids_in(graded)
                for grade in sorted(nb.grades, key=lambda g: g.name):
                    if isinstance(grade.cell, TaskCell):
                        kind = "task"
                    elif (nb.name, grade.name) in solution_ids:
                        kind = "manual"
                    else:
                        kind = "autograded"
                    result.cells[(nb.name, grade.name)] = CellScore(
                        notebook=nb.name,
                        cell=grade.name,
                        kind=kind,
                        score=float(grade.score),
                        max_score=float(grade.max_score),
                        needs_manual=bool(grade.needs_manual_grade),
                        auto_score=None if grade.auto_score is None else float(grade.auto_score),
                        present=grade.name in present,
                    )
            results.append(result)
    return results


def _drive(course: Path, assignments: Sequence[str], grade: bool) -> dict[str, Any]:
    """Inside one interpreter: generate (and autograde) with nbgrader's Python API."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    db_url = "sqlite:///" + str(course.parent / "gradebook.sqlite")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = db_url
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def check(step: str, outcome: dict[str, Any]) -> None:
        if not outcome["success"]:
            raise NbgraderFailed(f"{step} failed:\n{outcome.get('log', '')}\n{outcome.get('error')}")

    out: dict[str, Any] = {"submissions": [], "seconds": {}}
    for assignment in assignments:
        check(f"generate_assignment {assignment}", api.generate_assignment(assignment, force=True))
        if not grade:
            continue
        students = list_students(course, assignment)
        for student in students:
            start = time.perf_counter()
            outcome = api.autograde(assignment, student, force=True)
            out["seconds"][f"{student}/{assignment}"] = time.perf_counter() - start
            check(f"autograde {assignment} {student}", outcome)
        for sub in read_gradebook(course, db_url, assignment, students):
            out["submissions"].append(sub.to_json())
    return out


def _grade_batch(
    course_dir: Path, submissions: Mapping[str, Sequence[str]]
) -> tuple[Results, dict[str, float]]:
    """Autograde the given submissions in one fresh course; return results and seconds."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-ref-") as tmp:
        course = prepare_course(course_dir, Path(tmp), submissions)
        data = _run_driver(course, list(submissions), grade=True)
    subs = [SubmissionScore.from_json(s) for s in data["submissions"]]
    return {(s.student, s.assignment): s for s in subs}, data["seconds"]


def run_nbgrader_autograde(
    course_dir: str | os.PathLike[str],
    assignment: str,
    students: Sequence[str] | None = None,
) -> tuple[Results, float]:
    """Grade ``students``' submissions of ``assignment`` with the real nbgrader.

    Returns nbgrader's results and the seconds its autograde step took for
    these submissions (kernel start-up and execution included; nbgrader's own
    import and the ``generate_assignment`` set-up of the gradebook are not).
    ``students=None`` means every submission of the assignment.
    """
    course_dir = Path(course_dir)
    chosen = list(students) if students is not None else list_students(course_dir, assignment)
    results, seconds = _grade_batch(course_dir, {assignment: chosen})
    return results, sum(seconds.values())


def reference_results(
    course_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    workers: int = 2,
) -> tuple[Results, dict[str, float]]:
    """nbgrader's results for every submission of every assignment in the course.

    Assignments are graded in ``workers`` parallel nbgrader processes, each with
    its own course copy and gradebook. With ``cache_dir``, results are stored
    there under the corpus content hash and reused while the corpus is
    unchanged. Also returns nbgrader's autograde seconds per
    ``"<student>/<assignment>"``, as measured when the results were computed.
    """
    course_dir = Path(course_dir)
    cache_file: Path | None = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"nbgrader-reference-{corpus_hash(course_dir)[:16]}.json"
        if cache_file.exists():
            data = json.loads(cache_file.read_text())
            cached = [SubmissionScore.from_json(s) for s in data["submissions"]]
            return {(s.student, s.assignment): s for s in cached}, data["seconds"]

    batches = [
        {assignment: students}
        for assignment in list_assignments(course_dir)
        if (students := list_students(course_dir, assignment))
    ]
    results: Results = {}
    seconds: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for got, took in pool.map(lambda batch: _grade_batch(course_dir, batch), batches):
            results.update(got)
            seconds.update(took)

    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"submissions": [s.to_json() for s in results.values()], "seconds": seconds}
        cache_file.write_text(json.dumps(payload, indent=1, sort_keys=True))
    return results, seconds


def _main(argv: Sequence[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Grade a course with the real nbgrader.")
    parser.add_argument("course_dir", type=Path)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-grade", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.drive:
        # internal: called by _run_driver inside a prepared course copy
        out = _drive(args.course_dir, args.assignments, grade=not args.no_grade)
        (args.course_dir.parent / "driver-result.json").write_text(json.dumps(out))
        return
    if args.assignments:
        res: Results = {}
        timing: dict[str, float] = {}
        for assignment in args.assignments:
            got, secs = run_nbgrader_autograde(args.course_dir, assignment)
            res.update(got)
            timing[assignment] = secs
    else:
        res, timing = reference_results(args.course_dir, workers=args.workers)
    print(json.dumps([s.to_json() for s in res.values()], indent=1))
    print(json.dumps(timing, indent=1), file=sys.stderr)


if __name__ == "__main__":
    _main(sys.argv[1:])
