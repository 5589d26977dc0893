"""The hostile-submission corpus: every attack gets a clear error or a correct low score.

The whole corpus is graded once, in parallel, by the local executor with pre-forked sandboxed
kernels; the batch must complete with exactly one result per case.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.results import GradeResult
from nbcred.executors import GradeJob, get_executor
from nbcred.settings import Settings
from tests.execution.hostile_corpus import (
    GAMING_ASSESSMENT,
    HOSTILE_ASSESSMENT,
    PLANTED,
    PLANTED_FILES,
    gaming_cases,
    hostile_cases,
)

pytestmark = pytest.mark.slow
FULL = 3.0
DIED = "the kernel died"


@pytest.fixture(scope="module")
def planted() -> Iterator[str]:
    """A secret on a running process's command line, as a careless ``--db URL`` would put it, and
    in files where an installation might keep its gradebook, keys, catalogue and home."""
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "--db",
                              f"postgresql+psycopg://grader:{PLANTED}@db.example/grades"])
    made = []
    try:
        for name in PLANTED_FILES:
            parts = Path(name).parts
            top = Path(*parts[: next(i for i, p in enumerate(parts) if "nbcred-planted" in p) + 1])
            with contextlib.suppress(OSError):  # not root: the kernel could not read them anyway
                Path(name).parent.mkdir(parents=True, exist_ok=True)
                made.append(top)
                Path(name).write_text(PLANTED)
        yield PLANTED
    finally:
        decoy.kill()
        decoy.wait()
        for top in made:
            shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, planted: str) -> dict[str, GradeResult]:
    """Grade every case with two workers; fail if the batch loses or duplicates a result."""
    settings = Settings(home=tmp_path_factory.mktemp("home"),
                        broker_url=f"redis://:{planted}@127.0.0.1:6379/0")
    jobs = [GradeJob(str(HOSTILE_ASSESSMENT), str(case), case.name) for case in hostile_cases()]
    jobs += [GradeJob(str(GAMING_ASSESSMENT), str(case), f"gaming-{case.name}") for case in gaming_cases()]
    results: dict[str, GradeResult] = {}
    received: list[str] = []

    def collect(job: GradeJob, result: GradeResult) -> None:
        received.append(job.learner or "")
        results[job.learner or ""] = result

    start = time.monotonic()
    get_executor("local", settings=settings, workers=2).grade(jobs, on_result=collect)
    assert time.monotonic() - start < 120, "the hostile corpus must grade in under two minutes"
    assert sorted(received) == sorted(j.learner or "" for j in jobs)
    return results


def cell(result: GradeResult, grade_id: str) -> float:
    return next(c.score for c in result.cells if c.cell == grade_id)


def test_every_case_has_one_result(corpus: dict[str, GradeResult]) -> None:
    assert set(corpus) == {p.name for p in hostile_cases()} | {f"gaming-{p.name}" for p in gaming_cases()}
    assert len(corpus) >= 15 + 11


@pytest.mark.parametrize("case", ["infinite_loop", "memory_bomb", "fork_bomb", "network_local",
                                  "network_external", "read_outside", "read_host", "read_cmdlines",
                                  "fill_disk", "hide_errors"])
def test_attack_earns_nothing(corpus: dict[str, GradeResult], case: str) -> None:
    result = corpus[case]
    assert result.score == 0.0, f"{case}: the attack worked and earned {result.score}"
    assert not result.passed


@pytest.mark.parametrize("case", ["kill_kernel", "exit_kernel"])
def test_dead_kernel_is_a_clear_error(corpus: dict[str, GradeResult], case: str) -> None:
    result = corpus[case]
    assert result.score == 0.0
    assert any(DIED in e for e in result.errors), result.errors


def test_hidden_traceback_still_fails_the_test(corpus: dict[str, GradeResult]) -> None:
    assert cell(corpus["hide_errors"], "test_add") == 0.0
    assert cell(corpus["hide_errors"], "test_partial") == 0.0


def test_faked_results_are_not_credited(corpus: dict[str, GradeResult]) -> None:
    result = corpus["fake_output"]
    assert cell(result, "test_partial") == 0.0  # a forged "1.0" ahead of the real 0.5
    assert result.score < 2.5


def test_huge_output_is_graded_normally(corpus: dict[str, GradeResult]) -> None:
    assert corpus["huge_output"].score == FULL
    assert corpus["huge_output"].errors == []


def test_learner_kernelspec_is_ignored(corpus: dict[str, GradeResult]) -> None:
    assert corpus["wrong_kernel"].score == FULL


def test_corrupt_notebook_is_a_clear_error(corpus: dict[str, GradeResult]) -> None:
    result = corpus["corrupt_json"]
    assert result.score == 0.0
    assert any("not valid JSON" in e for e in result.errors), result.errors


def test_infinite_loop_is_stopped_by_the_cell_timeout(corpus: dict[str, GradeResult]) -> None:
    assert corpus["infinite_loop"].seconds < 15


def test_corpus_is_current() -> None:
    """The committed case notebooks are what ``make_cases.py`` writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_cases", HOSTILE_ASSESSMENT.parent / "make_cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.CASES) == sorted(p.name for p in hostile_cases())
    assert module.PLANTED == PLANTED and module.PLANTED_FILES == PLANTED_FILES
    assert all((HOSTILE_ASSESSMENT.parent / name / "adder.ipynb").is_file() for name in module.CASES)
    assert sorted(module.GAMING_CASES) == sorted(p.name for p in gaming_cases())
    assert all((GAMING_ASSESSMENT.parent / name / "gaming.ipynb").is_file() for name in module.GAMING_CASES)


def test_case_folders_exist() -> None:
    assert (Path(HOSTILE_ASSESSMENT) / "assessment.yaml").is_file()


# --- Gaming the tests (see make_cases.GAMING_CASES) ---------------------------------------------
#: For each trick, the test cells it passes under plain nbgrader (measured with the rewriting off),
#: and the kind of flag it leaves: "learner-object" (the test failed) or "contained".
GAMED: dict[str, tuple[tuple[str, ...], str]] = {
    "always_equal": (("test_squares", "test_length"), "learner-object"),
    "list_subclass": (("test_squares", "test_length"), "learner-object"),
    "truthy_result": (("test_squares",), "learner-object"),
    "fake_number": (("test_area",), "learner-object"),
    "fake_elements": (("test_squares", "test_length"), "learner-object"),
    "array_protocol": (("test_array",), "learner-object"),
    "class_trick": (("test_squares", "test_builtins"), "learner-object"),
    "redefine_builtins": (("test_builtins",), "contained"),
    "patch_libraries": (("test_area", "test_array", "test_frame"), "contained"),
    "patch_sys_modules": (("test_area", "test_array"), "contained"),
}


def test_honest_solution_is_not_flagged(corpus: dict[str, GradeResult]) -> None:
    result = corpus["gaming-honest"]
    assert result.score == result.max_score == 7.0
    assert result.integrity == []


@pytest.mark.parametrize("case", sorted(GAMED))
def test_gaming_trick_is_contained_and_flagged(corpus: dict[str, GradeResult], case: str) -> None:
    result = corpus[f"gaming-{case}"]
    gamed, kind = GAMED[case]
    assert {c: cell(result, c) for c in gamed} == dict.fromkeys(gamed, 0.0), f"{case} fooled a test"
    assert kind in {f.kind for f in result.integrity if f.cell in gamed}, result.integrity
    assert result.score <= 2.0 and not result.passed
    assert all(f.notebook == "gaming" and f.message for f in result.integrity)


def test_learner_object_failure_is_explained_even_with_hidden_tests(
        corpus: dict[str, GradeResult]) -> None:
    feedback = next(t for t in corpus["gaming-always_equal"].tests if t.cell == "test_squares")
    assert feedback.status == "failed"
    assert "IntegrityError" in feedback.message and "defined by code in your notebook" in feedback.message
    assert "squares(3)" not in feedback.message  # the hidden test itself stays hidden


def test_opted_out_cell_is_not_rewritten(corpus: dict[str, GradeResult]) -> None:
    # the opt-out is documented as letting learner objects through: Anything's __len__ answers 5
    assert cell(corpus["gaming-always_equal"], "test_opted_out") == 1.0
    assert cell(corpus["gaming-always_equal"], "test_length") == 0.0
