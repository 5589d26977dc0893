"""A live progress bar for a grading batch, on stderr so JSON on stdout stays clean."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader.results import GradeResult


class GradingProgress:
    """``with GradingProgress(total) as p: ... p.advance(result)`` — bar, ETA and live counts."""

    def __init__(self, total: int, *, console: Console | None = None, disable: bool = False) -> None:
        self.total = total
        self.passed = self.failed = self.errored = 0
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[green]{task.fields[passed]} passed[/] · [yellow]{task.fields[failed]} failed"
                       "[/] · [red]{task.fields[errored]} errored[/]"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, disable=disable, transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> GradingProgress:
        self._progress.start()
        self._task = self._progress.add_task("grading", total=self.total, passed=0, failed=0, errored=0)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    @property
    def done(self) -> int:
        """How many results arrived."""
        return self.passed + self.failed + self.errored

    def advance(self, result: GradeResult) -> None:
        """Count one finished submission: errored if grading reported errors, else passed/failed."""
        if result.errors:
            self.errored += 1
        elif result.passed:
            self.passed += 1
        else:
            self.failed += 1
        if self._task is not None:
            self._progress.update(self._task, advance=1, passed=self.passed, failed=self.failed,
                                  errored=self.errored)
