"""Where the hostile-submission corpus lives."""

from __future__ import annotations

from pathlib import Path

from tests.paths import ROOT

HOSTILE = ROOT / "notebooks" / "hostile"
HOSTILE_ASSESSMENT = HOSTILE / "assessment"
#: The secret ``make_cases.py`` writes into the ``read_cmdlines`` case (kept equal by a test).
PLANTED = "nbcred-planted-secret-5b1e"
#: Where the test plants files holding ``PLANTED`` for the ``read_host`` case (kept equal by a test).
PLANTED_FILES = ("/etc/nbcred-planted-5b1e/issuer-key.json",
                 "/usr/local/share/nbcred-planted-5b1e/gradebook.sqlite",
                 "/var/nbcred-planted-5b1e/catalogue/source/adder.ipynb",
                 "/nbcred-planted-5b1e/home/session-secret")
GAMING = HOSTILE / "gaming"
GAMING_ASSESSMENT = GAMING / "assessment"


def hostile_cases() -> list[Path]:
    """Every case folder of the hostile corpus."""
    return sorted(p for p in HOSTILE.iterdir() if p.is_dir() and p.name not in ("assessment", "gaming")
                  and not p.name.startswith(("_", ".")))


def gaming_cases() -> list[Path]:
    """Every case folder of the gaming corpus (submissions that try to fool the tests)."""
    return sorted(p for p in GAMING.iterdir() if p.is_dir() and p.name != "assessment")


# --- Notebook-side script injection (what a notebook view must never run) ------------------------
#: Each payload, if any browser ran it, would call the beacon, open a dialog, log to the console and
#: set ``window.__pwned`` — in whatever frame it ran. ``{js}`` is that script, ``{beacon}`` its URL.
SCRIPT_JS = ("window.__pwned='{name}';console.log('PWNED {name}');"
             "fetch('{beacon}/hit/{name}').catch(function(){{}});"
             "navigator.sendBeacon&&navigator.sendBeacon('{beacon}/hit/{name}-b');alert('{name}')")
#: Stored outputs (``{"mime": data, "metadata": ...}``) carrying script.
SCRIPT_OUTPUTS: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "img-width-onerror": ({"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                          {"image/png": {"width": "400 onerror={js_attr}", "height": "1 onload={js_attr}"}}),
    "html-script": ({"text/html": "<b>table</b><script>{js}</script>"}, {}),
    "html-onerror": ({"text/html": "<img src=x onerror=\"{js}\"><div onmouseover=\"{js}\">hover</div>"}, {}),
    "html-iframe-srcdoc": ({"text/html": "<iframe srcdoc=\"<script>{js}</script>\"></iframe>"}, {}),
    "html-css-import": ({"text/html": "<style>@import url('{beacon}/hit/css');</style>"
                                      "<link rel=stylesheet href='{beacon}/hit/link'>"}, {}),
    "svg-onload": ({"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload=\"{js}\">"
                                     "<script>{js}</script><rect width='10' height='10'/></svg>"}, {}),
    "markdown-output": ({"text/markdown": "[x](javascript:{js_url}) <img src=x onerror=\"{js}\">"}, {}),
    "javascript-output": ({"application/javascript": "{js}", "text/plain": "<IPython.Javascript>"}, {}),
    "object-embed": ({"text/html": "<object data='{beacon}/hit/object'></object>"
                                   "<embed src='{beacon}/hit/embed'>"}, {}),
}
#: Markdown cells carrying script.
SCRIPT_MARKDOWN: dict[str, str] = {
    "md-javascript-link": "[click me](javascript:{js_url}) and <a href=\"JaVaScRiPt:{js_url}\">me</a>",
    "md-html-onerror": "<img src=x onerror=\"{js}\"> <h1 onclick=\"{js}\">Heading</h1>",
    "md-script": "<script>{js}</script>\n\n<svg onload=\"{js}\"></svg>",
    "md-data-link": "<a href=\"data:text/html,<script>{js_url}</script>\">data</a>",
    "md-form": "<form action=\"{beacon}/hit/form\"><button>go</button></form>",
}
#: Code a learner's cell runs, so the executed notebook carries the same kinds of output.
SCRIPT_CODE = """\
from IPython.display import HTML, SVG, Image, Javascript, Markdown, display
_js = {js!r}
display(HTML("<script>" + _js + "</script><img src=x onerror=\\"" + _js + "\\">"))
import html as _html
_svg = "<svg xmlns='http://www.w3.org/2000/svg' onload=\\"" + _html.escape(_js) + "\\">"
display(SVG(_svg + "<rect width='5' height='5'/></svg>"))
display(Markdown("[run](javascript:" + _js.replace(' ', '%20') + ")"))
display(Javascript(_js))
display({{"image/png": "iVBORw0KGgo=", "text/plain": "img"}},
        metadata={{"image/png": {{"width": "400 onerror=" + _js.replace(' ', '')}}}}, raw=True)
"""


def script_values(name: str, beacon: str) -> dict[str, str]:
    js = SCRIPT_JS.format(name=name, beacon=beacon)
    return {"js": js, "js_attr": js.replace(" ", "").replace('"', "&quot;"),
            "js_url": js.replace(" ", "%20").replace("(", "%28").replace(")", "%29"), "beacon": beacon}


def _fill(value: object, values: dict[str, str]) -> object:
    if isinstance(value, str):
        out = value
        for key, text in values.items():
            out = out.replace("{" + key + "}", text)
        return out
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def hostile_view_notebook(notebook: dict[str, object], beacon: str) -> dict[str, object]:
    """``notebook`` (a JSON dict) with every script payload added: Markdown cells, stored outputs
    and a code cell whose outputs carry script once executed."""
    import copy

    hostile = copy.deepcopy(notebook)
    cells: list[dict[str, object]] = hostile["cells"]  # type: ignore[assignment]
    for name, text in SCRIPT_MARKDOWN.items():
        cells.append({"cell_type": "markdown", "metadata": {}, "id": f"x-{name}",
                      "source": str(_fill(text, script_values(name, beacon)))})
    outputs = []
    for name, (data, metadata) in SCRIPT_OUTPUTS.items():
        values = script_values(name, beacon)
        outputs.append({"output_type": "display_data", "data": _fill(data, values),
                        "metadata": _fill(metadata, values)})
    code = SCRIPT_CODE.format(js=SCRIPT_JS.format(name="executed", beacon=beacon))
    cells.append({"cell_type": "code", "metadata": {}, "id": "x-outputs", "execution_count": 1,
                  "source": code, "outputs": outputs})
    return hostile
