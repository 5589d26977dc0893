"""No secret on a command line: ``--db`` refuses a password, ``doctor`` finds exposed ones."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.cmdline import exposed_secrets, has_password, redact
from nbcred.service.doctor import doctor_report
from nbcred.settings import Settings

SECRET = "s3cret-pw-91"
URL = f"postgresql+psycopg://grader:{SECRET}@db.example/grades"


@pytest.mark.parametrize("args", [
    ["grade", "assessments/pandas-cleaning", "notebooks/pandas-cleaning/alice", "--db", URL],
    ["credential", "list", "--db", URL],
    ["worker", "--broker", f"redis://:{SECRET}@127.0.0.1:6379/0"],
])
def test_a_password_on_the_command_line_is_refused(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, args, env={"NBCRED_HOME": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output
    assert "NBCRED_" in result.output and "password" in result.output
    assert not (tmp_path / "gradebook.sqlite").exists()


def _commands_with_db(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    if hasattr(group, "list_commands"):
        context = typer.Context(group)
        for name in group.list_commands(context):
            found += _commands_with_db(group.get_command(context, name), (*path, name))
    elif any("--db" in getattr(param, "opts", ()) for param in group.params):
        found.append(path)
    return found


def test_every_db_option_refuses_a_password(tmp_path: Path) -> None:
    commands = _commands_with_db(typer.main.get_command(app))
    assert ("grade",) in commands and ("credential", "list") in commands
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--db", URL], env={"NBCRED_HOME": str(tmp_path)})
        assert result.exit_code == 2 and "holds a password" in result.output, (path, result.output)


def test_urls_without_a_password_are_accepted() -> None:
    assert not has_password("postgresql+psycopg://grader@db.example/grades")
    assert not has_password("sqlite:////tmp/x.sqlite")
    assert has_password("redis://:pw@host:6379/0") and has_password(URL)
    assert redact(f"--db {URL}") == "--db postgresql+psycopg://grader:***@db.example/grades"


@pytest.fixture()
def exposed() -> Iterator[int]:
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--db", URL])
    try:
        cmdline = Path(f"/proc/{decoy.pid}/cmdline")
        deadline = time.monotonic() + 30  # until exec, the child still shows this process's command line
        while b"--db" not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield decoy.pid
    finally:
        decoy.kill()
        decoy.wait()


def test_doctor_reports_a_process_showing_a_password(exposed: int, tmp_path: Path) -> None:
    found = {e.pid: e.command for e in exposed_secrets()}
    assert exposed in found and SECRET not in found[exposed]
    check = next(c for c in doctor_report(Settings(home=tmp_path))
                 if c.name == "secrets: command lines")
    assert not check.ok and f"pid {exposed}" in check.detail and SECRET not in check.detail


def test_doctor_reports_the_pid_namespace_and_disk_quota(tmp_path: Path) -> None:
    names = {c.name for c in doctor_report(Settings(home=tmp_path))}
    assert {"sandbox: pid", "sandbox: disk", "secrets: command lines"} <= names


def test_help_lists_every_command_without_importing_them() -> None:
    """``nbcred --help`` starts fast: the web service, bulk issuance and Jupyter are not imported."""
    import subprocess

    code = ("import sys; from nbcred.cli import app; sys.argv = ['nbcred', '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('nbgrader', 'fastapi', 'nbcred.cli.user', 'nbcred.store', "
            "'grader.assessment') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().endswith("[]"), done.stdout[-500:] + done.stderr[-2000:]
    for command in ("grade", "credential", "user", "serve", "jupyter", "doctor"):
        assert command in done.stdout
