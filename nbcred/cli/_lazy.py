"""A typer group whose sub-commands are imported only when they run.

``nbcred --help`` lists every command from a one-line description, and ``nbcred grade`` imports
what grading needs, not the web service, the Jupyter integration or bulk issuance: each of
those costs a second of imports at every start. Register one with a line in ``nbcred/cli/root.py``::

    LAZY["user"] = Lazy(_user_app, "Manage accounts of the web service.")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A sub-command: ``load()`` returns its typer app (a group) or its command function."""

    load: Callable[[], Any]
    help: str


class LazyGroup(TyperGroup):
    """Looks up :attr:`lazy` commands on first use; lists them without importing anything."""

    lazy: ClassVar[dict[str, Lazy]] = {}
    _listing: bool = False

    def list_commands(self, ctx: Any) -> list[str]:
        listed = list(super().list_commands(ctx))
        return listed + [name for name in self.lazy if name not in listed]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the group's own --help: its one line is enough
            return TyperCommand(name=cmd_name, help=self.lazy[cmd_name].help)
        loaded = self.lazy[cmd_name].load()
        if isinstance(loaded, typer.Typer):  # a group, or its only command
            command: Any = typer.main.get_command(loaded)
        else:
            single = typer.Typer()
            single.command(cmd_name)(loaded)
            command = typer.main.get_command(single)
        command.name = cmd_name
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
