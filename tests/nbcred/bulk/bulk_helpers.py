"""Roster files for the bulk tests (imported by path: conftest names clash across folders)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV file (UTF-8, header first)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def roster_rows(count: int, achievement: str = "pandas-cleaning", start: int = 0) -> list[list[str]]:
    """``count`` learners with the nbcred columns."""
    return [[f"learner{n:05d}", f"Learner {n}", f"learner{n}@example.org", achievement]
            for n in range(start, start + count)]
