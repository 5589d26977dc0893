"""The composition root: builds the store, executor, issuer and progress display from settings once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader.results import GradeResult
from nbcred.pipeline import Executor, InlineExecutor, Issuer
from nbcred.settings import Settings
from nbcred.store import Store


@dataclass
class Runtime:
    """Everything a command needs, wired from one :class:`Settings`."""

    settings: Settings
    store: Store
    executor: Executor
    issuer: Issuer | None = None

    @classmethod
    def start(cls, settings: Settings, *, issue: bool = True) -> Runtime:
        store = Store.open(settings.resolved_database_url())
        return cls(settings, store, make_executor(settings), make_issuer(settings, store) if issue else None)

    @contextmanager
    def progress(self, total: int, *, quiet: bool = False) -> Iterator[ProgressTracker]:
        tracker = ProgressTracker(total, quiet=quiet)
        with tracker.display:
            yield tracker


def make_executor(settings: Settings) -> Executor:
    """The executor named by ``settings.executor``."""
    try:
        from nbcred.executors import get_executor
    except ImportError:
        return InlineExecutor(settings)
    executor: Executor = get_executor(settings.executor, settings=settings, workers=settings.workers)
    return executor


def make_issuer(settings: Settings, store: Store) -> Issuer | None:
    """The credential issuer, when the credentials subsystem is configured."""
    try:
        from nbcred.issuance import build_issuer
    except ImportError:
        return None
    issuer: Issuer | None = build_issuer(settings, store)
    return issuer


@dataclass
class ProgressTracker:
    """A rich progress bar on stderr with a live count of passed / failed / errored."""

    total: int
    quiet: bool = False
    results: list[GradeResult] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    errored: int = 0

    def __post_init__(self) -> None:
        self.display = Progress(
            TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True), disable=self.quiet, transient=False,
        )
        self.task = self.display.add_task(self._counts(), total=self.total)

    def _counts(self) -> str:
        return (
            f"[green]{self.passed} passed[/] [red]{self.failed} failed[/] "
            f"[yellow]{self.errored} errored[/]"
        )

    def advance(self, result: GradeResult) -> None:
        self.results.append(result)
        if result.errors:
            self.errored += 1
        elif result.passed:
            self.passed += 1
        else:
            self.failed += 1
        self.display.update(self.task, advance=1, description=self._counts())
