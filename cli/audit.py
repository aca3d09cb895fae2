"""``passport audit``: the audit index of ledger events, queried and exported (the API's ``/audit``),
checked against the chain (``check``: every differing row, exit 1) and rebuilt from it (``rebuild``, the
old file kept as ``<index>.bak``; stop the API server first, it holds the old file open).

The index is the service's own (``Settings.audit_index_path``) and is caught up with the
chain before every query; ``synced_index`` is shared with ``passport custody history``.
"""

from __future__ import annotations

import itertools
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from cli import arguments
from cli.output import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, JsonOption, console, die, reported, table
from cli.session import Session
from passport.ids import battery_id_hash, validate_battery_id

if TYPE_CHECKING:
    from passport.audit import AuditEvent, IndexFollower, IndexReport, SqliteAuditIndex
    from passport.chain.protocol import ChainClient
    from passport.ledger import Ledger

app = typer.Typer(
    help="The audit index of ledger events: query, export, check against the chain, rebuild.",
    no_args_is_help=True,
)

# Blocks read per follower step while a progress bar is shown; ranges shorter than this sync silently.
SYNC_STEP = 2000


def synced_index(session: Session, chain: ChainClient) -> SqliteAuditIndex:
    """The service's audit index, caught up with the chain's confirmed head (the caller closes it)."""
    from passport.audit import FollowerConfig, IndexFollower, SqliteAuditIndex

    settings = session.settings
    start_block = session.ledger().deployment.deploy_block_number
    with reported():
        index = SqliteAuditIndex.open(settings)
    follower = IndexFollower(index, FollowerConfig.from_settings(settings, start_block=start_block))
    try:
        _sync(follower, chain)
    except BaseException:
        index.close()
        raise
    return index


def _sync(follower: IndexFollower, chain: ChainClient) -> None:
    with reported():
        cursor = follower.index.cursor()
        first = follower.config.start_block if cursor is None else cursor.number + 1
        target = chain.block_number() - follower.config.confirmations
        if target - first + 1 <= SYNC_STEP:
            follower.sync(chain)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console(stderr=True), transient=True) as progress:
            task = progress.add_task("indexing ledger blocks", total=target - first + 1)
            while True:
                result = follower.sync(chain, max_blocks=SYNC_STEP)
                done = 0 if result.cursor is None else result.cursor.number - first + 1
                progress.update(task, completed=min(max(done, 0), target - first + 1))
                if result.to_block is None or result.cursor is None or result.cursor.number >= target:
                    return


class EventFormat(StrEnum):
    """How ``audit events`` writes events."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


DEFAULT_EVENT_LIMIT = 100


@app.command("events")
def audit_events_command(
    ctx: typer.Context,
    passport: Annotated[str | None, typer.Option("--passport", help="Only events of this passport.")] = None,
    battery_id: Annotated[
        str | None, typer.Option("--battery-id", help="Only events of this battery.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events naming this address.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Event name, e.g. CustodyTransferred (repeatable).")
    ] = None,
    from_block: Annotated[int | None, typer.Option("--from-block", min=0)] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", min=0)] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"At most this many events (default: {DEFAULT_EVENT_LIMIT} on screen, all into -o FILE).",
        ),
    ] = None,
    fmt: Annotated[EventFormat, typer.Option("--format", help="Output format.")] = EventFormat.TABLE,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write every match to FILE.")] = None,
) -> None:
    """Query the ledger's events (the audit index is synced first), as a table, JSON or CSV."""
    from passport.audit import MAX_PAGE_SIZE, EventQuery, to_csv, to_json_array
    from passport.audit.records import normalize_passport_id

    if json_output:
        fmt = EventFormat.JSON
    if output is not None and fmt is EventFormat.TABLE:
        die("-o writes json or csv: pass --format json or --format csv")
    pid = None if passport is None else arguments.passport_id(passport)
    cap = limit if limit is not None else (None if output is not None else DEFAULT_EVENT_LIMIT)
    with reported("invalid query"):
        battery_hash = None if battery_id is None else battery_id_hash(validate_battery_id(battery_id))
        try:
            query = EventQuery(
                passport_id=None if pid is None else normalize_passport_id(pid),
                battery_id_hash=None if battery_hash is None else "0x" + battery_hash.hex(),
                actor=actor,
                names=tuple(kind or ()),
                from_block=from_block,
                to_block=to_block,
                limit=min(cap or MAX_PAGE_SIZE, MAX_PAGE_SIZE),
            )
        except ValidationError as exc:
            die(f"invalid query: {exc}")
    session = Session.of(ctx)
    with synced_index(session, session.client(None)) as index, reported():
        events = itertools.islice(index.iter_events(query), cap)
        if fmt is EventFormat.TABLE:
            _print_events(list(events))
            return
        chunks = to_csv(events) if fmt is EventFormat.CSV else to_json_array(events)
        if output is None:
            for chunk in chunks:
                typer.echo(chunk, nl=False)
            typer.echo()
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as file:
                for chunk in chunks:
                    file.write(chunk)
        except OSError as exc:
            die(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"events written to {output} ({fmt.value})", err=True)


def _print_events(events: list[AuditEvent]) -> None:
    listing = table("block", "log", "event", "passport", "args")
    for event in events:
        listing.add_row(
            str(event.block_number),
            str(event.log_index),
            event.name,
            event.passport_id or "",
            json.dumps(event.args, sort_keys=True),
        )
    console().print(listing)


def _check(ledger: Ledger, path: Path) -> IndexReport:
    from passport.audit import SqliteAuditIndex, check_index

    with reported(f"cannot check the audit index {path}"), SqliteAuditIndex(path) as index:
        return check_index(index, ledger.reader, start_block=ledger.deployment.deploy_block_number)


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
def check_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Compare every row of the audit index with the chain; exit 1 and list each difference if any."""
    ledger = Session.of(ctx).ledger()
    path = ledger.settings.audit_index_path
    if not path.exists():
        die(f"no audit index at {path} (`passport audit rebuild` builds one)", EXIT_UNREADABLE)
    report = _check(ledger, path)
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)


@app.command("rebuild")
def rebuild_command(
    ctx: typer.Context,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not keep the old index as <index>.bak.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Rebuild the audit index from the chain (stop the API server first), then check it."""
    from passport.audit import FollowerConfig, rebuild_index

    ledger = Session.of(ctx).ledger()
    path = ledger.settings.audit_index_path
    config = FollowerConfig.from_settings(ledger.settings, start_block=ledger.deployment.deploy_block_number)
    with reported(f"cannot rebuild the audit index {path}"):
        result = rebuild_index(ledger.reader, path, config, backup=not no_backup)
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
