"""Notebook views and the upload door: what the largest accepted notebook costs to render, what a
cached view costs, and how fast an oversized upload is refused.

Usage: .venv/bin/python bench/notebook_view.py

Prints, for the sample learner notebook and for the largest notebook the upload limits accept
(NBCRED_UPLOAD_MAX_CELLS cells, NBCRED_UPLOAD_MAX_OUTPUT_BYTES of outputs), the first render and a
cached one (seconds, page size), the process's peak memory, and the time to refuse a
100,000-cell upload (no rendering, nothing stored).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nbcred.service.errors import TooLarge  # noqa: E402
from nbcred.service.notebook_view import ViewCache  # noqa: E402
from nbcred.service.uploads import _check_notebook  # noqa: E402
from nbcred.settings import Settings  # noqa: E402

SAMPLE = ROOT / "notebooks" / "pandas-cleaning" / "alice" / "cleaning.ipynb"


def largest(settings: Settings) -> bytes:
    """A notebook right at the limits: every cell printing its share of the output budget."""
    share = settings.upload_max_output_bytes // settings.upload_max_cells - 64
    cell = {"cell_type": "code", "metadata": {}, "source": "print('x' * n)", "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * share}]}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [cell] * settings.upload_max_cells}).encode()


def timed_view(folder: Path, name: str, data: bytes) -> None:
    path = folder / f"{name}.ipynb"
    path.write_bytes(data)
    cache = ViewCache(folder / "cache")
    start = time.perf_counter()
    page, _ = cache.page(path, name)
    first = time.perf_counter() - start
    start = time.perf_counter()
    cache.page(path, name)
    again = time.perf_counter() - start
    print(f"{name:<10} notebook {len(data) / 2**20:6.2f} MiB  render {first:6.3f} s  "
          f"cached {again * 1000:6.1f} ms  page {len(page) / 2**20:6.2f} MiB")


def main() -> None:
    settings = Settings(home=Path(tempfile.mkdtemp()))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        timed_view(folder, "sample", SAMPLE.read_bytes())
        timed_view(folder, "largest", largest(settings))
    many = json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "x = 1", "outputs": []}]
                       * 100_000}).encode()
    start = time.perf_counter()
    try:
        _check_notebook(settings, "huge.ipynb", many)
    except TooLarge as exc:
        refused = time.perf_counter() - start
        print(f"100,000 cells ({len(many) / 2**20:.1f} MiB): refused in {refused:.3f} s: {exc}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
