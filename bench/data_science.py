"""Data-science mode: a compute-heavy pandas / numpy / matplotlib problem set, graded by ``nbgrader
autograde`` and by ``nbcred grade --workers 2`` side by side, against what its own cells allow.

The problem set (``ds1``, written here: one notebook, a synthetic table of a million sales, a
groupby with a rolling mean, a pivot, a least-squares fit, a bootstrap and a three-panel figure
shown inline) has seconds of real cell time. Each repetition measures, one after another:

* the notebook's own cell time: a fresh plain kernel imports what the notebook imports, then runs
  its cells; the sum of each cell's execution in the kernel (its ``execute_input`` to its
  ``execute_reply``, kernel timestamps) is the computation no grader can avoid;
* ``nbcred grade SOURCE SUBMISSIONS... --workers W`` cold, as a new user runs it, with and without
  the per-assessment kernel preload (``NBCRED_KERNEL_PRELOAD``), in alternating order.

``nbgrader autograde`` runs once (first repetition). The bound is N × cell time / cores × 1.15
(the target: within 15 % of the cell time spread over the cores); nbcred's total, the bound and
whether it is met are printed with peak memory (PSS of the process tree), and a second batch of
2N submissions shows whether memory grows with the batch::

    .venv/bin/python bench/grade_throughput.py --data-science -n 24 --repeat 3
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nbformat
from course_mode import HEADER, Run, _row, run_cli, run_nbgrader
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

PROBLEM_SET = "ds1"
NOTEBOOK = "sales.ipynb"
TARGET = 1.15
ROOT = Path(__file__).resolve().parents[1]

#: (kind, grade id, source): "code" cells are plain, "solution" and "test" cells nbgrader-marked.
CELLS: list[tuple[str, str | None, str]] = [
    ("code", None, '''import numpy as np
import pandas as pd
import matplotlib.pyplot as plt'''),
    ("code", None, '''rng = np.random.default_rng(7)
n = 1_000_000
sales = pd.DataFrame({
    "store": rng.integers(0, 200, n),
    "day": pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
    "product": rng.choice(["tea", "coffee", "cake", "juice", "soup"], n),
    "units": rng.poisson(3, n),
    "price": rng.gamma(2.0, 2.5, n).round(2),
})
sales["revenue"] = sales["units"] * sales["price"]
sales.head()'''),
    ("solution", "daily", '''def daily_revenue(df):
    ### BEGIN SOLUTION
    daily = df.groupby(["store", "day"], as_index=False)["revenue"].sum()
    daily = daily.sort_values(["store", "day"])
    daily["rolling_7d"] = daily.groupby("store")["revenue"].transform(
        lambda s: s.rolling(7, min_periods=1).mean())
    return daily
    ### END SOLUTION


daily = daily_revenue(sales)
daily.describe()'''),
    ("test", "test_daily", '''_check = sales.groupby(["store", "day"])["revenue"].sum()
assert len(daily) == len(_check)
assert np.allclose(daily.set_index(["store", "day"])["revenue"].sort_index(), _check.sort_index())
_one = daily[daily["store"] == 3].reset_index(drop=True)
assert np.isclose(_one.loc[6, "rolling_7d"], _one.loc[:6, "revenue"].mean())'''),
    ("solution", "share", '''def product_share(df):
    ### BEGIN SOLUTION
    table = df.pivot_table(index="store", columns="product", values="revenue", aggfunc="sum",
                           fill_value=0)
    return table.div(table.sum(axis=1), axis=0)
    ### END SOLUTION


share = product_share(sales)
share.head()'''),
    ("test", "test_share", '''assert share.shape == (200, 5)
assert np.allclose(share.sum(axis=1), 1.0)
_tea = sales[(sales["store"] == 5) & (sales["product"] == "tea")]["revenue"].sum()
assert np.isclose(share.loc[5, "tea"], _tea / sales[sales["store"] == 5]["revenue"].sum())'''),
    ("solution", "fit", '''def price_elasticity(df):
    ### BEGIN SOLUTION
    X = np.column_stack([np.ones(len(df)), np.log(df["price"].clip(lower=0.01)),
                         pd.get_dummies(df["product"], drop_first=True).to_numpy(float)])
    y = np.log1p(df["units"].to_numpy(float))
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef
    ### END SOLUTION


coef = price_elasticity(sales)
coef'''),
    ("test", "test_fit", '''assert coef.shape == (6,)
assert abs(coef[1]) < 1.0'''),
    ("solution", "dashboard", '''def revenue_dashboard(daily, share):
    ### BEGIN SOLUTION
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for store, rows in daily[daily["store"] < 5].groupby("store"):
        axes[0].plot(rows["day"], rows["rolling_7d"], label=f"store {store}")
    axes[0].legend()
    axes[1].hist(daily["revenue"], bins=60)
    share.mean().sort_values().plot.barh(ax=axes[2])
    fig.tight_layout()
    return fig
    ### END SOLUTION


fig = revenue_dashboard(daily, share)'''),
    ("test", "test_dashboard", '''assert len(fig.axes) == 3
assert len(fig.axes[0].get_lines()) == 5
assert len(fig.axes[2].patches) == 5'''),
    ("solution", "bootstrap", '''def bootstrap_interval(values, resamples, seed=0):
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    values = np.asarray(values, dtype=float)
    means = np.empty(resamples)
    for i in range(resamples):
        means[i] = values[rng.integers(0, len(values), len(values))].mean()
    return np.quantile(means, [0.025, 0.975])
    ### END SOLUTION


interval = bootstrap_interval(sales["revenue"], 80)
interval'''),
    ("test", "test_bootstrap", '''assert interval[0] < sales["revenue"].mean() < interval[1]
assert np.allclose(bootstrap_interval([1.0, 1.0, 1.0], 5), [1.0, 1.0])'''),
]


def source_notebook() -> NotebookNode:
    """The problem set's source notebook, marked as nbgrader's Create Assignment toolbar does."""
    cells = []
    for kind, grade_id, source in CELLS:
        cell = new_code_cell(source)
        if grade_id is not None:
            test = kind == "test"
            cell.metadata["nbgrader"] = {
                "grade": test, "grade_id": grade_id, "locked": test, "schema_version": 3,
                "solution": not test, "task": False, **({"points": 1} if test else {})}
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def build_course(n: int, into: Path) -> tuple[Path, list[Path]]:
    """``course/source/ds1/sales.ipynb`` and N full-marks submissions of it."""
    course = into / "course"
    source = course / "source" / PROBLEM_SET / NOTEBOOK
    source.parent.mkdir(parents=True)
    nbformat.write(source_notebook(), source)
    subs = []
    for i in range(n):
        target = course / "submitted" / f"learner{i:04d}" / PROBLEM_SET
        target.mkdir(parents=True)
        shutil.copy(source, target / NOTEBOOK)
        subs.append(target)
    return course, subs


def cell_seconds(notebook: Path, workdir: Path, *, graded: bool = False) -> float:
    """Seconds the notebook's cells execute in a plain kernel that has already done its imports.

    ``graded``: run them as the grader does (nbcred's plain runner, test cells rewritten by the
    integrity checks), to tell the notebook's own time from what the checks add.
    """
    from grader.preload import notebook_imports

    nb = nbformat.read(notebook, as_version=4)
    warm = (f"import importlib\nfor _m in {notebook_imports(nb)!r}:\n    try:\n"
            "        importlib.import_module(_m)\n    except ImportError:\n        pass")
    nb.cells.insert(0, new_code_cell(warm))
    if graded:
        from grader.execute import KernelRunner
        from grader.spec import ExecutionLimits

        nb = KernelRunner().run(nb, workdir=workdir, limits=ExecutionLimits(cell_timeout=600),
                                kernel_name="python3").notebook
    else:
        from nbclient import NotebookClient

        NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    total = 0.0
    for cell in nb.cells[1:]:
        times = cell.metadata["execution"]
        total += (datetime.fromisoformat(times["shell.execute_reply"])
                  - datetime.fromisoformat(times["iopub.execute_input"])).total_seconds()
    return total


#: Runs a notebook's code cells in a plain interpreter (argv: the notebook) and prints the CPU seconds
#: they take once its imports are done; figures are rendered to PNG after each cell, as the
#: inline backend does.
_CELL_CPU = """
import importlib, io, json, sys, time
import matplotlib
matplotlib.use("Agg")
from grader.preload import notebook_imports
import nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
for name in notebook_imports(nb):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
import matplotlib.pyplot as plt
namespace, total = {"__name__": "__main__"}, 0.0
for cell in nb.cells:
    if cell.cell_type == "code":
        start = time.process_time()
        exec(compile(cell.source, "<cell>", "exec"), namespace)
        for number in plt.get_fignums():
            plt.figure(number).savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close("all")
        total += time.process_time() - start
print(json.dumps(total))
"""


def cell_cpu_seconds(notebook: Path, workdir: Path) -> float:
    """CPU seconds the notebook's cells take in a plain process that has done its imports."""
    done = subprocess.run([sys.executable, "-c", _CELL_CPU, str(notebook)], cwd=workdir, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return float(done.stdout.strip().splitlines()[-1])


def _check(results: list[dict[str, object]], n: int) -> None:
    wrong = [r for r in results if r["score"] != r["max_score"] or r["errors"]]
    if wrong:
        raise SystemExit(f"{len(wrong)} of {n} submissions did not get full marks: {wrong[0]}")


def main(n: int, repeat: int, workers: int, skip_nbgrader: bool, say: Callable[[str], None] = print) -> None:
    """Run the data-science benchmark ``repeat`` times; print every run, the medians and the bound."""
    cores = os.cpu_count() or 1
    on, off = {"NBCRED_KERNEL_PRELOAD": "true"}, {"NBCRED_KERNEL_PRELOAD": "false"}
    with tempfile.TemporaryDirectory(prefix="nbcred-ds-") as tmp_name:
        tmp = Path(tmp_name)
        course, subs = build_course(2 * n, tmp)
        notebook = course / "source" / PROBLEM_SET / NOTEBOOK
        say(f"data-science mode: {n} submissions of {PROBLEM_SET}/{NOTEBOOK} ({len(CELLS)} cells, pandas, "
            f"numpy, matplotlib inline), {cores} cores, load {os.getloadavg()[0]:.1f}")
        rows: dict[str, list[Run]] = {}
        cells: list[float] = []
        graded: list[float] = []
        cpu: list[float] = []
        for rep in range(repeat):
            for folder in (f"cells{rep}", f"graded{rep}"):
                (tmp / folder).mkdir()
            cells.append(cell_seconds(notebook, tmp / f"cells{rep}"))
            graded.append(cell_seconds(notebook, tmp / f"graded{rep}", graded=True))
            cpu.append(cell_cpu_seconds(notebook, tmp / f"cells{rep}"))
            runs = [] if skip_nbgrader or rep else [run_nbgrader(course, n, subs[:n], PROBLEM_SET)]
            for settings, label in ((on, ", preload"), (off, ", no preload"))[:: 1 if rep % 2 else -1]:
                run, results = run_cli(course, subs[:n], workers, tmp / f"cli{rep}{label}", PROBLEM_SET,
                                       settings, label)
                _check(results, n)
                runs.append(run)
            for run in runs:
                rows.setdefault(run.name, []).append(run)
            base = rows["nbgrader autograde"][0].per_submission if "nbgrader autograde" in rows else None
            say(f"\nrepetition {rep + 1}: cell time {cells[-1]:.2f} s per notebook in a kernel "
                f"({graded[-1]:.2f} s with the test cells' integrity checks), {cpu[-1]:.2f} core-s in a "
                f"plain process\n{HEADER}")
            for run in runs:
                say(_row(run, base))
        _report(rows, (statistics.median(cells), statistics.median(graded), statistics.median(cpu)),
                n, cores, workers, say)
        big, results = run_cli(course, subs, workers, tmp / "big", PROBLEM_SET, on, ", preload")
        _check(results, 2 * n)
        small = rows[f"nbcred grade (CLI, cold, workers={workers}), preload"]
        peak = statistics.median(r.peak_mb for r in small)
        say(f"\nmemory in the batch size (preload): {n} submissions {peak:.0f} MB peak PSS, {2 * n} "
            f"submissions {big.peak_mb:.0f} MB ({big.seconds:.1f} s, load {big.load:.1f})")


def _report(rows: dict[str, list[Run]], cell: tuple[float, float, float], n: int, cores: int,
            workers: int, say: Callable[[str], None]) -> None:
    """Medians, then nbcred against the bound: in seconds (side by side, so under the same load)
    and in core-seconds per submission (what an idle machine's seconds would follow)."""
    medians = {name: Run(name, statistics.median(r.seconds for r in rs),
                         statistics.median(r.per_submission for r in rs), [],
                         statistics.median(r.peak_mb for r in rs), statistics.median(r.load for r in rs),
                         statistics.median(r.cpu_per_submission or 0.0 for r in rs))
               for name, rs in rows.items()}
    base = medians["nbgrader autograde"].per_submission if "nbgrader autograde" in medians else None
    say(f"\nmedians of {max(len(rs) for rs in rows.values())} repetitions (nbgrader: one run)\n{HEADER}")
    for run in medians.values():
        say(_row(run, base))
    wall, graded, cpu = cell
    floor = n * wall / cores
    say(f"\ncell time per notebook (medians): {wall:.2f} s in a kernel, {graded:.2f} s as graded (test "
        f"cells rewritten by the integrity checks), {cpu:.2f} core-s in a plain process")
    say(f"bound: {n} x {wall:.2f} s / {cores} cores x {TARGET} = {floor * TARGET:.1f} s; "
        f"per submission {cpu * TARGET:.2f} core-s")
    for label in (", preload", ", no preload"):
        run = medians[f"nbcred grade (CLI, cold, workers={workers}){label}"]
        used = run.cpu_per_submission or 0.0
        met = ("met" if run.seconds <= floor * TARGET else "not met",
               "met" if used <= cpu * TARGET else "not met")
        say(f"  nbcred{label:13} {run.seconds:6.1f} s = {run.seconds / floor:.2f}x the cell time per core "
            f"(target {met[0]}); {used:.2f} core-s per submission = {used / cpu:.2f}x the cells' "
            f"(target {met[1]})")


if __name__ == "__main__":
    sys.exit("run it through bench/grade_throughput.py --data-science")
