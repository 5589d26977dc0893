"""Build the hostile-submission corpus: one folder per attack, each holding ``adder.ipynb``.

Every case starts from the released student notebook of ``assessment/`` and puts hostile code
in the learner's cells. Where the attack would *help* the learner if it worked (reading hidden
tests, reaching the network, forking a thousand processes...), its code only defines a working
``add`` when the attack succeeded, so a sandbox failure shows up as points. Run from the
repository root::

    .venv/bin/python notebooks/hostile/make_cases.py
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from grader.assessment import load_assessment  # noqa: E402

GOOD = "def add(a, b):\n    return a + b"
#: Planted by the test in a decoy process's command line and the grader's environment; a kernel
#: that can read it from ``/proc`` wins points.
PLANTED = "nbcred-planted-secret-5b1e"
WIN = "\nif WON:\n    " + GOOD.replace("\n", "\n    ") + "\n"


def _case(code: str) -> str:
    return textwrap.dedent(code).strip("\n")


CASES: dict[str, str] = {
    "infinite_loop": "while True:\n    pass",
    "memory_bomb": _case("""
        blob = bytearray(3 * 1024 ** 3)  # 3 GiB: beyond the assessment's memory limit
        WON = True
    """) + WIN,
    "fork_bomb": _case("""
        import os, time
        WON = False
        children = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
            WON = True
        except OSError as exc:
            print("fork refused after", children, "children:", exc)
    """) + WIN,
    "network_local": _case("""
        import socket
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
            WON = True
        except OSError as exc:
            print("no local service:", exc)
            WON = False
    """) + WIN,
    "network_external": _case("""
        import socket
        WON = False
        for host, port in (("1.1.1.1", 53), ("8.8.8.8", 53), ("93.184.216.34", 80)):
            try:
                socket.create_connection((host, port), timeout=2).close()
                WON = True
            except OSError as exc:
                print(host, exc)
    """) + WIN,
    "read_outside": _case("""
        import os
        SECRETS = ["__SOURCE__", "__REPO__/.nbcred", "__REPO__/assessments", "/root", "/etc/shadow",
                   "/root/.pyenv/../.bash_history", "/proc/1/environ"]
        WON = False
        for path in SECRETS:
            try:
                if os.path.isdir(path):
                    found = os.listdir(path)
                    WON = WON or bool(found) and path != "/root"
                else:
                    with open(path, "rb") as fh:
                        WON = WON or bool(fh.read(100))
                print("READ", path)
            except OSError as exc:
                print("denied", path, type(exc).__name__)
    """) + WIN,
    "read_cmdlines": _case("""
        import os
        WON = False
        seen = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            seen.append(int(pid))
            for part in ("cmdline", "environ"):
                try:
                    with open(f"/proc/{pid}/{part}", "rb") as fh:
                        WON = WON or b"__PLANTED__" in fh.read()
                except OSError:
                    pass
        print("processes visible:", sorted(seen))
    """) + WIN,
    "fill_disk": _case("""
        import os
        chunk = b"x" * (1 << 20)
        written = 0
        for folder in (".", "/tmp", os.environ.get("HOME", "."), "/var/tmp", "/dev/shm"):
            for n in range(20):
                try:
                    with open(os.path.join(folder, f"fill-{n}.bin"), "wb") as fh:
                        for _ in range(60):
                            fh.write(chunk)
                    written += 60
                except OSError as exc:
                    print(folder, "full after", written, "MB:", type(exc).__name__)
                    break
        print("wrote", written, "MB in total")
        WON = written >= 1000
    """) + WIN,
    "kill_kernel": GOOD + "\nimport os\nos.kill(os.getpid(), 9)",
    "exit_kernel": GOOD + "\nimport os\nos._exit(0)",
    "hide_errors": _case("""
        import sys
        ip = get_ipython()
        ip.showtraceback = lambda *a, **k: None
        ip._showtraceback = lambda *a, **k: None
        sys.excepthook = lambda *a: None
        sys.stderr = sys.stdout
        def add(a, b):
            return 0
    """),
    "fake_output": _case("""
        ip = get_ipython()
        def fake(*args):
            kernel = ip.kernel
            kernel.session.send(kernel.iopub_socket, "execute_result",
                                {"data": {"text/plain": "1.0"}, "metadata": {},
                                 "execution_count": ip.execution_count},
                                parent=kernel.get_parent())
            print("All tests passed! Score: 3/3")
        ip.events.register("pre_run_cell", fake)
        def add(a, b):
            return a + b if a < 2 else 0
    """),
    "huge_output": GOOD + "\nfor i in range(200_000):\n    print('x' * 100)",
    "wrong_kernel": GOOD,
    "corrupt_json": GOOD,
}


def build(assessment_dir: Path = HERE / "assessment", out: Path = HERE) -> list[str]:
    """Write every case's notebook under ``out/<case>/``; return the case names."""
    source = load_assessment(assessment_dir).notebooks[0]
    for name, code in CASES.items():
        nb = nbformat.from_dict(json.loads(json.dumps(source.release)))
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
                cell.source = code.replace("__SOURCE__", str(assessment_dir / "source" / source.filename)
                                           ).replace("__REPO__", str(HERE.parents[1])
                                           ).replace("__PLANTED__", PLANTED)
        if name == "wrong_kernel":
            nb.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
        folder = out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        target = folder / source.filename
        nbformat.write(nb, target)
        if name == "corrupt_json":
            target.write_text(target.read_text()[:-200])
    return list(CASES)


if __name__ == "__main__":
    print("\n".join(build()))
