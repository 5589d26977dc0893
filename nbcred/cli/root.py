"""The ``nbcred`` command line: a thin adapter over the typed core.

Each command parses its options, calls one core function and renders the result; errors become a
message on stderr and an exit status (0 ok, 1 something failed its check, 2 bad input).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer

from nbcred.cli._common import CHECK_FAILED, DbOption, err, fail, open_context, out
from nbcred.cli._common import settings as _settings
from nbcred.cli._lazy import Lazy, LazyGroup
from nbcred.cmdline import refuse_password

if TYPE_CHECKING:
    from rich.table import Table

    from grader.results import GradeResult
    from nbcred.service.demo import DemoRun
    from nbcred.service.grading import BatchReport

# Heavy imports (nbgrader, the gradebook, the web service…) happen inside the commands that need
# them: `nbcred --help` and `nbcred grade` start without importing the rest, and `nbcred --help`
# without even the settings (pydantic-settings). `nbcred grade` starts its workers before
# it imports the grader (tests/nbcred/cli/test_cli_startup.py).


def _credential_app() -> Any:
    from nbcred.cli.bulk import register as register_bulk
    from nbcred.cli.credential import app as credential_app

    register_bulk(credential_app)
    return credential_app


def _jupyter_app() -> Any:
    from nbcred.cli.jupyter import app as jupyter_app

    return jupyter_app


def _user_app() -> Any:
    from nbcred.cli.user import app as user_app

    return user_app


def _instructor_init() -> Any:
    from nbcred.cli.instructor import app as instructor_app

    return instructor_app


def _similarity() -> Any:
    from nbcred.cli.similarity import similarity

    return similarity


def _serve() -> Any:
    from nbcred.cli.serve import serve

    return serve


def _cohort_app() -> Any:
    from nbcred.cli.cohort import app as cohort_app

    return cohort_app


def _mail_app() -> Any:
    from nbcred.cli.mail import app as mail_app

    return mail_app


def _lti_app() -> Any:
    from nbcred.cli.lti import app as lti_app

    return lti_app


def _export() -> Any:
    from nbcred.cli.export import export

    return export


class _Commands(LazyGroup):
    lazy: ClassVar[dict[str, Lazy]] = {
        "credential": Lazy(_credential_app, "Sign, verify, bake, list, revoke, suspend and issue "
                           "credentials."),
        "jupyter": Lazy(_jupyter_app, "Connect JupyterLab's Assignments tab to an nbcred service."),
        "user": Lazy(_user_app, "Manage the web service's accounts and API tokens."),
        "serve": Lazy(_serve, "Run the web service."),
        "init": Lazy(_instructor_init, "Write a starting assessment.yaml for an nbgrader assignment."),
        "cohort": Lazy(_cohort_app, "Import a cohort's roster and grade everything it submitted."),
        "export": Lazy(_export, "Export grades (Canvas, Moodle), credentials or CLRs of an assessment "
                       "or cohort."),
        "lti": Lazy(_lti_app, "LMS platforms (LTI 1.3): register, sync rosters, grades sent back."),
        "mail": Lazy(_mail_app, "The outbox of e-mails: list, send now (flush), retry failures."),
        "similarity": Lazy(_similarity, "Pairs of learners whose written code is alike (instructors)."),
    }


app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, cls=_Commands)


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", help="table, or json: one object per submission per line.")
]


@app.command()
def validate(
    assessments: Annotated[list[Path], typer.Argument(help="Assessment folders.")],
) -> None:
    """Check that the solution scores full marks and the student version scores zero."""
    from nbcred.service.grading import validate_folders
    from nbcred.settings import Settings

    failed = False
    for checked in validate_folders(Settings(), assessments):
        report = checked.report
        if report is None:
            err.print(f"[bold red]✗ {checked.path}[/]: {checked.error}", highlight=False)
            failed = True
            continue
        for warning in report.warnings:
            err.print(f"[yellow]warning[/] {report.assessment}: {warning}", highlight=False)
        if report.ok:
            out.print(f"[green]✓ {report.assessment}[/]: solution {report.solution_score:g}/"
                      f"{report.max_score:g}, student version {report.release_score:g}")
        else:
            failed = True
            out.print(f"[bold red]✗ {report.assessment}[/]")
            for problem in report.problems:
                out.print(f"  - {problem}", highlight=False)
    raise typer.Exit(CHECK_FAILED if failed else 0)


@app.command()
def release(
    assessment: Annotated[Path, typer.Argument(help="Assessment folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the student version.")],
) -> None:
    """Write the student version (nbgrader's release) and the data files to OUTPUT."""
    from grader.errors import GraderError
    from nbcred.service.grading import release_folder

    try:
        written = release_folder(assessment, output)
    except GraderError as exc:
        raise fail(exc) from exc
    for path in written:
        out.print(f"wrote {path}", highlight=False)


@app.command()
def grade(
    assessment: Annotated[Path, typer.Argument(help="Assessment folder.")],
    submissions: Annotated[list[Path], typer.Argument(help="Submission folders (learner notebooks).")],
    fmt: FormatOption = Format.table,
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: cores).")] = None,
    executor: Annotated[str | None, typer.Option(help="local or celery.")] = None,
    issue: Annotated[bool, typer.Option(help="Issue credentials to passing learners.")] = True,
) -> None:
    """Grade SUBMISSIONS against ASSESSMENT, record them and issue credentials to those who pass."""
    from grader.errors import GraderError
    from nbcred.errors import NbcredError
    from nbcred.service.grading import grade_folders

    settings = _settings(db=db, workers=workers, executor=executor)
    shown: list[GradeResult] = []

    def on_result(result: GradeResult) -> None:
        if fmt is Format.json:
            sys.stdout.write(json.dumps(result.as_json()) + "\n")
            sys.stdout.flush()
        else:
            shown.append(result)

    try:
        graded = grade_folders(settings, assessment=assessment, submissions=submissions, issue=issue,
                               on_result=on_result)
    except (GraderError, NbcredError) as exc:
        raise fail(exc) from exc
    if fmt is Format.table:
        out.print(results_table(shown, has_badge=graded.has_badge))
    _summary(graded.report)
    if not graded.has_badge and issue:
        err.print(f"{graded.assessment} has no badge: passing earns no credential (add a badge: section "
                  "to its assessment.yaml; `nbcred init` writes one to start from)", highlight=False)


def results_table(results: list[GradeResult], *, has_badge: bool = True) -> Table:
    """Learner, assessment, score, competencies passed, pass/fail."""
    from rich.table import Table

    table = Table(title="Grading results")
    for column in ("learner", "assessment", "score", "competencies", "result"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("notes", no_wrap=True, overflow="ellipsis", max_width=40)
    for r in results:
        achieved = sum(c.passed for c in r.competencies)
        verdict = "[green]PASS[/]" if r.passed else ("[red]ERROR[/]" if r.errors else "[red]FAIL[/]")
        restored = f"restored {len(r.tampered_cells)} cell(s)" if r.tampered_cells else ""
        notes = "; ".join(e.rsplit(".ipynb: ", 1)[-1] for e in r.errors) or restored
        if r.credential:
            notes = (notes + " badge issued").strip()
        elif r.passed and not has_badge:
            notes = (notes + " no badge for this assessment").strip()
        table.add_row(r.learner, r.assessment, f"{r.score:g}/{r.max_score:g}",
                      f"{achieved}/{len(r.competencies)}", verdict, notes)
    return table


def _summary(report: BatchReport) -> None:
    err.print(
        f"graded {report.graded}, already graded {report.reused}, with errors {report.errored}, "
        f"passed {report.passed}", highlight=False,
    )


@app.command()
def demo(
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: cores).")] = None,
) -> None:
    """Grade every sample submission in notebooks/ against the catalogue in assessments/."""
    from grader.errors import GraderError
    from nbcred.errors import NbcredError
    from nbcred.service.demo import run_demo

    def started(total: int, assessments: int) -> None:
        out.print(f"Grading {total} sample submissions for {assessments} assessments with "
                  f"{settings.workers} worker(s); gradebook: {settings.resolved_database_url()}")

    settings = _settings(db=db, workers=workers)
    try:
        run = run_demo(open_context(db=db, workers=workers), on_start=started)
    except (GraderError, NbcredError) as exc:
        raise fail(exc) from exc
    out.print(results_table(run.results))
    for line in run.pathway_lines:
        out.print(line)
    out.print(verification_table(run))
    out.print(f"Feedback pages: {run.feedback.resolve()}")
    out.print(f"Cohort report:  {run.report.resolve()}")


def verification_table(run: DemoRun) -> Table:
    """Every issued credential, verified offline against the published status lists."""
    from rich.table import Table

    table = Table(title="Issued credentials, verified offline")
    for column in ("learner", "credential", "proof", "dates", "status", "schema", "verified"):
        table.add_column(column)
    for item in run.verified:
        checks = item.result.checks
        table.add_row(item.learner, item.name, checks["proof"], checks["dates"], checks["status"],
                      checks["schema"], "[green]yes[/]" if item.result.verified else "[red]no[/]")
    return table


@app.command("settings")
def show_settings() -> None:
    """Print every setting, its value and what it is for."""
    from rich.table import Table

    from nbcred.settings import Settings

    settings = Settings()
    table = Table(title="nbcred settings (environment variables NBCRED_<NAME>)")
    for column in ("setting", "value", "description"):
        table.add_column(column)
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = "***" if "Secret" in type(value).__name__ else str(value)
        table.add_row(f"NBCRED_{name.upper()}", shown, info.description or "")
    out.print(table)


@app.command()
def doctor() -> None:
    """Check this machine: the sandbox mechanisms (each tried for real, and why any do not work),
    and with NBCRED_EXECUTOR=celery or a shared NBCRED_STORAGE what a grading worker must reach:
    the broker, the result backend, the store and the database."""
    from rich.table import Table

    from nbcred.service.doctor import doctor_report
    from nbcred.settings import Settings

    checks = doctor_report(Settings())
    table = Table("check", "ok", "detail")
    for check in checks:
        table.add_row(check.name, "[green]yes[/]" if check.ok else "[red]no[/]", check.detail)
    out.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(CHECK_FAILED)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", "-c", min=1, help="Worker processes on this machine (each grades one "
        "notebook at a time; one per core is usual).")] = 1,
) -> None:
    """Start Celery grading workers (extra options are passed to ``celery worker``).

    A worker needs only the package and the settings: NBCRED_BROKER_URL, NBCRED_RESULT_BACKEND,
    NBCRED_STORAGE (and NBCRED_DATABASE_URL when the store is the database); it fetches each
    assessment version and submission from the shared store. An option holding a URL with a
    password is refused, since every process can read a command line.
    """
    from nbcred.service.workers import run_workers

    for arg in ctx.args:
        try:
            refuse_password(arg, option="celery worker option", setting="NBCRED_BROKER_URL")
        except ValueError as exc:
            raise fail(exc) from exc
    raise typer.Exit(run_workers(concurrency, ctx.args))


def main() -> None:
    """Console-script entry point."""
    app()
