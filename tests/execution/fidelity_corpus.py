"""Display-heavy notebooks that a kernel and the in-process runner must execute alike.

Each entry is (name, cells, cell timeout). The cells cover what notebooks show: pandas tables,
matplotlib figures (implicit and ``plt.show()``), rich reprs, ``IPython.display`` with display
ids and ``clear_output``, warnings, stderr, output from threads and from file descriptors,
magics (line, cell, shell), errors of every kind, ``input()``, top-level ``await``, a timed-out
cell and ``exit()``. :func:`normalised` removes what differs between any two runs of the same
notebook (memory addresses, timings, how a stream was split into messages).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PANDAS = [
    "import pandas as pd\nimport numpy as np\ndf = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})\ndf",
    "df.describe()",
    "display(df.head(2)); print(df.shape)",
    "df.style.highlight_max(subset=['a'])",
    "pd.Series([1.5, 2.5], name='s')",
    "df['a'].sum()",
    "np.arange(6).reshape(2, 3)",
    "df.b.astype(int)",
]

MATPLOTLIB = [
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])",
    "fig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\nplt.show()",
    "plt.figure(figsize=(2, 2)); plt.scatter([1], [1]); plt.title('one');",
    "%matplotlib inline\nplt.hist([1, 1, 2, 3, 3, 3])\nplt.close('all')",
    "fig = plt.figure(); fig",
]

RICH = [
    "from IPython.display import (display, HTML, Markdown, Latex, JSON, Math, Image, Pretty,\n"
    "    clear_output, update_display)",
    "display(HTML('<b>bold</b>'), Markdown('*it*'), Latex(r'$x^2$'), Math('y'))",
    "JSON({'a': [1, 2]})",
    "class Card:\n    def _repr_html_(self):\n        return '<div>card</div>'\n"
    "    def _repr_markdown_(self):\n        return '**card**'\n"
    "    def __repr__(self):\n        return 'Card()'\nCard()",
    "class Own:\n    def _ipython_display_(self):\n        print('displayed myself')\nOwn()",
    "class Bad:\n    def _repr_html_(self):\n        raise ValueError('broken repr')\nBad()",
    "h = display(Pretty('first'), display_id='d1')\nupdate_display(Pretty('second'), display_id='d1')",
    "h.update(Pretty('third'))",
    "print('gone'); clear_output(); print('kept')",
    "print('a'); clear_output(wait=True); print('b')",
    "display({'text/plain': 'raw', 'text/html': '<i>raw</i>'}, raw=True)",
    "_",
    "Out[3]",
    "x = 5\nx;",
    "1; 2",
]

STREAMS = [
    "import sys, warnings\nprint('out'); print('err', file=sys.stderr)",
    "warnings.warn('careful, deprecated', DeprecationWarning)\nwarnings.warn('careful')",
    "import threading\nfor i in range(3):\n    t = threading.Thread(target=print, args=(f't{i}',))\n"
    "    t.start(); t.join()",
    "worker = threading.Thread(target=lambda: sys.stderr.write('from a thread\\n'))\n"
    "worker.start(); worker.join()",
    "import os\nos.write(1, b'fd one\\n'); os.write(2, b'fd two\\n');",
    "os.system('echo shell out; echo shell err >&2')",
    "import subprocess\nsubprocess.run(['echo', 'sub'], check=True)",
    "print('no newline', end='')",
    "import logging\nlogging.getLogger('x').warning('logged')",
    "sys.stdout.write('w1\\n'); sys.stdout.flush(); sys.stderr.write('w2\\n')",
    "print('\\u00e9\\u4e2d\\U0001f600')",
    "for i in range(3):\n    print(i, end='\\r')\nprint()",
]

MAGICS = [
    "%time sum(range(100))",
    "%%capture captured\nprint('hidden')",
    "captured.stdout",
    "a_name = 1\n%who",
    "%env NBCRED_FIDELITY=1",
    "!echo bang",
    "files = !ls /\n'tmp' in files",
    "%%writefile out.txt\nhello file",
    "%cat out.txt",
    "%%html\n<p>cell magic</p>",
    "%pwd",
    "%lsmagic",
    "%xmode Plain\n1/0",
    "%xmode Context\n[][1]",
    "%config InlineBackend.figure_format = 'png'",
    "%store a_name",
    "%history -l 2",
    "%nosuchmagic",
    "import math\nmath.sqrt?",
    "%timeit -n1 -r1 pass",
    "{k: sorted(v) for k, v in get_ipython().config.items()}",
    "from traitlets.config import Application\ntype(Application.instance()).__name__",
]

ERRORS = [
    "def f():\n    raise KeyError('missing')\nf()",
    "def g(x):\n    return 1 / x\n[g(i) for i in (1, 0)]",
    "if True\n    pass",
    "undefined_name + 1",
    "assert 1 == 2, 'not equal'",
    "raise SystemExit(3)",
    "class Custom(Exception):\n    pass\ntry:\n    int('x')\n"
    "except ValueError as e:\n    raise Custom('wrapped') from e",
    "e = ValueError('noted'); e.add_note('a note'); raise e",
    "input('your name? ')",
    "import getpass\ngetpass.getpass()",
    "import asyncio\nawait asyncio.sleep(0.01)\n'awaited'",
    "asyncio.run(asyncio.sleep(0))",
    "import sys; sys.argv[0]",
    "raise KeyboardInterrupt",
    "get_ipython().__class__.__name__",
    "exc = None\ntry:\n    1/0\nexcept Exception as err:\n    get_ipython().showtraceback()",
    "'still running'",
]

TIMEOUT = [
    "print('before')",
    "import time\nprint('start'); time.sleep(30)",
    "'after the timeout'",
]

EXIT = [
    "print('bye')",
    "exit()",
    "'never runs'",
]

CORPUS: list[tuple[str, list[str], float]] = [
    ("pandas", PANDAS, 30.0), ("matplotlib", MATPLOTLIB, 30.0), ("rich", RICH, 30.0),
    ("streams", STREAMS, 30.0), ("magics", MAGICS, 30.0), ("errors", ERRORS, 30.0),
    ("timeout", TIMEOUT, 1.5), ("exit", EXIT, 30.0),
]


def notebook(cells: list[str]) -> NotebookNode:
    """A notebook of these code cells (and a markdown cell, which no runner executes)."""
    nb = new_notebook(cells=[new_markdown_cell("# corpus"), *(new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.from_dict(copy.deepcopy(nb))


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_TIMING = re.compile(r"[-+\d.e]*\d\s*(ns|\u00b5s|\u03bcs|us|ms|s)\b")
_PID_PATH = re.compile(r"ipykernel_\d+")
_TMPDIR = re.compile(r"/tmp/nbcred-run-[A-Za-z0-9_]+")
_STYLER = re.compile(r"T_[0-9a-f]{5}")  # pandas' Styler names its table with a random id


def _text(value: str) -> str:
    for pattern, repl in ((_ADDRESS, "0xADDR"), (_TIMING, "TIME"), (_PID_PATH, "ipykernel_PID"),
                          (_TMPDIR, "/tmp/RUN"), (_STYLER, "T_ID")):
        value = pattern.sub(repl, value)
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def normalised(cell: NotebookNode) -> dict[str, Any]:
    """A code cell's execution count and outputs; each run of consecutive stream outputs becomes
    one stdout then one stderr output (how text was cut into messages, and the order in which
    a kernel's two streams arrived, vary from run to run — nbclient's ``coalesce_streams`` does
    the same)."""
    outputs: list[dict[str, Any]] = []
    run: dict[str, str] = {}

    def end_run() -> None:
        outputs.extend({"output_type": "stream", "name": name, "text": run[name]}
                       for name in ("stdout", "stderr") if name in run)
        run.clear()

    cells_outputs = [_clean(dict(output)) for output in cell.get("outputs", [])]
    # Text a child process writes to the file descriptors reaches a kernel through ipykernel's
    # capture thread, which may forward it just after the cell's result: a stream that follows
    # the execute_result is taken as written before it (which is when it was written).
    results = [i for i, out in enumerate(cells_outputs) if out["output_type"] == "execute_result"]
    if results:
        last = results[-1]
        late = [out for out in cells_outputs[last + 1:] if out["output_type"] == "stream"]
        if late and len(late) == len(cells_outputs) - last - 1:
            cells_outputs = cells_outputs[:last] + late + [cells_outputs[last]]
    for out in cells_outputs:
        if out["output_type"] == "stream":
            run[out["name"]] = run.get(out["name"], "") + out["text"]
            continue
        end_run()
        outputs.append(out)
    end_run()
    return {"execution_count": cell.get("execution_count"), "outputs": outputs}
