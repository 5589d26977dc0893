"""The sandbox itself: who the kernel runs as, what it can see, reach and use."""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

from grader.errors import ExecutionError
from grader.forkserver import ForkedRunner
from grader.sandbox import SandboxedRunner, SandboxPolicy
from grader.sandbox_probe import Mechanism, SandboxReport, probe
from grader.spec import ExecutionLimits
from tests.grader.factory import code, notebook

PROBE = """
import json, os, resource, socket
facts = {"uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
         "work": os.path.exists("/work/main/grader"), "root": sorted(os.listdir("/root")),
         "env": sorted(k for k in os.environ if k.startswith("NBCRED")),
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
         "mem": resource.getrlimit(resource.RLIMIT_AS)[0],
         "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
         "home": os.access(os.environ["HOME"], os.W_OK), "venv": os.access(os.__file__, os.W_OK)}
try:
    socket.create_connection(("127.0.0.1", 6379), timeout=1); facts["redis"] = True
except OSError:
    facts["redis"] = False
print(json.dumps(facts))
"""


def _facts(runner: SandboxedRunner, tmp: Path) -> dict[str, object]:
    import json

    (tmp / "data.csv").write_text("a\n1\n")
    outcome = runner.run(notebook(code(PROBE)), workdir=tmp, limits=ExecutionLimits(memory_mb=700),
                         kernel_name="python3")
    assert outcome.error is None, outcome.error
    facts: dict[str, object] = json.loads(outcome.notebook.cells[0].outputs[0]["text"])
    return facts


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
@pytest.mark.parametrize("kind", ["sandboxed", "forked"])
def test_kernel_is_isolated(kind: str, forked_runner: ForkedRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBCRED_KEY_PASSPHRASE", "secret")
    runner = forked_runner if kind == "forked" else SandboxedRunner()
    workdir = Path(tempfile.mkdtemp(prefix="nbcred-test-"))
    facts = _facts(runner, workdir)
    assert facts["uid"] != 0 and facts["uid"] != os.getuid()
    assert facts["cwd"] == str(workdir)
    assert facts["files"] == ["data.csv"]
    assert facts["work"] is False
    assert facts["root"] == [".pyenv"] or facts["root"] == []
    assert facts["env"] == []
    assert facts["redis"] is False
    assert facts["nproc"] == ExecutionLimits().max_processes
    assert facts["mem"] == 700 * 1024 * 1024
    assert facts["pids"] == [1, 2], "the kernel must see only its namespace's init and itself"
    assert facts["home"] is True and facts["venv"] is False


VIEW = """
import json, os
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None
print(json.dumps({"top": listing("/"), "etc": listing("/etc"), "dev": listing("/dev"),
                  "usr": listing("/usr"), "local": listing("/usr/local"), "home": listing("/home"),
                  "passwd": open("/etc/passwd").read(), "tmp_writable": os.access("/tmp", os.W_OK),
                  "lib_writable": os.access("/usr/lib", os.W_OK)}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_kernel_sees_only_the_allow_list(forked_runner: ForkedRunner) -> None:
    import json

    workdir = Path(tempfile.mkdtemp(prefix="nbcred-test-"))
    outcome = forked_runner.run(notebook(code(VIEW)), workdir=workdir, limits=ExecutionLimits(),
                                kernel_name="python3")
    assert outcome.error is None, outcome.error
    view = json.loads(outcome.notebook.cells[0].outputs[0]["text"])
    # the Python environment is bound read-only where it lives, so its top folder shows up (the
    # checkout is /work/main here, somewhere else in a clean clone)
    environment = {Path(os.path.normpath(prefix)).parts[1] for prefix in (sys.prefix, sys.base_prefix)}
    assert set(view["top"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root",
                                "sys", "tmp", "usr", "var", "opt", "home"} | environment
    assert set(view["etc"]) <= {"passwd", "group", "hosts", "hostname", "ld.so.cache", "localtime",
                                "ssl", "fonts", "mime.types"}
    assert "root:" not in view["passwd"] and view["passwd"].startswith("nbcred-sandbox:")
    assert set(view["dev"]) == {"null", "zero", "full", "random", "urandom", "shm", "fd", "stdin",
                                "stdout", "stderr"}
    assert view["local"] is None and view["home"] is None  # not there at all
    assert set(view["usr"]) <= {"bin", "lib", "lib32", "lib64", "libx32", "share"}
    assert view["tmp_writable"] and not view["lib_writable"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_hidden_paths_are_covered_inside_the_allow_list(forked_runner: ForkedRunner) -> None:
    """A gradebook or catalogue kept inside the Python environment is still out of reach."""
    import shutil
    import sys
    import uuid

    from nbcred.executors.work import make_runner, private_paths
    from nbcred.settings import Settings

    planted = Path(sys.prefix) / f"nbcred-hidden-{uuid.uuid4().hex}"
    (planted / "catalogue").mkdir(parents=True)
    (planted / "catalogue" / "source.ipynb").write_text("hidden tests")
    (planted / "gradebook.sqlite").write_text("grades")
    reader = code(f"import os\nprint(sorted(os.listdir({str(planted)!r})) if os.path.isdir({str(planted)!r}) "
                  f"else 'absent', os.path.exists({str(planted / 'gradebook.sqlite')!r}))")
    settings = Settings(home=planted, catalogue=planted / "catalogue")
    try:
        seen = forked_runner.run(notebook(reader), workdir=Path(tempfile.mkdtemp(prefix="nbcred-test-")),
                                 limits=ExecutionLimits(), kernel_name="python3")
        assert "gradebook.sqlite" in seen.notebook.cells[0].outputs[0]["text"]  # allowed, unless hidden
        runner = make_runner("sandboxed", hide=private_paths(settings))
        assert isinstance(runner, SandboxedRunner) and str(planted) in runner.policy.hidden
        hidden = runner.run(notebook(reader), workdir=Path(tempfile.mkdtemp(prefix="nbcred-test-")),
                            limits=ExecutionLimits(), kernel_name="python3")
        assert hidden.notebook.cells[0].outputs[0]["text"].strip() == "[] False"
    finally:
        shutil.rmtree(planted)


def test_probe_reports_every_mechanism_with_a_reason() -> None:
    report = probe()
    names = {m.name for m in report.mechanisms}
    assert {"network", "filesystem", "user", "rlimits", "pidfd"} <= names
    assert all(m.reason for m in report.mechanisms)
    if os.geteuid() == 0:
        assert report.unavailable() == []


def test_missing_mechanism_is_announced_never_silent() -> None:
    report = SandboxReport((Mechanism("network", False, "unavailable: EPERM"),
                            Mechanism("filesystem", True, "ok"), Mechanism("user", True, "ok"),
                            Mechanism("rlimits", True, "ok")))
    with pytest.warns(RuntimeWarning, match="network: unavailable: EPERM"):
        runner = SandboxedRunner(report=report)
    assert runner.policy.network is False and runner.policy.user is True
    with pytest.raises(ExecutionError, match="network"):
        SandboxedRunner(report=report, policy=SandboxPolicy(strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SandboxedRunner(report=SandboxReport(tuple(Mechanism(n, True, "ok") for n in
                                                   ("network", "filesystem", "user", "rlimits"))))


def test_output_is_bounded(forked_runner: ForkedRunner) -> None:
    nb = notebook(code("for i in range(50_000):\n    print('y' * 100)"), code("41 + 1"))
    outcome = forked_runner.run(nb, workdir=Path(tempfile.mkdtemp(prefix="nbcred-test-")),
                                limits=ExecutionLimits(max_output_bytes=100_000), kernel_name="python3")
    kept = sum(len(o.get("text", "")) for c in outcome.notebook.cells for o in c.outputs)
    assert kept < 300_000
    assert "output truncated" in str(outcome.notebook.cells[0].outputs)
    assert outcome.notebook.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert outcome.replies == {0: "ok", 1: "ok"}


def test_forked_kernels_are_fresh(forked_runner: ForkedRunner) -> None:
    first = notebook(code("import numpy as np\nLEAK = np.random.rand()\nprint(LEAK)"))
    second = notebook(code("print('LEAK' in globals())"))
    runs = [forked_runner.run(copy.deepcopy(nb), workdir=Path(tempfile.mkdtemp(prefix="nbcred-test-")),
                              limits=ExecutionLimits(), kernel_name="python3")
            for nb in (first, first, second)]
    values = [r.notebook.cells[0].outputs[0]["text"] for r in runs]
    assert values[0] != values[1], "every fork must reseed numpy's global generator"
    assert values[2].strip() == "False"


FILL = """
import os
import sys
written = 0
try:
    for n in range(40):
        with open(f"{FOLDER}/fill-{n}.bin", "wb") as fh:
            fh.write(b"x" * (8 << 20))
        written += 8
except OSError as exc:
    print(written, type(exc).__name__)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
@pytest.mark.parametrize("kind", ["sandboxed", "forked"])
def test_scratch_disk_is_bounded_in_total(kind: str, forked_runner: ForkedRunner) -> None:
    """Files anywhere the kernel can write share one disk of ``disk_mb``; the host gets nothing."""
    runner = forked_runner if kind == "forked" else SandboxedRunner(policy=SandboxPolicy(disk_mb=64))
    limit = runner.policy.disk_mb
    workdir = Path(tempfile.mkdtemp(prefix="nbcred-test-"))
    nb = notebook(code(FILL.replace("{FOLDER}", ".")), code(FILL.replace("{FOLDER}", "/tmp")),
                  code(FILL.replace("{FOLDER}", "/dev/shm")))
    outcome = runner.run(nb, workdir=workdir, limits=ExecutionLimits(), kernel_name="python3")
    assert outcome.error is None, outcome.error
    totals = [int(cell.outputs[0]["text"].split()[0]) for cell in outcome.notebook.cells]
    assert 0 < totals[0] <= limit and sum(totals) <= limit, totals
    assert list(workdir.iterdir()) == [], "nothing the kernel writes reaches the host's disk"


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_cpu_limit_is_named_with_its_value(forked_runner: ForkedRunner) -> None:
    nb = notebook(code("x = 0\nwhile True:\n    x += 1"), code("print('never')"))
    outcome = forked_runner.run(nb, workdir=Path(tempfile.mkdtemp(prefix="nbcred-test-")),
                                limits=ExecutionLimits(cpu_seconds=1, cell_timeout=60), kernel_name="python3")
    assert outcome.died
    assert outcome.error is not None and "CPU-time limit of 1 s" in outcome.error, outcome.error
    assert outcome.limit == "cpu_seconds"  # what the feedback names, with the cell it stopped in
    assert 1 not in outcome.replies
