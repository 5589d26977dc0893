"""The in-process runner's children: cloned straight into their namespaces, built from the
template's shell, and still nothing shared between two notebooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.forkserver import ForkedRunner
from grader.inprocess_runner import InProcessRunner
from grader.spec import ExecutionLimits


@pytest.fixture(scope="module")
def runner() -> Iterator[InProcessRunner]:
    runner = InProcessRunner()
    yield runner
    runner.close()


def _run(runner: ForkedRunner, *cells: str) -> list[Any]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    outcome = runner.run(notebook, workdir=runner.new_workdir(), limits=ExecutionLimits(),
                         kernel_name="python3")
    assert outcome.error is None, outcome.error
    return [cell.outputs for cell in outcome.notebook.cells]


def _text(outputs: list[Any]) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _status(pid: int, field: str) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split()[1:]
    return []


def test_the_templates_child_is_the_namespaces_init_and_the_notebook_its_only_child(
        runner: InProcessRunner) -> None:
    _run(runner, "1")  # the template is running
    assert runner.template._process is not None
    template = runner.template._process.pid
    seen: dict[str, Any] = {}

    def look() -> None:
        time.sleep(1.5)
        chains = []
        for child in _children(template):
            grandchildren = _children(child)
            chains.append({"child": child, "nspid": _status(child, "NSpid"),
                           "same_pid_ns": Path(f"/proc/{child}/ns/pid").resolve()
                           == Path(f"/proc/{template}/ns/pid").resolve(),
                           "grandchildren": grandchildren,
                           "deeper": [g for c in grandchildren for g in _children(c)]})
        seen["chains"] = chains

    watcher = threading.Thread(target=look)
    watcher.start()
    outputs = _run(runner, "import json, os, time\n"
                           "print(json.dumps([os.getpid(), os.getppid()]))\ntime.sleep(3)")
    watcher.join()
    assert json.loads(_text(outputs[0])) == [2, 1]  # the notebook is pid 2, its parent the init
    running = [c for c in seen["chains"] if c["grandchildren"]]
    assert running, seen
    for chain in running:  # the running notebook's init, and the spare's (already forked)
        assert chain["nspid"][-1] == "1" and len(chain["nspid"]) == 2  # pid 1 in its own namespace
        assert not chain["same_pid_ns"]
        assert len(chain["grandchildren"]) == 1 and chain["deeper"] == []


def test_the_shell_built_by_the_template_is_this_childs_own(runner: InProcessRunner) -> None:
    probe = "\n".join((
        "import os, sys, json",
        "ip = get_ipython()",
        "prepared = sys.modules['grader.inprocess']._PREPARED",
        "print(json.dumps({'prepared': ip is prepared.get('shell'), 'home': os.environ['HOME'],",
        "  'profile': ip.profile_dir.location, 'start': ip.starting_dir, 'cwd': os.getcwd(),",
        "  'dh': [str(d) for d in _dh], 'term': os.environ.get('TERM'),",
        "  'pager': os.environ.get('PAGER'), 'home_dir': ip.home_dir,",
        "  'connection': ip.config.IPKernelApp.connection_file, 'count': ip.execution_count,",
        "  'names': sorted(k for k in ip.user_ns if not k.startswith('_'))}))"))
    first = _run(runner, "leftover = 41", probe)
    second = _run(runner, probe)
    for outputs in (first[1], second[0]):
        seen = json.loads(_text(outputs))
        assert seen["prepared"] is True
        assert seen["profile"] == f"{seen['home']}/.ipython/profile_default"
        assert seen["home_dir"] == seen["home"] and seen["start"] == seen["cwd"] == seen["dh"][0]
        assert seen["term"] == "xterm-color" and seen["pager"] == "cat"
        assert seen["connection"].endswith("/kernel.json")
    one, two = json.loads(_text(first[1])), json.loads(_text(second[0]))
    assert "leftover" in one["names"] and "leftover" not in two["names"]  # nothing shared
    assert one["count"] == two["count"] + 1  # each notebook counts from its own start
    assert one["home"] != two["home"] and one["cwd"] != two["cwd"]
