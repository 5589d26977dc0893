"""``nbcred user add|token|revoke-token`` through the real console script; the token works on the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from nbcred.cli.user import app as user_app
from nbcred.service import ServiceContext
from nbcred.web.app import create_app
from tests.nbcred.web.conftest import settings_for

NBCRED = str(Path(sys.executable).parent / "nbcred")


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBCRED_HOME": str(home)}
    return subprocess.run([NBCRED, "user", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def test_add_user_and_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = CliRunner().invoke(user_app, ["add", "Ada@Example.org", "--name", "Ada", "--role", "instructor",
                                          "--password-stdin"], input="a long password\n",
                               env={"NBCRED_HOME": str(home)})
    assert added.exit_code == 0, added.output
    token = run(home, "token", "ada@example.org", "--label", "lab")
    assert token.returncode == 0, token.stderr
    assert token.stdout.count("\n") == 1 and token.stdout.startswith("nbc_")  # only the token
    secret = token.stdout.strip()

    settings = settings_for(home, serve_grading=False)
    with TestClient(create_app(settings, ctx=ServiceContext.open(settings))) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["role"] == "instructor"
        revoked = invoke(home, "revoke-token", "ada@example.org")
        assert revoked.exit_code == 0 and "revoked 1" in revoked.stderr
        again = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert again.status_code == 401 and "revoked" in again.json()["detail"]


def test_user_command_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(home, "add", "ada@example.org", "--name", "Ada").exit_code == 0
    duplicate = invoke(home, "add", "ada@example.org", "--name", "Ada", "--role", "learner")
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr
    bad_role = invoke(home, "add", "x@example.org", "--name", "X", "--role", "wizard")
    assert bad_role.exit_code == 2 and "learner, instructor, admin" in bad_role.stderr
    short = invoke(home, "add", "y@example.org", "--name", "Y", "--password", "short")
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    unknown = invoke(home, "token", "nobody@example.org")
    assert unknown.exit_code == 2 and unknown.stdout == "" and "nbcred user add" in unknown.stderr
    listed = invoke(home, "list")
    assert "ada@example.org" in listed.stdout and "learner" in listed.stdout


def invoke(home: Path, *args: str) -> Result:
    """The same commands in-process (quicker than a new interpreter for each)."""
    return CliRunner().invoke(user_app, list(args), env={"NBCRED_HOME": str(home)})
