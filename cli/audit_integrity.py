"""``passport audit check`` and ``passport audit rebuild``: is the audit index still what the chain says?

The audit index (``index_path(settings)``) is a plain SQLite file that the custody and audit routes and
the passport page read. ``check`` re-reads the chain up to the index's cursor and prints every row that
differs (exit 1), without syncing or repairing anything; ``rebuild`` replaces the index with one built
from the chain alone, keeping the old file as ``<index>.bak``. Stop the API server before a rebuild and
start it again afterwards: it holds the old file open.

Exit codes are the CLI's (``passport.cli``): 0 the index matches the chain, 1 it does not or the ledger
failed, 2 the settings or the input cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from passport.audit import (
    FollowerConfig,
    IndexReport,
    SqliteAuditIndex,
    check_index,
    index_path,
    rebuild_index,
)
from passport.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from passport.errors import ConfigError, PassportError
from passport.ledger import Ledger, open_ledger
from passport.settings import Settings

app = typer.Typer(help="Check the audit index against the chain, or rebuild it.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]


def _die(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _ledger() -> Ledger:
    try:
        settings = Settings.load()
    except ConfigError as exc:
        _die(str(exc), EXIT_UNREADABLE)
    try:
        return open_ledger(settings)
    except PassportError as exc:
        _die(f"cannot open the ledger: {type(exc).__name__}: {exc}", EXIT_INVALID)


def _check(ledger: Ledger, path: Path) -> IndexReport:
    try:
        with SqliteAuditIndex(path) as index:
            return check_index(index, ledger.reader, start_block=ledger.deployment.deploy_block_number)
    except PassportError as exc:
        _die(f"cannot check the audit index {path}: {type(exc).__name__}: {exc}", EXIT_INVALID)


def _print_report(report: IndexReport) -> None:
    cursor = "never synced" if report.cursor is None else f"cursor block {report.cursor}"
    typer.echo(
        f"audit index {report.path}: {cursor}, {report.events_in_index} event(s); "
        f"the chain holds {report.events_on_chain} up to block {report.checked_to_block} "
        f"(head {report.chain_head})"
    )
    for difference in report.differences:
        typer.echo(f"  {difference.describe()}")
    if report.ok:
        typer.echo("OK: the audit index matches the chain")
    else:
        typer.echo(
            f"MISMATCH: {len(report.differences)} difference(s) between the audit index and the chain; "
            "`passport audit rebuild` rebuilds it from the chain"
        )


@app.command("check")
def check_command(json_output: JsonOption = False) -> None:
    """Compare every row of the audit index with the chain; exit 1 and list each difference if any."""
    ledger = _ledger()
    path = index_path(ledger.settings)
    if not path.exists():
        _die(f"no audit index at {path} (`passport audit rebuild` builds one)", EXIT_UNREADABLE)
    report = _check(ledger, path)
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)


@app.command("rebuild")
def rebuild_command(
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not keep the old index as <index>.bak.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Rebuild the audit index from the chain (stop the API server first), then check it."""
    ledger = _ledger()
    path = index_path(ledger.settings)
    config = FollowerConfig.from_settings(ledger.settings, start_block=ledger.deployment.deploy_block_number)
    try:
        result = rebuild_index(ledger.reader, path, config, backup=not no_backup)
    except PassportError as exc:
        _die(f"cannot rebuild the audit index {path}: {type(exc).__name__}: {exc}", EXIT_INVALID)
    report = _check(ledger, path)
    if json_output:
        document = {
            "path": str(result.path),
            "backup": None if result.backup is None else str(result.backup),
            "events": result.events,
            "cursor": None if result.cursor is None else result.cursor.number,
            "check": report.model_dump(mode="json"),
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        cursor = "none" if result.cursor is None else str(result.cursor.number)
        typer.echo(f"audit index {result.path} rebuilt: {result.events} event(s), cursor block {cursor}")
        if result.backup is not None:
            typer.echo(f"the previous index is kept as {result.backup}")
        if not report.ok:
            _print_report(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)
