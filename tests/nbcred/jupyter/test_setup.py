"""``nbcred jupyter setup`` writes the lines docs/jupyterlab.md shows, keeps the rest of the file
and is idempotent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbgrader.exchange import ExchangeFactory, abc
from traitlets.config.loader import PyFileConfigLoader
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.errors import ConfigurationError
from nbcred.jupyter import exchange
from nbcred.service.jupyter_setup import write_config
from tests.paths import ROOT

JUPYTERLAB_PAGE = (ROOT / "docs" / "jupyterlab.md").read_text()


def test_the_written_config_makes_nbgrader_load_the_nbcred_exchange(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["jupyter", "setup", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    factory = ExchangeFactory(config=config)
    assert config.CourseDirectory.course_id == "nbcred"
    assert factory.exchange is exchange.Exchange
    assert factory.list is exchange.ExchangeList and issubclass(factory.list, abc.ExchangeList)
    assert factory.fetch_assignment is exchange.ExchangeFetchAssignment
    assert factory.submit is exchange.ExchangeSubmit
    assert factory.fetch_feedback is exchange.ExchangeFetchFeedback


def test_the_docs_show_exactly_the_written_lines(tmp_path: Path) -> None:
    lines = write_config(directory=tmp_path).lines
    for line in lines:
        assert line in JUPYTERLAB_PAGE, f"docs/jupyterlab.md lacks the configuration line {line}"


def test_existing_config_is_kept_and_the_block_replaced(tmp_path: Path) -> None:
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\nc.Exchange.timezone = 'Europe/Paris'\n")
    first = write_config(directory=tmp_path, course_id="data101")
    second = write_config(directory=tmp_path, course_id="data102", url="https://badges.example.org/")
    text = config.read_text()
    assert not first.created and not second.created
    assert "c.Exchange.timezone = 'Europe/Paris'" in text
    assert text.count("c.ExchangeFactory.submit") == 1
    assert "data102" in text and "data101" not in text
    assert "c.Exchange.url = 'https://badges.example.org'" in text
    assert not re.search(r"token", text.split(">>>", 1)[1], re.IGNORECASE)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"course_id": "my course"}, "not valid"),
    ({"url": "badges.example.org"}, "--url"),
])
def test_bad_options_are_refused(tmp_path: Path, kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        write_config(directory=tmp_path, **kwargs)
    assert not (tmp_path / "nbgrader_config.py").exists()


def test_cli_reports_a_bad_folder_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["jupyter", "setup", "--dir", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not a folder" in result.output
