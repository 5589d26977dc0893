"""The notebook view: learner Markdown and outputs come out as markup that cannot run script.

Checked on the notebook-side cases of the hostile corpus (every kind of output and Markdown that
carried script into the instructor's page), by parsing the page: no script element, no event
handler, no URL but ``data:`` images and http(s)/mailto links, sizes as whole numbers.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nbcred.service.notebook_view import MAX_CELLS, MAX_TEXT_CHARS, ViewCache, render_notebook
from tests.execution.hostile_corpus import SCRIPT_MARKDOWN, SCRIPT_OUTPUTS, hostile_view_notebook
from tests.nbcred.web.conftest import SAMPLES

BEACON = "http://127.0.0.1:9"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "section", "pre", "span", "div",
                "p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "code", "em", "strong", "ul", "ol",
                "li", "table", "thead", "tbody", "tr", "th", "td", "b", "i", "br", "hr", "blockquote", "del"}
IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,",
                  "data:image/svg+xml;base64,")


class Audit(HTMLParser):
    """Everything in a page that could run script or load something."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.styles = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
        self.styles += tag == "style"
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction", "action"):
                self.problems.append(f"<{tag} {name}>")
            if name == "href" and not value.lower().startswith(("http://", "https://", "mailto:", "#")):
                self.problems.append(f"<{tag} href={value[:40]}>")
            if name == "src" and not value.startswith(IMAGE_PREFIXES):
                self.problems.append(f"<{tag} src={value[:40]}>")
            if name in ("width", "height") and not value.isdigit():
                self.problems.append(f"<{tag} {name}={value[:40]}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(page: str) -> Audit:
    found = Audit()
    found.feed(page)
    return found


def hostile() -> dict[str, object]:
    sample = json.loads((SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_text())
    return hostile_view_notebook(sample, BEACON)


def test_hostile_outputs_and_markdown_render_without_script() -> None:
    page = render_notebook(json.dumps(hostile()).encode(), "cleaning.ipynb")
    found = audit(page)
    assert found.problems == []
    assert found.styles == 1  # the page's own
    assert not re.search(r"<script|<[^>]*\son\w+\s*=|<[^>]*=\s*[\"']?javascript:", page, re.I)
    assert 'width="400' not in page
    assert page.count('src="data:image/svg+xml;base64,') == 1  # the SVG, as an image only
    assert "&lt;IPython.Javascript&gt;" in page  # a script output falls back to its text


def test_markdown_is_rendered_not_shown_as_html_source() -> None:
    page = render_notebook(json.dumps(hostile()).encode(), "cleaning.ipynb")
    assert "<h1>Cleaning a dataset with pandas</h1>" in page
    assert "<h2>1. Load the file (1 point)</h2>" in page
    assert "&lt;h1" not in page  # the defect: Markdown shown as raw HTML
    assert "<h1>Heading</h1>" in page  # the hostile heading keeps its text, loses its handler
    assert "def parse_amount(values):" in page  # code is shown, escaped


def test_every_case_of_the_corpus_is_covered() -> None:
    assert len(SCRIPT_OUTPUTS) >= 8 and len(SCRIPT_MARKDOWN) >= 4
    kinds = {mime for data, _ in SCRIPT_OUTPUTS.values() for mime in data}
    assert {"text/html", "image/svg+xml", "image/png", "text/markdown", "application/javascript"} <= kinds


@pytest.mark.parametrize("width", ["400 onerror=alert(1)", "12\" onload=\"x", 4e9, True, -3, "  "])
def test_image_size_from_metadata_is_a_number_or_dropped(width: object) -> None:
    cell = {"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="},
         "metadata": {"image/png": {"width": width, "height": 30}}}]}
    page = render_notebook(json.dumps({"cells": [cell]}).encode(), "t")
    assert audit(page).problems == []
    assert 'height="30"' in page and "width=" not in page


def test_render_is_bounded_and_cached(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "source": "x", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "y" * 1000}]}
    long = {"cell_type": "code", "source": "x", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "z" * (MAX_TEXT_CHARS + 5000)}]}
    big = {"nbformat": 4, "cells": [long] + [cell] * (MAX_CELLS + 499)}
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(big))
    cache = ViewCache(tmp_path / "cache")
    start = time.monotonic()
    page, key = cache.page(path, "big.ipynb")
    first = time.monotonic() - start
    assert "[500 more cells not shown]" in page
    assert "[5,000 more characters not shown]" in page
    assert len(page) < 4 * 1024 * 1024
    start = time.monotonic()
    again, same = cache.page(path, "big.ipynb")
    assert (again, same) == (page, key)
    assert time.monotonic() - start < first  # read from the cache, not rendered again
    assert len(list((tmp_path / "cache").glob("*.html"))) == 1


def test_tracebacks_and_warnings_name_files_not_server_folders() -> None:
    cell = {"cell_type": "code", "source": "f()", "outputs": [
        {"output_type": "error", "ename": "ValueError", "evalue": "bad",
         "traceback": ["\x1b[0;31mValueError\x1b[0m", "File /tmp/ipykernel_812/2815.py:3, in f()"]},
        {"output_type": "stream", "name": "stderr",
         "text": "/srv/nbcred/.venv/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning"}]}
    page = render_notebook(json.dumps({"cells": [cell]}).encode(), "t")
    assert "File 2815.py:3, in f()" in page and "frame.py:12: FutureWarning" in page
    assert "/tmp/" not in page and "site-packages" not in page and "\x1b" not in page
