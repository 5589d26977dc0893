"""``nbcred credential ...``: sign, verify, bake and unbake Open Badges 3.0 credentials; list and
revoke, suspend or unsuspend issued ones; export a learner's CLR."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from credentials.errors import CredentialError
from credentials.keys import load_key_file
from credentials.proof import CRYPTOSUITES, sign
from credentials.verify import VerificationResult, parse_datetime
from nbcred.cli._common import CHECK_FAILED, DbOption, fail, open_context

if TYPE_CHECKING:
    pass

app = typer.Typer(no_args_is_help=True, help=__doc__)

def _read_json(path: Path) -> Any:
    """Read a JSON file or raise ValueError with a readable reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from error


@app.command("sign")
def sign_command(
    file: Annotated[Path, typer.Argument(help="Unsigned credential (JSON-LD).")],
    key: Annotated[Path, typer.Option("--key", help="Multikey JSON key file with a secret key.")],
    created: Annotated[str | None, typer.Option("--created", help="Proof creation time (ISO 8601).")] = None,
    verification_method: Annotated[
        str | None,
        typer.Option("--verification-method", help="Verification method URL (default: did:key)."),
    ] = None,
    cryptosuite: Annotated[
        str, typer.Option("--cryptosuite", help="Data Integrity cryptosuite.")
    ] = "eddsa-rdfc-2022",
    canonicalizer: Annotated[
        str, typer.Option("--canonicalizer", help="RDFC-1.0 implementation: pyld or oxigraph.")
    ] = "pyld",
) -> None:
    """Sign FILE with a Data Integrity proof and print the signed credential."""
    if cryptosuite not in CRYPTOSUITES:
        raise fail(f"unsupported cryptosuite {cryptosuite!r}; use {', '.join(CRYPTOSUITES)}")
    try:
        document = _read_json(file)
        if not isinstance(document, dict):
            raise ValueError(f"{file} does not contain a JSON object")
        pair = load_key_file(key)
        signed = sign(
            document,
            pair,
            verification_method=verification_method,
            created=created,
            canonicalizer=canonicalizer,
        )
    except (ValueError, CredentialError) as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps(signed, indent=2, ensure_ascii=False))


def _network_fetch(url: str) -> dict[str, Any]:
    import httpx

    if not url.startswith(("https://", "http://")):
        raise ValueError(f"only http(s) URLs can be fetched, not {url!r}")
    response = httpx.get(url, timeout=10.0, follow_redirects=True)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return data


def _render_text(console: Console, file: str, result: VerificationResult) -> None:
    table = Table(title=escape(file), show_header=False, title_justify="left")
    table.add_column("check")
    table.add_column("result")
    _add_rows(table, result, "")
    for number, inner in enumerate(result.embedded, 1):
        _add_rows(table, inner, f"embedded {number} ")
    console.print(table)


def _add_rows(table: Table, result: VerificationResult, prefix: str) -> None:
    colour = "green" if result.verified else "red"
    table.add_row(f"{prefix}verified", f"[{colour}]{result.verified}[/{colour}]")
    for name, value in result.checks.items():
        style = "green" if value in ("ok", "none") else "yellow" if value.startswith("unknown") else "red"
        table.add_row(f"{prefix}{name}", f"[{style}]{escape(value)}[/{style}]")
    for warning in result.warnings:
        table.add_row(f"{prefix}warning", f"[yellow]{escape(warning)}[/yellow]")


def _load_supporting(paths: list[Path], what: str) -> list[dict[str, Any]]:
    documents = []
    for path in paths:
        try:
            document = _read_json(path)
        except ValueError as error:
            raise fail(str(error)) from None
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise fail(f"{path} is not a {what} with an id")
        documents.append(document)
    return documents


@app.command("verify")
def verify_command(
    files: Annotated[list[Path], typer.Argument(help="Credentials: .json, or baked .png / .svg badges.")],
    output_format: Annotated[
        str, typer.Option("--format", help="Output: text (default) or json (one line per file).")
    ] = "text",
    require_status: Annotated[
        bool, typer.Option("--require-status", help="Fail when status cannot be determined.")
    ] = False,
    require_schema: Annotated[
        bool, typer.Option("--require-schema", help="Fail when the published JSON Schema does not match.")
    ] = False,
    did_documents: Annotated[
        list[Path] | None,
        typer.Option("--did-document", help="DID / controller document to resolve keys from."),
    ] = None,
    status_lists: Annotated[
        list[Path] | None,
        typer.Option("--status-list", help="Status list credential to use instead of fetching."),
    ] = None,
    network: Annotated[
        bool, typer.Option("--network", help="Allow fetching did:web documents and status lists.")
    ] = False,
    now: Annotated[str | None, typer.Option("--now", help="Verify as of this time (ISO 8601).")] = None,
    canonicalizer: Annotated[
        str, typer.Option("--canonicalizer", help="RDFC-1.0 implementation: pyld or oxigraph.")
    ] = "pyld",
) -> None:
    """Verify credentials (JSON or baked PNG/SVG): proof, dates, status, schema; a CLR's embedded
    credentials too. Status lists published under NBCRED_HOME are used. Exit 1 if any fails."""
    from nbcred.service.verify_files import verify_files
    from nbcred.settings import Settings

    if output_format not in ("text", "json"):
        raise fail("--format must be text or json")
    try:
        moment = parse_datetime(now) if now else None
    except ValueError:
        raise fail(f"--now {now!r} is not an ISO 8601 date-time") from None
    verdicts = verify_files(
        Settings(), files,
        status_lists=_load_supporting(status_lists or [], "status list credential"),
        did_documents=_load_supporting(did_documents or [], "DID document"),
        fetch=_network_fetch if network else None, now=moment, require_status=require_status,
        require_schema=require_schema, canonicalizer=canonicalizer,
    )
    console = Console(emoji=False)
    for verdict in verdicts:
        if output_format == "json":
            typer.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
        else:
            _render_text(console, verdict.file, verdict.result)
    raise typer.Exit(code=0 if all(v.result.verified for v in verdicts) else CHECK_FAILED)


@app.command("bake")
def bake_command(
    credential: Annotated[Path, typer.Argument(help="Credential: a JSON file or a JWT text file.")],
    image: Annotated[Path, typer.Argument(help="Badge image (.png or .svg).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the baked image.")],
) -> None:
    """Embed a credential in a PNG or SVG badge image."""
    from credentials.baking import bake

    try:
        text = credential.read_text(encoding="utf-8").strip()
        document: dict[str, Any] | str = _read_json(credential) if text.startswith("{") else text
        baked = bake(document, image.read_bytes())
        output.write_bytes(baked)
    except (OSError, UnicodeDecodeError, ValueError, CredentialError) as error:
        raise fail(str(error)) from None
    typer.echo(f"baked {credential} into {output}")


@app.command("unbake")
def unbake_command(
    image: Annotated[Path, typer.Argument(help="Baked badge image (.png or .svg).")],
) -> None:
    """Print the credential baked into a PNG or SVG badge image."""
    from credentials.baking import unbake

    try:
        credential = unbake(image.read_bytes())
    except (OSError, CredentialError) as error:
        raise fail(str(error)) from None
    if isinstance(credential, str):
        typer.echo(credential)
    else:
        typer.echo(json.dumps(credential, indent=2, ensure_ascii=False))


# --- issued credentials in the gradebook ---------------------------------------------------------

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the gradebook, not published).")]


def _run(action: Callable[[], Any]) -> Any:
    """Run an issuance action; application and credential errors become a message and exit 2."""
    from nbcred.errors import NbcredError

    try:
        return action()
    except (NbcredError, CredentialError) as error:
        raise fail(error) from None


@app.command("list")
def list_command(
    learner: Annotated[str | None, typer.Option("--learner", help="Only this learner's credentials.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table (default) or json lines.")] = "table",
    db: DbOption = None,
) -> None:
    """List issued credentials with their status."""
    from nbcred.service.issued import list_issued

    if output_format not in ("table", "json"):
        raise fail("--format must be table or json")
    rows = _run(lambda: list_issued(open_context(db), learner=learner))
    if output_format == "json":
        for row in rows:
            typer.echo(json.dumps(row.as_json(), ensure_ascii=False))
        return
    table = Table(title="Issued credentials")
    table.add_column("id", overflow="fold", min_width=20)
    for column in ("learner", "credential", "version", "status", "issued", "valid until"):
        table.add_column(column)
    for row in rows:
        until = row.valid_until.date().isoformat() if row.valid_until else "-"
        table.add_row(row.id, row.learner, escape(row.name), row.version, row.status,
                      row.issued_at.date().isoformat(), until)
    Console(emoji=False).print(table)


def _change(credential_id: str, action: str, reason: str, db: str | None) -> None:
    """The same operation as the instructor pages and API (``nbcred.service.courseware``)."""
    from nbcred.service.courseware import set_status

    info = _run(lambda: set_status(open_context(db), credential_id, action=action, reason=reason))
    typer.echo(f"{credential_id}: {info.status} ({info.reason})")


@app.command("revoke")
def revoke_command(
    credential_id: Annotated[str, typer.Argument(help="Credential id (urn:uuid:...).")],
    reason: ReasonOption,
    db: DbOption = None,
) -> None:
    """Revoke a credential for good and republish the revocation list."""
    _change(credential_id, "revoke", reason, db)


@app.command("suspend")
def suspend_command(
    credential_id: Annotated[str, typer.Argument(help="Credential id (urn:uuid:...).")],
    reason: ReasonOption,
    db: DbOption = None,
) -> None:
    """Suspend a credential (reversible) and republish the suspension list."""
    _change(credential_id, "suspend", reason, db)


@app.command("unsuspend")
def unsuspend_command(
    credential_id: Annotated[str, typer.Argument(help="Credential id (urn:uuid:...).")],
    reason: ReasonOption,
    db: DbOption = None,
) -> None:
    """Lift a suspension and republish the suspension list."""
    _change(credential_id, "unsuspend", reason, db)


@app.command("export-clr")
def export_clr_command(
    learner: Annotated[str, typer.Argument(help="Learner id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the CLR JSON.")],
    db: DbOption = None,
) -> None:
    """Write a signed CLR 2.0 record of the learner's active credentials."""
    from nbcred.service.issued import export_learner_clr

    clr = _run(lambda: export_learner_clr(open_context(db), learner, output))
    count = len(clr["credentialSubject"]["verifiableCredential"])
    typer.echo(f"wrote {output} ({count} credential(s))")


def _print_keys(keys: list[Any]) -> None:
    for key in keys:
        typer.echo(f"{key.id}\t{key.verification_method}\t{'signing' if key.signing else 'verifies only'}")


@app.command("keys")
def keys_command(db: DbOption = None) -> None:
    """The issuer's keys in its DID document (id, verification method, which one signs)."""
    from nbcred.service.issuer_keys import issuer_keys

    _print_keys(_run(lambda: issuer_keys(open_context(db))))


@app.command("rotate-key")
def rotate_key_command(db: DbOption = None) -> None:
    """did:web issuers: add a signing key; older keys stay in did.json, so what they signed still
    verifies. Restart the app processes so they sign with the new key."""
    from nbcred.service.issuer_keys import rotate_issuer_key

    _print_keys(_run(lambda: rotate_issuer_key(open_context(db))))


@app.command("retire-key")
def retire_key_command(
    key_id: Annotated[str, typer.Argument(help="Key id from `nbcred credential keys`, e.g. issuer-1.")],
    db: DbOption = None,
) -> None:
    """did:web issuers: take an old key out of did.json (kept aside in keys/retired); credentials
    it signed stop verifying, so reissue them first."""
    from nbcred.service.issuer_keys import retire_issuer_key

    _print_keys(_run(lambda: retire_issuer_key(open_context(db), key_id)))
