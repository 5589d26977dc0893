"""Absolute server paths never reach a learner or an API client: they are cut to the file's name.

Messages from grading (papermill, the kernel, the upload checks) may name files under the
service's folders; what a learner sees keeps only the last part (``cleaning.ipynb``).
"""

from __future__ import annotations

import functools
import re
import sys
import tempfile
from pathlib import Path

from nbcred.settings import Settings


def _roots(settings: Settings) -> list[str]:
    places = [settings.home, settings.catalogue, Path(tempfile.gettempdir()), Path.home(),
              Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[2]]
    found = set()
    for place in places:
        for variant in (place, place.absolute(), place.resolve()):
            text = str(variant).rstrip("/")
            if text.startswith("/") and len(text) > 1:
                found.add(text)
    return sorted(found, key=len, reverse=True)


@functools.lru_cache(maxsize=8)
def _pattern(roots: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(r) for r in roots)
    return re.compile(rf"(?<![\w.:/-])(?:{alternatives})/[^\s'\"`:,;()\[\]<>]*")


def scrub(text: str, settings: Settings) -> str:
    """``text`` with every absolute path under a server folder cut to its last part."""
    if "/" not in text:
        return text
    pattern = _pattern(tuple(_roots(settings)))
    return pattern.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "…", text)
