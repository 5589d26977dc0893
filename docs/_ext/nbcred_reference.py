"""Reference pages generated from the code at build time, so they cannot drift from it.

At ``builder-inited`` this writes three Markdown fragments into ``docs/_generated/`` (ignored by
git), which the hand-written pages include:

* ``settings.md`` from :class:`nbcred.settings.Settings` (the one declaration of every setting);
* ``cli.md`` from the typer app behind the ``nbcred`` console script (every command and option);
* ``api.md`` from the web service's OpenAPI document (every route under ``/api/v1`` and the rest).

``python docs/_ext/nbcred_reference.py DIR`` writes them without Sphinx.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GENERATED = HERE.parent / "_generated"

_CODE = re.compile(r"(``.+?``|`[^`]+`)")


def escape(text: str) -> str:
    """``text`` as literal Markdown: code spans kept, everything else that Markdown reads escaped."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\\*_<>\[\]|#])", r"\\\1", parts[i])
    return "".join(parts)


def _paragraphs(text: str) -> str:
    """A docstring as Markdown paragraphs (lines joined, blank lines kept)."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in
              re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(escape(b) for b in blocks if b)


# --- settings --------------------------------------------------------------------------------


def _default(name: str, info: Any) -> str:
    if info.default_factory is not None:
        return "computed (see the description)"
    value = info.default
    if value is None:
        return "unset"
    if "Secret" in type(value).__name__:
        return "a development value: set it in production"
    return f"`{value}`"


def _type(info: Any) -> str:
    shown = str(info.annotation)
    shown = re.sub(r"<class '([^']+)'>", r"\1", shown)
    shown = shown.replace("pathlib.Path", "path").replace("pydantic.types.SecretStr", "secret")
    shown = shown.replace("typing.", "").replace("NoneType", "None")
    return f"`{shown}`"


def _limits(info: Any) -> str:
    bounds = []
    for meta in info.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                bounds.append(f"{sign} {value}")
    return f" ({', '.join(bounds)})" if bounds else ""


def _settings_sections(cls: Any, prefix: str, in_code: str) -> list[str]:
    lines = []
    for name, info in cls.model_fields.items():
        env = f"{prefix}{name.upper()}"
        lines += [
            f"({setting_anchor(env)})=", f"### `{env}`", "",
            _paragraphs(info.description or ""), "",
            f"- type: {_type(info)}{_limits(info)}",
            f"- default: {_default(name, info)}",
            f"- in code: `{in_code}.{name}`", "",
        ]
    return lines


def settings_markdown() -> str:
    """One section per setting, in declaration order: the application's, then Celery's own."""
    from nbcred.executors.celery_app import CelerySettings
    from nbcred.settings import Settings

    lines = _settings_sections(Settings, "NBCRED_", "Settings")
    lines += ["## Celery-only settings", "",
              "Read by the Celery application and its workers (`nbcred/executors/celery_app.py`).", ""]
    lines += _settings_sections(CelerySettings, "NBCRED_CELERY_", "CelerySettings")
    return "\n".join(lines)


def setting_anchor(env: str) -> str:
    """The label of a setting's section: ``NBCRED_IDENTITY_SALT`` → ``setting-identity-salt``."""
    return "setting-" + env.removeprefix("NBCRED_").lower().replace("_", "-")


# --- command line ----------------------------------------------------------------------------


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _commands(group: Any, ctx: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    import typer

    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        sub = typer.Context(command, info_name=name, parent=ctx)
        yield (*path, name), command, sub
        if _is_group(command):
            yield from _commands(command, sub, (*path, name))


def _param(param: Any, ctx: Any) -> str:
    """One bullet: the option's names (or the argument's), then its help with type and default."""
    record = param.get_help_record(ctx)
    if record is None:
        names = " ".join(param.get_usage_pieces(ctx)) or param.name
        help_text = ""
    else:
        names, help_text = record
    return f"- `{names}`: {escape(help_text)}".rstrip(": ")


def cli_markdown() -> str:
    """Every command of ``nbcred``: usage, description, arguments and options."""
    import typer

    from nbcred.cli import app

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="nbcred")
    lines: list[str] = []
    for path, command, sub in _commands(root, ctx, ()):
        usage = " ".join(command.collect_usage_pieces(sub))
        level = "#" * min(2 + len(path), 4)
        lines += [f"{level} `nbcred {' '.join(path)}`", ""]
        if not _is_group(command):
            lines += ["```text", f"nbcred {' '.join(path)} {usage}".rstrip(), "```", ""]
        lines += [_paragraphs(command.help or ""), ""]
        params = [p for p in command.params if p.name != "help" and not getattr(p, "hidden", False)]
        if params:
            lines += [_param(p, sub) for p in params] + [""]
    return "\n".join(lines)


# --- HTTP API --------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the service publishes at ``/api/v1/openapi.json``."""
    from nbcred.settings import Settings
    from nbcred.web.app import create_app

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), catalogue=ROOT / "assessments", serve_grading=False)
        document: dict[str, Any] = create_app(settings).openapi()
        return json.loads(json.dumps(document))


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return str(schema.get("type", "any"))


def api_markdown(document: dict[str, Any] | None = None) -> str:
    """Every operation of the OpenAPI document: method, path, summary, parameters, body, answers."""
    document = document or openapi_document()
    lines: list[str] = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            lines += [f"### `{method.upper()} {path}`", ""]
            if op.get("summary"):
                lines += [f"**{escape(op['summary'])}**", ""]
            if op.get("description"):
                lines += [_paragraphs(op["description"]), ""]
            for param in op.get("parameters", []):
                where = param.get("in", "")
                required = ", required" if param.get("required") else ""
                kind = _schema_name(param.get("schema", {}))
                text = escape(param.get("description", ""))
                lines.append(f"- {where} `{param['name']}` ({kind}{required}) {text}".rstrip())
            body = op.get("requestBody", {}).get("content", {})
            for media, spec in body.items():
                lines.append(f"- body `{media}`: {_schema_name(spec.get('schema', {}))}")
            answers = ", ".join(f"{code} {escape(r.get('description', ''))}".strip()
                                for code, r in op.get("responses", {}).items())
            if answers:
                lines.append(f"- answers: {answers}")
            lines.append("")
    return "\n".join(lines)


# --- Sphinx ----------------------------------------------------------------------------------


def write_all(folder: Path = GENERATED) -> list[Path]:
    """Write the three fragments into ``folder`` (unchanged files are left alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in (("settings.md", settings_markdown), ("cli.md", cli_markdown),
                       ("api.md", api_markdown)):
        path = folder / name
        text = "<!-- generated by docs/_ext/nbcred_reference.py: do not edit -->\n\n" + make()
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def _generate(app: Any) -> None:
    write_all(Path(app.srcdir) / "_generated")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else GENERATED):
        print(written)
