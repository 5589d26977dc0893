"""Build the labelled similarity corpus for pandas-cleaning: honest solutions and disguised copies.

Five authors wrote their solutions independently (``honest.py``); each copy takes one author's
code and disguises it the way a learner would:

* ``renamed`` — every variable, parameter and helper renamed;
* ``recommented`` — comments removed and new ones written;
* ``reordered`` — helper functions moved below the function that uses them, helpers reversed;
* ``restyled`` — other quotes, blank lines, ``return expr`` split into ``result = expr``;
* ``partial`` — half of the answers copied (renamed), the other half the copier's own;
* ``sliver`` — two answers copied, four the copier's own, two left unanswered.

``labels.json`` lists groups of submissions derived from one author: every pair inside a group is
a copy, every other pair is independent. Run from the repository
root::

    .venv/bin/python notebooks/similarity/make_corpus.py
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import re
import shutil
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from honest import AUTHORS, BORIS, Author  # noqa: E402

from grader.assessment import load_assessment  # noqa: E402

ASSESSMENT = REPO / "assessments" / "pandas-cleaning"
OUT = HERE / "pandas-cleaning"
STARTER = "    # YOUR CODE HERE\n    raise NotImplementedError()"
KEEP = {"pd", "np", "self", "path", "df", "values", "___split___"} | set(dir(__builtins__))

# The copier's own answers for the half of ``partial`` that is not copied.
FAY: Author = {
    "missing_report": ("", '''    s = df.isna().sum()
    s = s[s.gt(0)]
    s = s.sort_values(ascending=False, kind="stable")
    return s'''),
    "fill_missing": ("", '''    t = df.dropna(subset="order_date").copy()
    t["quantity"] = t["quantity"].replace({pd.NA: 1})
    t["amount"] = t.groupby("region")["amount"].transform(lambda a: a.fillna(a.median()))
    return t'''),
    "deduplicate": ("", '''    t = df.drop_duplicates().iloc[::-1]
    t = t.drop_duplicates(subset="order_id").iloc[::-1]
    return t.sort_values("order_id").reset_index(drop=True)'''),
    "clean_orders": ("", '''    t = load_orders(path)
    for f in (tidy_text, fix_types, deduplicate, fill_missing):
        t = f(t)
    return t.reset_index(drop=True)'''),
}
SPLIT = "def ___split___():"
COMMENTS = ["# work on a copy", "# handle the edge cases", "# as asked in the task", "# tidy up",
            "# this is the main step", "# check this again later"]


def _bound(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def rename(code: str, grade_id: str) -> str:
    """Rename every name the code binds (not the assessment's function, pd/np or builtins)."""
    names = sorted(_bound(code) - KEEP - {grade_id})
    mapping = {n: f"{n[:1]}{'x' if len(n) > 1 else ''}_{i}" for i, n in enumerate(names)}
    out = []
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    for i, tok in enumerate(tokens):
        text = tok.string
        if tok.type == tokenize.NAME and text in mapping and not keyword.iskeyword(text) and (
                i == 0 or tokens[i - 1].string != "."):
            text = mapping[text]
        out.append(tok._replace(string=text))
    return tokenize.untokenize(out)


def recomment(code: str, grade_id: str) -> str:
    lines = [re.sub(r"\s+#.*$", "", line) for line in code.splitlines()
             if not line.strip().startswith("#")]
    result = []
    for i, line in enumerate(lines):
        if line.startswith("    ") and not line.startswith("     ") and i % 3 == 1:
            result.append("    " + COMMENTS[(i + len(grade_id)) % len(COMMENTS)])
        result.append(line)
    return "\n".join(result)


def restyle(code: str, grade_id: str) -> str:
    swapped = code.translate(str.maketrans({'"': "'", "'": '"'}))
    out = []
    for line in swapped.splitlines():
        match = re.match(r"^(\s+)return (.+)$", line)
        if match and "(" in match.group(2) and not line.rstrip().endswith(("(", ",")):
            out += [f"{match.group(1)}result = {match.group(2)}", "", f"{match.group(1)}return result"]
        else:
            out.append(line)
    return "\n".join(out)


def write(name: str, answers: Author) -> None:
    release = load_assessment(ASSESSMENT).notebooks[0].release
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and STARTER in cell.source:
            head, tail = cell.source.split(STARTER, 1)
            prelude, body = answers[grade_id]
            cell.source = f"{prelude}{head}{body}{tail}" if not body.startswith("\0") else \
                f"{head}{body[1:]}{tail}\n\n{prelude}"
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "cleaning.ipynb")


Transform = Callable[[str, str], str]


def disguise(author: Author, *transforms: Transform, reorder: bool = False) -> Author:
    answers: dict[str, tuple[str, str]] = {}
    for grade_id, (prelude, body) in author.items():
        joined = f"{prelude}\n{SPLIT}\n{body}"  # one cell, so a helper is renamed everywhere
        for transform in transforms:
            joined = transform(joined, grade_id)
        prelude, body = joined.split(f"\n{SPLIT}\n")
        prelude = prelude.lstrip("\n")
        if reorder and prelude:
            prelude = "\n\n".join(reversed(prelude.strip().split("\n\n"))) + "\n"
            body = "\0" + body  # the helpers go below the function
        answers[grade_id] = (prelude, body)
    return answers


def build() -> dict[str, list[list[str]]]:
    """Write every submission and ``labels.json``; return the labels."""
    shutil.rmtree(OUT, ignore_errors=True)
    for name, author in AUTHORS.items():
        write(name, author)
    copies = {
        "anna-disguised": ("anna", disguise(AUTHORS["anna"], rename, recomment, reorder=True)),
        "boris-disguised": ("boris", disguise(AUTHORS["boris"], rename, recomment, reorder=True)),
        "chen-restyled": ("chen", disguise(AUTHORS["chen"], rename, restyle)),
        "dara-restyled": ("dara", disguise(AUTHORS["dara"], recomment, restyle)),
        "emre-renamed": ("emre", disguise(AUTHORS["emre"], rename)),
        "boris-partial": ("boris", {**disguise(BORIS, rename), **disguise(FAY)}),
        "emre-sliver": ("emre", {**{k: v for k, v in disguise(AUTHORS["emre"], rename).items()
                                    if k in ("parse_amount", "tidy_text")}, **disguise(FAY)}),
    }
    for name, (_, answers) in copies.items():
        write(name, answers)
    groups: dict[str, list[str]] = {}
    for name, (source, _) in copies.items():
        groups.setdefault(source, [source]).append(name)
    groups["fay"] = ["boris-partial", "emre-sliver"]  # both hold the copier's own (FAY) answers
    labels = {"copy_groups": sorted(groups.values())}  # every pair inside a group is a copy
    (OUT / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")
    return labels


if __name__ == "__main__":
    print(json.dumps(build()))
