"""Write the ``nbgrader_config.py`` lines that plug the nbcred exchange into nbgrader and JupyterLab."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nbcred.errors import ConfigurationError
from nbcred.jupyter.client import check_url
from nbcred.jupyter.errors import NotConfigured

CONFIG_NAME = "nbgrader_config.py"
BEGIN = "# >>> nbcred exchange (written by `nbcred jupyter setup`) >>>"
END = "# <<< nbcred exchange <<<"
EXCHANGE_CLASSES: dict[str, str] = {
    "exchange": "nbcred.jupyter.exchange.Exchange",
    "list": "nbcred.jupyter.exchange.ExchangeList",
    "fetch_assignment": "nbcred.jupyter.exchange.ExchangeFetchAssignment",
    "submit": "nbcred.jupyter.exchange.ExchangeSubmit",
    "fetch_feedback": "nbcred.jupyter.exchange.ExchangeFetchFeedback",
}
_COURSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class SetupResult:
    """The configuration file written, whether it was new, and the lines that plug nbcred in."""

    path: Path
    created: bool
    lines: tuple[str, ...]


def config_lines(*, course_id: str = "nbcred", url: str | None = None) -> tuple[str, ...]:
    """The ``c.…`` lines: the course id and nbgrader's exchange classes (plus the URL when given)."""
    if not _COURSE.match(course_id):
        raise ConfigurationError(f"course id {course_id!r} is not valid: use letters, digits, '.', '_', '-'")
    lines = [f"c.CourseDirectory.course_id = {course_id!r}"]
    lines += [f"c.ExchangeFactory.{name} = {path!r}" for name, path in EXCHANGE_CLASSES.items()]
    if url:
        try:
            lines.append(f"c.Exchange.url = {check_url(url)!r}")
        except NotConfigured as exc:
            raise ConfigurationError(str(exc).replace("NBCRED_URL", "--url")) from exc
    return tuple(lines)


def write_config(*, directory: Path, course_id: str = "nbcred", url: str | None = None) -> SetupResult:
    """Add (or replace) nbcred's block in ``<directory>/nbgrader_config.py``, keeping everything else.

    ``directory`` is where Jupyter starts (its root folder): nbgrader reads the file from there.
    The token is never written: it comes from ``NBCRED_TOKEN`` in Jupyter's environment.
    """
    lines = config_lines(course_id=course_id, url=url)
    block = "\n".join([BEGIN, *lines, END]) + "\n"
    path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a folder: pass the folder Jupyter starts in")
    created = not path.exists()
    text = "" if created else path.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(END):].lstrip("\n")
    else:
        if text and not text.endswith("\n"):
            text += "\n"
        text = (text or "c = get_config()  # noqa: F821\n\n") + ("\n" if text else "") + block
    path.write_text(text, encoding="utf-8")
    return SetupResult(path=path, created=created, lines=lines)
