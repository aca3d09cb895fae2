"""``passport import catenax FILE`` and ``passport export catenax ID``: Catena-X BatteryPass 6.1.0.

Import reads the file through the library's one strict JSON parser and validates it; with ``--dry-run``
it prints the passport the document maps to, else it issues it on the ledger as a keystore participant
(``--as``, default ``issuer``). Export writes a passport's current version (every tier: the operator's
service holds the keys) as a Catena-X document. Register with ``root.add_typer(interop.app)``: ``app``
carries the ``import`` and ``export`` groups.

Exit codes: 0 done; 1 the ledger, store or export failed; 2 the input is unreadable or invalid (each
invalid field listed on stderr by its Catena-X JSON path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from cli import arguments
from cli.output import EXIT_INVALID, EXIT_UNREADABLE, JsonOption, die, emit, reported
from cli.session import Session
from passport.errors import DocumentValidationError
from passport.interop import export_catenax, import_catenax
from passport.model import AccessTier

app = typer.Typer(no_args_is_help=True)
import_app = typer.Typer(help="Import passports from other formats.", no_args_is_help=True)
export_app = typer.Typer(help="Export passports to other formats.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


def _invalid(exc: DocumentValidationError, code: int = EXIT_UNREADABLE) -> NoReturn:
    """Every invalid field on stderr, by its Catena-X JSON path."""
    typer.echo(f"error: {exc}", err=True)
    for path, reason in exc.problems:
        typer.echo(f"  {path}: {reason}", err=True)
    raise typer.Exit(code)


@import_app.command("catenax")
def import_catenax_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The Catena-X BatteryPass 6.1.0 JSON document.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the mapped passport; issue nothing.")
    ] = False,
    allow_voluntary_category: Annotated[
        bool, typer.Option("--allow-voluntary-category", help="Accept an SLI or portable battery.")
    ] = False,
    participant: Annotated[str, typer.Option("--as", help="Keystore participant that issues it.")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Validate a Catena-X document and issue the passport it maps to (or only show it: --dry-run)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        die(f"cannot read {file}: {exc.strerror or exc}", EXIT_UNREADABLE)
    try:
        imported = import_catenax(data, allow_voluntary_category=allow_voluntary_category)
    except DocumentValidationError as exc:
        _invalid(exc)
    passport = imported.passport
    if dry_run:
        result: dict[str, Any] = {
            "passport": passport.model_dump(mode="json"),
            "unmapped": list(imported.unmapped),
        }
        typer.echo(json.dumps(result, indent=2))
        return
    service = Session.of(ctx).passports(participant)
    try:
        with reported():
            issued = service.issue(passport)
    except DocumentValidationError as exc:
        _invalid(exc)
    emit(
        {
            "passport_id": str(issued.passport_id),
            "battery_id": passport.battery_id,
            "version": issued.version,
            "manifest_cid": issued.manifest_cid,
            "tx_hash": "0x" + issued.tx_hash.hex(),
            "block_number": issued.block_number,
            "unmapped": len(imported.unmapped),
        },
        json_output,
    )


@export_app.command("catenax")
def export_catenax_command(
    ctx: typer.Context,
    passport_id: Annotated[str, typer.Argument(help="Passport id (UUID, urn:uuid:…, or 0x bytes32).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the document here (default: stdout).")
    ] = None,
) -> None:
    """Write a passport's current version as a Catena-X BatteryPass 6.1.0 document."""
    pid = arguments.passport_id(passport_id)
    service = Session.of(ctx).passports(None)
    try:
        with reported():
            document = export_catenax(service.fetch(pid, frozenset(AccessTier)).passport())
    except DocumentValidationError as exc:
        # The passport exists but Catena-X cannot express it: not the caller's input to fix.
        _invalid(exc, EXIT_INVALID)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        die(f"cannot write {output}: {exc.strerror or exc}", EXIT_INVALID)
    typer.echo(f"Catena-X document of passport {pid} written to {output}", err=True)
