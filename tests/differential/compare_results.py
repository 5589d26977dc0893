"""Compare one nbcred JSON result with nbgrader's result for the same submission."""

from __future__ import annotations

from typing import Any

from nbgrader_reference import SubmissionScore

TOLERANCE = 1e-9


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= TOLERANCE
    return bool(a == b)


def compare(ref: SubmissionScore, got: dict[str, Any]) -> list[str]:
    """Differences between nbgrader's and nbcred's result, one readable line each."""
    rows: list[tuple[str, str, Any, Any]] = []  # (where, field, nbgrader, nbcred)
    for name in ("score", "max_score"):
        if not _same(ref.to_json()[name], got.get(name)):
            rows.append(("TOTAL", name, ref.to_json()[name], got.get(name)))

    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for c in got.get("cells", []):
        cells[(c.get("notebook"), c.get("cell"))] = c
    for key, rc in sorted(ref.cells.items()):
        where = f"{key[0]}/{key[1]}"
        gc = cells.pop(key, None)
        if gc is None:
            rows.append((where, "cell", f"{rc.kind} {rc.score:g}/{rc.max_score:g}", "MISSING"))
            continue
        expected: dict[str, Any] = {
            "score": rc.score,
            "max_score": rc.max_score,
            "kind": rc.kind,
            "needs_manual": rc.needs_manual,
        }
        for name, want in expected.items():
            if not _same(want, gc.get(name)):
                rows.append((where, name, want, gc.get(name)))
    for key, gc in sorted(cells.items(), key=lambda kv: str(kv[0])):
        rows.append((f"{key[0]}/{key[1]}", "cell", "NOT GRADED BY NBGRADER", gc))

    return [
        f"  {where:<34} {name:<12} nbgrader={_num(want):<10} nbcred={_num(have)}"
        for where, name, want, have in rows
    ]
