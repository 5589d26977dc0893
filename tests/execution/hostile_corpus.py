"""Where the hostile-submission corpus lives."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "notebooks" / "hostile"
HOSTILE_ASSESSMENT = HOSTILE / "assessment"
#: The secret ``make_cases.py`` writes into the ``read_cmdlines`` case (kept equal by a test).
PLANTED = "nbcred-planted-secret-5b1e"
GAMING = HOSTILE / "gaming"
GAMING_ASSESSMENT = GAMING / "assessment"


def hostile_cases() -> list[Path]:
    """Every case folder of the hostile corpus."""
    return sorted(p for p in HOSTILE.iterdir() if p.is_dir() and p.name not in ("assessment", "gaming")
                  and not p.name.startswith(("_", ".")))


def gaming_cases() -> list[Path]:
    """Every case folder of the gaming corpus (submissions that try to fool the tests)."""
    return sorted(p for p in GAMING.iterdir() if p.is_dir() and p.name != "assessment")
