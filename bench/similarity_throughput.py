"""Time ``nbcred similarity`` on a synthetic cohort of pandas-cleaning submissions.

Each synthetic learner answers every question with one of the labelled corpus's independent
solutions (chosen at random), renamed, so the cohort is full of shared code — harder than a real
cohort. Prints the seconds for fingerprinting and indexing, the pairs reported, and the median of
``--repeat`` runs::

    .venv/bin/python bench/similarity_throughput.py -n 2000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks" / "similarity"))

from honest import AUTHORS  # noqa: E402
from make_corpus import STARTER, disguise, rename  # noqa: E402

from grader.assessment import load_assessment  # noqa: E402
from nbcred.similarity import SimilarityOptions, compare_submissions  # noqa: E402


def make_cohort(folder: Path, n: int, seed: int = 7) -> list[Path]:
    """Write ``n`` submissions under ``folder``; return their folders."""
    release = load_assessment(ROOT / "assessments" / "pandas-cleaning").notebooks[0].release
    template = json.loads(json.dumps(release))
    rng = random.Random(seed)
    authors = list(AUTHORS.values())
    folders = []
    for i in range(n):
        nb = json.loads(json.dumps(template))
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if STARTER in source and grade_id in authors[0]:
                answer = {grade_id: rng.choice(authors)[grade_id]}
                if rng.random() < 0.5:
                    answer = disguise(answer, rename)
                prelude, body = answer[grade_id]
                cell["source"] = prelude + source.replace(STARTER, body)
        target = folder / f"learner{i:04d}"
        target.mkdir()
        (target / "cleaning.ipynb").write_text(json.dumps(nb))
        folders.append(target)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assessment = load_assessment(ROOT / "assessments" / "pandas-cleaning")
    with tempfile.TemporaryDirectory(prefix="nbcred-sim-") as tmp:
        folders = make_cohort(Path(tmp), args.n)
        times = []
        for _ in range(args.repeat):
            report = compare_submissions(assessment=assessment, submissions=folders,
                                         options=SimilarityOptions(workers=args.workers))
            times.append(report.seconds)
            print(f"run: {report.seconds:.2f} s, {len(report.pairs)} pairs reported, "
                  f"{len(report.skipped)} skipped", flush=True)
    print(f"{args.n} submissions, workers={args.workers}: median {statistics.median(times):.2f} s "
          f"({args.n / statistics.median(times):.0f} submissions/s)")


if __name__ == "__main__":
    main()
