"""``passport vc export|verify``: passports as W3C Verifiable Credentials (``application/vc+jwt``).

``export`` signs with the issuing participant's credential key (this installation must hold it).
``verify`` needs no ledger: it resolves the issuer's did:web document and status list over HTTP, like
any outside verifier; ``--chain`` also checks the anchor on the ledger the settings point at.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer

from cli.output import EXIT_INVALID, EXIT_UNREADABLE, JsonOption, die, echo_json, reported
from cli.session import Session
from passport.credentials import HttpDocumentSource, verify_credential
from passport.ids import parse_passport_id

app = typer.Typer(help="Passports as W3C Verifiable Credentials (VC 2.0, vc+jwt).", no_args_is_help=True)


@app.command("export")
def export(
    ctx: typer.Context,
    passport_id: Annotated[str, typer.Argument(help="The passport's UUID (or urn:uuid:…).")],
    version: Annotated[int | None, typer.Option(min=1, help="A version (default: the current one).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the vc+jwt here.")] = None,
) -> None:
    """The passport version as a UNTP Digital Product Passport credential (compact JWS)."""
    with reported():
        pid: uuid.UUID = parse_passport_id(passport_id)
    credentials = Session.of(ctx).credentials()
    with reported("cannot export the credential"):
        token = credentials.export(pid, version)
    if out is None:
        typer.echo(token)
        return
    try:
        out.write_text(token + "\n")
    except OSError as exc:
        die(f"cannot write {out}: {exc.strerror or exc}")


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        die(f"cannot read {source}: {exc}", EXIT_UNREADABLE)


@app.command("verify")
def verify(
    ctx: typer.Context,
    credential: Annotated[str, typer.Argument(help="A file holding the vc+jwt, or - for stdin.")],
    chain: Annotated[bool, typer.Option("--chain", help="Also check the anchor on the ledger.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Verify a credential: JOSE proof by the issuer's did:web key, validity, status list, anchor."""
    token = _read(credential)
    client = Session.of(ctx).client(None) if chain else None
    source = HttpDocumentSource()
    try:
        with reported():
            report = verify_credential(token, source, chain=client)
    finally:
        source.close()
    if json_output:
        echo_json(report.model_dump(mode="json"))
    else:
        for check in report.checks:
            typer.echo(f"{check.status.value:<8} {check.name:<24} {check.reason}")
        typer.echo(f"{'valid' if report.ok else 'NOT VALID'}: issued by {report.issuer}")
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)
