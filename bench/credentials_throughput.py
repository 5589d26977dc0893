"""Credentials signed and verified per second, per RDFC-1.0 canonicaliser (pyld vs oxigraph).

Usage: .venv/bin/python bench/credentials_throughput.py [--count N] [--runs R]

Signs and verifies an Open Badges 3.0 credential N times per run with each canonicaliser and
prints the median rate over R runs, and the oxigraph/pyld ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from credentials.canonical import CANONICALIZERS  # noqa: E402
from credentials.did import Resolver  # noqa: E402
from credentials.keys import KeyPair  # noqa: E402
from credentials.proof import sign, verify_proof  # noqa: E402

SAMPLE = ROOT / "tests" / "credentials" / "vectors" / "ob3-unsigned.json"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def measure(document: dict[str, Any], *, canonicalizer: str, count: int) -> tuple[float, float]:
    """Return (signed per second, verified per second) for one run."""
    pair = KeyPair.generate()
    resolver = Resolver()
    start = time.perf_counter()
    signed = [sign(document, pair, canonicalizer=canonicalizer) for _ in range(count)]
    sign_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for credential in signed:
        if not verify_proof(credential, resolver=resolver, canonicalizer=canonicalizer).ok:
            raise SystemExit(f"verification failed with {canonicalizer}")
    verify_seconds = time.perf_counter() - start
    return _rate(count, sign_seconds), _rate(count, verify_seconds)


def main() -> None:
    """Run the benchmark and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="credentials per run")
    parser.add_argument("--runs", type=int, default=5, help="runs (the median is reported)")
    args = parser.parse_args()
    document = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for canonicalizer in CANONICALIZERS:  # warm caches (contexts, imports)
        measure(document, canonicalizer=canonicalizer, count=2)
    medians: dict[str, tuple[float, float]] = {}
    for canonicalizer in CANONICALIZERS:
        runs = [measure(document, canonicalizer=canonicalizer, count=args.count) for _ in range(args.runs)]
        medians[canonicalizer] = (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
        )
    print(f"{'canonicaliser':<14}{'signed/s':>12}{'verified/s':>12}")
    for name, (signed, verified) in medians.items():
        print(f"{name:<14}{signed:>12.1f}{verified:>12.1f}")
    pyld, oxigraph = medians["pyld"], medians["oxigraph"]
    print(
        f"oxigraph/pyld ratio: sign {oxigraph[0] / pyld[0]:.2f}x, "
        f"verify {oxigraph[1] / pyld[1]:.2f}x "
        f"({args.runs} runs x {args.count} credentials, median)"
    )


if __name__ == "__main__":
    main()
