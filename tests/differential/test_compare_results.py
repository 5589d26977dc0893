"""The diff used by the differential test reports every kind of difference (no kernels)."""

from __future__ import annotations

import copy
from typing import Any

from compare_results import compare
from nbgrader_reference import CellScore, SubmissionScore


def reference() -> SubmissionScore:
    cells = [
        CellScore("nb", "test_a", "autograded", 1.5, 2.0, False, 1.5, True),
        CellScore("nb", "answer", "manual", 0.0, 3.0, True, None, True),
        CellScore("nb", "gone", "autograded", 0.0, 1.0, True, None, False),
    ]
    return SubmissionScore("sam", "hw", 1.5, 6.0, {(c.notebook, c.cell): c for c in cells})


def nbcred_line() -> dict[str, Any]:
    return {
        "learner": "sam",
        "assessment": "hw",
        "score": 1.5,
        "max_score": 6.0,
        "cells": [
            {"notebook": "nb", "cell": "test_a", "score": 1.5, "max_score": 2.0,
             "kind": "autograded", "needs_manual": False},
            {"notebook": "nb", "cell": "answer", "score": 0.0, "max_score": 3.0,
             "kind": "manual", "needs_manual": True},
            # deleted from the submission: nbgrader leaves it needing manual grading
            {"notebook": "nb", "cell": "gone", "score": 0.0, "max_score": 1.0,
             "kind": "autograded", "needs_manual": True},
        ],
    }  # fmt: skip


def test_identical_results_have_no_diff() -> None:
    assert compare(reference(), nbcred_line()) == []


def test_each_difference_is_reported() -> None:
    cases: list[tuple[str, Any]] = [
        ("score", lambda r: r.update(score=2.0)),
        ("max_score", lambda r: r.update(max_score=5.0)),
        ("nb/test_a", lambda r: r["cells"][0].update(score=2.0)),
        ("nb/test_a", lambda r: r["cells"][0].update(kind="manual")),
        ("nb/answer", lambda r: r["cells"][1].update(needs_manual=False)),
        ("nb/answer", lambda r: r["cells"][1].update(max_score=1.0)),
        ("nb/gone", lambda r: r["cells"][2].update(score=1.0)),
        ("nb/answer", lambda r: r["cells"].pop(1)),
        ("nb/extra", lambda r: r["cells"].append({"notebook": "nb", "cell": "extra"})),
    ]
    for expected, mutate in cases:
        line = copy.deepcopy(nbcred_line())
        mutate(line)
        diff = compare(reference(), line)
        assert len(diff) == 1 and expected in diff[0], (expected, diff)
