"""Where the hostile-submission corpus lives."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "notebooks" / "hostile"
HOSTILE_ASSESSMENT = HOSTILE / "assessment"


def hostile_cases() -> list[Path]:
    """Every case folder of the hostile corpus."""
    return sorted(p for p in HOSTILE.iterdir() if p.is_dir() and p.name != "assessment"
                  and not p.name.startswith(("_", ".")))
