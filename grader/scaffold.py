"""``nbcred init``: a starting ``assessment.yaml`` for an nbgrader assignment folder.

The file written describes the assignment exactly as nbcred grades it without one (one
competency per notebook that has points, every grade cell in its notebook's competency, the
default pass rule), with comments saying what to change and a badge
section left commented out. Loading the folder again with the file gives the same grades.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.assessment import SPEC_FILE, Assessment, load_assessment
from grader.errors import AssessmentError
from grader.spec import SLUG


@dataclass(frozen=True)
class Scaffold:
    """The file written and what it says."""

    path: Path
    competencies: int
    rubric_cells: int
    manual_cells: int


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML and quote everything that needs it."""
    return json.dumps(text, ensure_ascii=False)


def starting_spec(assessment: Assessment) -> str:
    """The text of an ``assessment.yaml`` equivalent to how ``assessment`` is graded now."""
    spec = assessment.spec
    cells = {c.key: c for c in assessment.grade_cells()}
    manual = [c for c in cells.values() if c.kind != "autograded" and c.points > 0]
    lines = [
        f"# {SPEC_FILE} for the nbgrader assignment {assessment.root.name!r}, written by `nbcred init`.",
        "# Scores are exactly as without it (the pass waits for manual grading). Rename the",
        "# competencies, move grade cells between them, set the pass rule, add a badge; check with",
        f"#   nbcred validate {assessment.root}",
        f"id: {spec.id}",
        f"title: {_q(spec.title)}",
        f"version: {_q(spec.version)}",
        "description: \"\"",
        "competencies:",
    ]
    for comp in spec.competencies:
        lines += [f"  - id: {comp.id}", f"    name: {_q(comp.name)}",
                  f"    description: {_q(comp.description)}"]
    lines.append("rubric:  # grade cell (<notebook>/<grade_id>) -> competency; weight defaults to 1")
    for entry in spec.rubric:
        cell = cells[entry.cell]
        lines.append(f"  - {{cell: {_q(entry.cell)}, competency: {entry.competency}}}"
                     f"  # {cell.kind}, {cell.points:g} point(s)")
    rule = spec.pass_rule
    lines += [
        "pass:",
        f"  threshold: {rule.threshold}  # fraction of all points",
        f"  competency_minimum: {rule.competency_minimum}  # fraction of each competency's points",
        f"  wait_for_manual_grading: {'true' if manual else 'false'}"
        f"  # {len(manual)} manually graded cell(s): no credential before they are graded",
        "# execution:  # limits; the cell timeout is otherwise nbgrader_config.py's (Execute.timeout)",
        f"#   cell_timeout: {spec.execution.cell_timeout:g}",
        f"#   notebook_timeout: {spec.execution.notebook_timeout:g}",
        "# badge:  # uncomment to issue an Open Badges 3.0 credential to learners who pass",
        f"#   name: {_q(spec.title)}",
        "#   description: What the holder can do.",
        "#   criteria: How the badge is earned.",
        "#   image: badge.svg",
    ]
    return "\n".join(lines) + "\n"


def write_starting_spec(folder: Path, *, force: bool = False) -> Scaffold:
    """Write ``folder/assessment.yaml`` for the nbgrader assignment in ``folder``; check it loads."""
    folder = Path(folder).resolve()
    target = folder / SPEC_FILE
    if target.exists() and not force:
        raise AssessmentError(
            f"{SPEC_FILE} already exists", path=str(target),
            hint="edit it, or pass --force to replace it with a fresh one",
        )
    if not SLUG.match(folder.name):
        raise AssessmentError(
            f"the folder name {folder.name!r} cannot be an assessment id",
            path=str(folder), hint="rename the folder to letters, digits, '.', '_' or '-'",
        )
    previous = target.read_bytes() if target.exists() else None
    if previous is not None:
        target.unlink()
    try:
        assessment = load_assessment(folder)
        target.write_text(starting_spec(assessment), encoding="utf-8")
        reloaded = load_assessment(folder)
    except AssessmentError:
        if previous is not None:  # put the instructor's file back: bad input loses nothing
            target.write_bytes(previous)
        elif target.exists():
            target.unlink()
        raise
    spec = reloaded.spec
    return Scaffold(
        path=target, competencies=len(spec.competencies), rubric_cells=len(spec.rubric),
        manual_cells=sum(1 for c in reloaded.grade_cells() if c.kind != "autograded" and c.points > 0),
    )
