"""A learner's notebook as a compact, script-free HTML page, rendered once and cached by content.

Everything in a notebook is the learner's: sources, outputs and their metadata. Nothing is trusted:

* code, streams, tracebacks and plain text are escaped;
* Markdown (cells and ``text/markdown`` outputs) is rendered, then sanitised with nh3 (ammonia):
  no script, no event handler, no ``javascript:`` or ``data:`` links, no style sheet;
* ``text/html`` outputs are sanitised the same way (tables keep their structure);
* PNG/JPEG/GIF images become ``<img src="data:…">`` after their base64 is checked; a width or
  height from the output's metadata is kept only as a whole number, written quoted;
* SVG is shown only as an image (``<img src="data:image/svg+xml;base64,…">``), where a browser
  runs none of its script;
* JavaScript outputs and widgets are never rendered.

The page is meant to be served from ``/render/…`` with its own Content-Security-Policy (no script,
no request but ``data:`` images) inside an ``<iframe sandbox>``; the sanitising is a second wall.
Work is bounded: at most :data:`MAX_SOURCE_BYTES` of notebook are read, at most
:data:`MAX_CELLS` cells shown, each text output cut at :data:`MAX_TEXT_CHARS` and the page stops
adding outputs at :data:`MAX_PAGE_BYTES`. Pages are cached under ``<home>/cache/views`` by the
SHA-256 of the notebook's bytes, so asking again costs a file read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt

from nbcred.service.errors import TooLarge

#: Bump when the output changes: cached pages of an older renderer are not reused.
RENDERER = "nbview-2"
MAX_SOURCE_BYTES = 32 * 1024 * 1024
MAX_CELLS = 2_000
MAX_TEXT_CHARS = 64 * 1024
MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_PAGE_BYTES = 24 * 1024 * 1024
MAX_DIMENSION = 10_000
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
#: An absolute path in a traceback or a warning (kernel temp files, site-packages): the name is kept.
SERVER_PATH = re.compile(r"(?<![\w.:/-])/(?:[\w.+@~-]+/)+(?=[\w.+@~-])")

#: Tags a notebook's Markdown and HTML outputs may keep (no forms, frames, media or style).
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}
ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"}, "table": {"class"}, "tr": {"class"}, "div": {"class"}, "span": {"class"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:.5rem;color:#1b1b1b;background:#fff}
.cell{margin:0 0 .75rem;max-width:100%;overflow-x:auto}
.md img{max-width:100%}
pre{margin:0;padding:.4rem .5rem;white-space:pre-wrap;word-break:break-word;font:13px/1.4 monospace}
.source{background:#f4f5f7;border-left:3px solid #4a6fa5}
.prompt{color:#4a6fa5;user-select:none}
.out{border-left:3px solid #ccc;margin-top:2px}
.stderr,.error{background:#fdecea}
.out img{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}
.note{color:#555;font-style:italic}
"""


class _Page:
    """The page being written, with its byte budget."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.full = False

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > MAX_PAGE_BYTES:
            self.full = True


_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _attribute(tag: str, name: str, value: str) -> str | None:
    """Keep links to the web and embedded images only; sizes only as whole numbers."""
    if name == "href":
        return value if value.lower().startswith(("http://", "https://", "mailto:", "#")) else None
    if name == "src":
        return value if value.startswith(tuple(f"data:{m};base64," for m in IMAGE_TYPES)) else None
    if name in ("width", "height"):
        number = _dimension(value)
        return None if number is None else str(number)
    return value


def sanitise(fragment: str) -> str:
    """HTML from a notebook reduced to safe markup (nh3: no script, handler, style or bad URL)."""
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     attribute_filter=_attribute, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


def markdown_html(text: str) -> str:
    """Markdown (with inline HTML) rendered, then sanitised."""
    return sanitise(_markdown.render(text))


def _text(value: Any) -> str:
    """A notebook multiline string (a string or a list of strings) as one string."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _pre(text: str, css: str) -> str:
    text = ANSI.sub("", text)
    if css in ("error", "stderr"):
        text = SERVER_PATH.sub("", text)  # tracebacks and warnings name files, not server folders
    cut = len(text) > MAX_TEXT_CHARS
    shown = html.escape(text[:MAX_TEXT_CHARS])
    note = f'\n<span class="note">[{len(text) - MAX_TEXT_CHARS:,} more characters not shown]</span>' \
        if cut else ""
    return f'<pre class="{css}">{shown}{note}</pre>'


def _dimension(value: Any) -> int | None:
    """A width or height from output metadata as a whole number of pixels, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_DIMENSION else None


def _image(mime: str, data: str, meta: Any) -> str:
    compact = "".join(data.split())
    if len(compact) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return '<p class="note">[an image too large to show]</p>'
    if not BASE64.fullmatch(compact):
        return '<p class="note">[an image that is not valid base64]</p>'
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return '<p class="note">[an image that is not valid base64]</p>'
    return _img_tag(mime, compact, meta)


def _img_tag(mime: str, b64: str, meta: Any) -> str:
    size = ""
    if isinstance(meta, dict):
        for name in ("width", "height"):
            number = _dimension(meta.get(name))
            if number is not None:
                size += f' {name}="{number}"'
    return f'<img src="data:{mime};base64,{b64}" alt="output image"{size}>'


def _svg(data: str, meta: Any) -> str:
    raw = data.encode("utf-8", "replace")
    if len(raw) > MAX_IMAGE_BYTES:
        return '<p class="note">[an SVG image too large to show]</p>'
    return _img_tag("image/svg+xml", base64.b64encode(raw).decode("ascii"), meta)


def _rich(bundle: dict[str, Any], metadata: Any) -> str:
    """The best safe representation of a display_data / execute_result bundle."""
    for mime in IMAGE_TYPES:
        if isinstance(bundle.get(mime), (str, list)):
            meta = metadata.get(mime) if isinstance(metadata, dict) else None
            return _image(mime, _text(bundle[mime]), meta)
    if "image/svg+xml" in bundle:
        meta = metadata.get("image/svg+xml") if isinstance(metadata, dict) else None
        return _svg(_text(bundle["image/svg+xml"]), meta)
    if "text/html" in bundle:
        return f'<div class="html">{sanitise(_text(bundle["text/html"])[:MAX_TEXT_CHARS * 4])}</div>'
    if "text/markdown" in bundle:
        return f'<div class="md">{markdown_html(_text(bundle["text/markdown"])[:MAX_TEXT_CHARS])}</div>'
    if "text/plain" in bundle:
        return _pre(_text(bundle["text/plain"]), "plain")
    if any(isinstance(k, str) and ("javascript" in k or "widget" in k) for k in bundle):
        return '<p class="note">[an interactive output: not shown here]</p>'
    return ""


def _output(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    kind = output.get("output_type")
    if kind == "stream":
        css = "stderr" if output.get("name") == "stderr" else "stdout"
        return _pre(_text(output.get("text")), css)
    if kind == "error":
        trace = "\n".join(t for t in output.get("traceback", []) if isinstance(t, str)) \
            if isinstance(output.get("traceback"), list) else ""
        head = f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}"
        return _pre(trace or head, "error")
    if kind in ("display_data", "execute_result") and isinstance(output.get("data"), dict):
        return _rich(output["data"], output.get("metadata"))
    return ""


def _cell(cell: Any, page: _Page) -> None:
    if not isinstance(cell, dict):
        return
    kind = cell.get("cell_type")
    source = _text(cell.get("source"))
    if kind == "markdown":
        page.add(f'<section class="cell md">{markdown_html(source[:MAX_TEXT_CHARS * 4])}</section>')
        return
    if kind != "code":
        page.add(f'<section class="cell raw">{_pre(source, "raw")}</section>')
        return
    count = cell.get("execution_count")
    prompt = f"In [{count}]:" if isinstance(count, int) and not isinstance(count, bool) else "In [ ]:"
    page.add(f'<section class="cell code"><pre class="source"><span class="prompt">{prompt}</span> '
             f'{html.escape(source[:MAX_TEXT_CHARS])}</pre>')
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        if page.full:
            page.add('<p class="note">[further outputs not shown: the page is long enough]</p>')
            break
        shown = _output(output)
        if shown:
            page.add(f'<div class="out">{shown}</div>')
    page.add("</section>")


def render_notebook(raw: bytes, title: str) -> str:
    """A whole HTML page for the notebook ``raw`` (its bytes), or a page saying why it cannot be shown."""
    page = _Page()
    page.add(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
             f'</title><style>{STYLE}</style></head><body><main class="notebook">')
    cells = _cells(raw)
    if cells is None:
        page.add('<p class="note">This file cannot be shown: it is not a readable notebook.</p>')
    else:
        for number, cell in enumerate(cells):
            if number >= MAX_CELLS:
                page.add(f'<p class="note">[{len(cells) - MAX_CELLS:,} more cells not shown]</p>')
                break
            _cell(cell, page)
    page.add("</main></body></html>")
    return "".join(page.parts)


def _cells(raw: bytes) -> list[Any] | None:
    if len(raw) > MAX_SOURCE_BYTES:
        raise TooLarge(f"this notebook is larger than the {MAX_SOURCE_BYTES // 2**20} MiB that can be shown")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        return None
    return list(document["cells"])


class ViewCache:
    """Rendered pages on disk, keyed by the notebook's SHA-256; each rendered once per process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks = [threading.Lock() for _ in range(64)]  # striped: one per key prefix

    def page(self, path: Path, title: str) -> tuple[str, str]:
        """The page for the notebook at ``path`` and its ETag (the content key)."""
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise TooLarge(f"this notebook is larger than the {MAX_SOURCE_BYTES // 2**20} MiB "
                           "that can be shown")
        raw = path.read_bytes()
        key = hashlib.sha256(RENDERER.encode() + b"\0" + title.encode() + b"\0" + raw).hexdigest()
        cached = self.folder / f"{key}.html"
        with self._lock(key):
            if cached.is_file():
                return cached.read_text(encoding="utf-8"), key
            text = render_notebook(raw, title)
            _write_atomic(cached, text)
        return text, key

    def _lock(self, key: str) -> threading.Lock:
        return self._locks[int(key[:4], 16) % len(self._locks)]


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".view-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

