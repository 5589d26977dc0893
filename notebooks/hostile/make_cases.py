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
#: Files the hostile test plants outside every folder a kernel needs (a gradebook, keys, a source
#: notebook and a session secret where an installation might keep them); a kernel that reads one
#: wins points. Only an allow-listed filesystem hides all of them.
PLANTED_FILES = ("/etc/nbcred-planted-5b1e/issuer-key.json",
                 "/usr/local/share/nbcred-planted-5b1e/gradebook.sqlite",
                 "/var/nbcred-planted-5b1e/catalogue/source/adder.ipynb",
                 "/nbcred-planted-5b1e/home/session-secret")
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
    "read_host": _case("""
        import os
        WON = False
        for path in __PLANTED_FILES__:
            try:
                with open(path, "rb") as fh:
                    WON = WON or b"__PLANTED__" in fh.read()
                print("READ", path)
            except OSError as exc:
                print("denied", path, type(exc).__name__)
        for path in ("/etc/passwd", "/etc/group"):  # the host's accounts
            try:
                with open(path) as fh:
                    WON = WON or "root:" in fh.read()
            except OSError as exc:
                print("denied", path, type(exc).__name__)
        for folder in ("/usr/local", "/etc/ssl/private", "/home", "/opt", "/srv", "/var/lib", "/boot"):
            try:
                WON = WON or bool(os.listdir(folder))
                print("LISTED", folder)
            except OSError as exc:
                print("denied", folder, type(exc).__name__)
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
                                           ).replace("__PLANTED_FILES__", repr(PLANTED_FILES)
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




# --- Gaming the tests: objects and patches that make assertions pass without the work -----------
# A second small assessment (``gaming/assessment``) whose tests use the constructs graders rely on
# (==, len, indexing, float, math.isclose, numpy.allclose, pandas.testing, isinstance, sorted,
# sum, all, any, round); each case answers with objects or patches instead of computing.

GAMING = HERE / "gaming"
GAMING_RELEASED = ("import math\nimport numpy as np\nimport pandas as pd\n"
                   "from pandas.testing import assert_frame_equal")
GAMING_SOLUTION = _case("""
    def squares(n):
        ### BEGIN SOLUTION
        return [i * i for i in range(1, n + 1)]
        ### END SOLUTION

    def area(r):
        ### BEGIN SOLUTION
        return math.pi * r * r
        ### END SOLUTION

    def scaled(xs):
        ### BEGIN SOLUTION
        return np.asarray(xs, dtype=float) / 2
        ### END SOLUTION

    def clean(df):
        ### BEGIN SOLUTION
        return df.dropna().reset_index(drop=True)
        ### END SOLUTION
""")
GAMING_TESTS = {
    "test_squares": "assert squares(10) == [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]\n"
                    "### BEGIN HIDDEN TESTS\nassert squares(3)[2] == 9\n### END HIDDEN TESTS",
    "test_length": "assert len(squares(5)) == 5\nassert squares(5) != [1, 4, 9, 16]",
    "test_area": "import math\nassert math.isclose(area(2), 12.566370614359172)\n"
                 "assert abs(area(1) - math.pi) < 1e-9",
    "test_array": "assert np.allclose(scaled([1, 2, 3]), [0.5, 1.0, 1.5])",
    "test_frame": "frame = clean(pd.DataFrame({'a': [1.0, None, 3.0]}))\n"
                  "assert isinstance(frame, pd.DataFrame)\n"
                  "assert_frame_equal(frame, pd.DataFrame({'a': [1.0, 3.0]}))",
    "test_builtins": "result = squares(4)\nassert isinstance(result, list)\n"
                     "assert sorted(result) == [1, 4, 9, 16] and sum(result) == 30\n"
                     "assert all(x > 0 for x in result) and any(x == 16 for x in result)\n"
                     "assert round(area(1), 2) == 3.14",
    # the documented opt-out: this cell is not rewritten, so learner objects are not checked
    "test_opted_out": "# nbcred: allow-learner-objects\nassert len(squares(5)) == 5",
}
_ANYTHING = _case("""
    class Anything:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return True
        def __getitem__(self, key):
            return Anything()
        def __len__(self):
            return 5
        def __float__(self):
            return math.pi
        def __sub__(self, other):
            return 0.0
        def __lt__(self, other):
            return True
        def __gt__(self, other):
            return True
        def __round__(self, n=0):
            return 3.14
    def squares(n):
        return Anything()
    def area(r):
        return Anything()
    def scaled(xs):
        return Anything()
    def clean(df):
        return Anything()
""")
_WRONG = "def squares(n):\n    return [0] * n\ndef area(r):\n    return 0.0\n" \
         "def scaled(xs):\n    return xs\ndef clean(df):\n    return df\n"
GAMING_CASES: dict[str, str] = {
    "honest": GAMING_SOLUTION,
    "always_equal": _ANYTHING,
    "list_subclass": _case("""
        class Squares(list):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return True
            def __len__(self):
                return 5
        def squares(n):
            return Squares([0, 0, 9])
    """),
    "truthy_result": _case("""
        class Yes:
            def __bool__(self):
                return True
        class Fake:
            def __eq__(self, other):
                return Yes()
            __ne__ = __eq__
            def __getitem__(self, key):
                return Fake()
        def squares(n):
            return Fake()
    """),
    "fake_number": _case("""
        class Number:
            def __float__(self):
                return 12.566370614359172
            def __sub__(self, other):
                return 0.0
            def __round__(self, n=0):
                return 3.14
        def area(r):
            return Number()
    """),
    "fake_elements": _case("""
        class Same:
            def __eq__(self, other):
                return True
            def __gt__(self, other):
                return True
            def __lt__(self, other):
                return False
            def __hash__(self):
                return 0
        def squares(n):
            return [Same() for _ in range(n)]
    """),
    "array_protocol": _case("""
        class Agree:
            def __array_function__(self, func, types, args, kwargs):
                return True
        def scaled(xs):
            return Agree()
    """),
    "redefine_builtins": _WRONG + _case("""
        len = lambda obj: 5
        isinstance = lambda obj, cls: True
        sorted = lambda xs: [1, 4, 9, 16]
        sum = lambda xs: 30
        all = any = lambda xs: True
        abs = lambda x: 0.0
        round = lambda x, n=0: 3.14
    """),
    "patch_libraries": _WRONG + _case("""
        import numpy, pandas.testing
        math.isclose = lambda *args, **kwargs: True
        np.allclose = lambda *args, **kwargs: True
        numpy.allclose = np.allclose
        pandas.testing.assert_frame_equal = lambda *args, **kwargs: None
        assert_frame_equal = pandas.testing.assert_frame_equal
    """),
    "patch_sys_modules": _WRONG + _case("""
        import sys, types
        fake = types.ModuleType("math")
        fake.isclose = lambda *args, **kwargs: True
        fake.pi = 0.0
        sys.modules["math"] = fake
        math = fake
        class FakeNumpy:
            def allclose(self, *args, **kwargs):
                return True
        np = FakeNumpy()
        sys.modules["numpy"] = np
    """),
    "class_trick": _case("""
        class FakeFrame:
            __class__ = property(lambda self: pd.DataFrame)
        class FakeList:
            @property
            def __class__(self):
                return list
            def __iter__(self):
                return iter([1, 4, 9, 16])
        def squares(n):
            return FakeList()
        def area(r):
            return math.pi * r * r
        def clean(df):
            return FakeFrame()
    """),
}


def build_gaming(out: Path = GAMING) -> list[str]:
    """Write the gaming assessment and one folder per gaming case; return the case names."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def meta(grade_id: str, *, grade: bool, solution: bool, points: float = 0) -> dict[str, object]:
        nbg: dict[str, object] = {"grade": grade, "grade_id": grade_id, "locked": not solution,
                                  "schema_version": 3, "solution": solution, "task": False}
        if grade:
            nbg["points"] = points
        return {"nbgrader": nbg}

    cells = [new_markdown_cell("# Gaming the tests\nWrite the four functions."),
             new_code_cell(GAMING_RELEASED, metadata=meta("setup", grade=False, solution=False)),
             new_code_cell(GAMING_SOLUTION, metadata=meta("answer", grade=False, solution=True))]
    cells += [new_code_cell(src, metadata=meta(gid, grade=True, solution=False, points=1))
              for gid, src in GAMING_TESTS.items()]
    for cell in cells:  # stable ids: rebuilding the corpus changes nothing
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id", "intro").replace("_", "-")
    source = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    root = out / "assessment"
    (root / "source").mkdir(parents=True, exist_ok=True)
    nbformat.write(source, root / "source" / "gaming.ipynb")
    rubric = "\n".join(f"  - cell: gaming/{gid}\n    competency: honesty" for gid in GAMING_TESTS)
    (root / "assessment.yaml").write_text(
        "id: assessment\ntitle: Gaming the tests (hostile-submission corpus)\nversion: \"1\"\n"
        "description: Submissions answer with objects and patches instead of computing; see "
        "notebooks/hostile/make_cases.py.\ncompetencies:\n  - id: honesty\n    name: Compute the answers\n"
        f"rubric:\n{rubric}\nexecution:\n  cell_timeout: 10\n  notebook_timeout: 30\n")
    release = load_assessment(root).notebooks[0].release
    for name, code in GAMING_CASES.items():
        nb = nbformat.from_dict(json.loads(json.dumps(release)))
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
                cell.source = code
        folder = out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "gaming.ipynb")
    return list(GAMING_CASES)


if __name__ == "__main__":
    print("\n".join(build() + build_gaming()))
