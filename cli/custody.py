"""``passport custody``: two-step custody transfers (offer, accept, cancel) and their history.

Mirrors the API's custody routes. Writes act as a keystore participant (``--as``); ``history`` reads
the ledger and the audit index.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import arguments
from cli.arguments import PassportArg, as_option
from cli.audit import synced_index
from cli.output import (
    EXIT_INVALID,
    JsonOption,
    console,
    die,
    echo_json,
    emit,
    receipt_fields,
    reported,
    table,
)
from cli.session import Session
from passport.chain.clock import chain_now
from passport.ids import passport_id_bytes32

app = typer.Typer(
    help="Custody transfers: offer a passport to a registered business, accept, cancel, history.",
    no_args_is_help=True,
)

DEFAULT_OFFER_SECONDS = 7 * 24 * 3600


@app.command("offer")
def custody_offer_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    to: Annotated[str, typer.Argument(help="Address of the registered business offered custody.")],
    expires_in: Annotated[
        int, typer.Option("--expires-in", min=1, help="Seconds (of chain time) the offer stays open.")
    ] = DEFAULT_OFFER_SECONDS,
    participant: Annotated[str, as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Offer custody of a passport (as its current custodian) to a registered business."""
    pid = arguments.passport_id(passport_id)
    recipient = arguments.address(to)
    chain = Session.of(ctx).client(participant)
    with reported():
        # From when the offer will be mined, not the latest block (stale while an instamine node idles).
        expires_at = chain_now(chain) + expires_in
        receipt = chain.offer_custody(passport_id_bytes32(pid), recipient, expires_at)
    result = {"passport_id": str(pid), "from": chain.account, "to": recipient, "expires_at": expires_at}
    emit(result | receipt_fields(receipt), json_output)


@app.command("accept")
def custody_accept_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    participant: Annotated[str, as_option("the offeree; default business")] = "business",
    json_output: JsonOption = False,
) -> None:
    """Accept a pending custody offer (as the business it was made to)."""
    pid = arguments.passport_id(passport_id)
    chain = Session.of(ctx).client(participant)
    with reported():
        receipt = chain.accept_custody(passport_id_bytes32(pid))
    emit({"passport_id": str(pid), "custodian": chain.account} | receipt_fields(receipt), json_output)


@app.command("cancel")
def custody_cancel_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    participant: Annotated[str, as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Withdraw a pending custody offer (as the custodian who made it)."""
    pid = arguments.passport_id(passport_id)
    chain = Session.of(ctx).client(participant)
    with reported():
        receipt = chain.cancel_custody_offer(passport_id_bytes32(pid))
    emit({"passport_id": str(pid)} | receipt_fields(receipt), json_output)


@app.command("history")
def custody_history_command(
    ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False
) -> None:
    """The passport's custody chain from ledger events (offers, transfers, cancellations), oldest first."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    chain = session.client(None)
    with reported():
        record = chain.get_passport(passport_id_bytes32(pid))
        offer = chain.get_custody_offer(passport_id_bytes32(pid))
    if record is None:
        die(f"PassportNotFound: no passport {pid} on the ledger", EXIT_INVALID)
    with synced_index(session, chain) as index, reported():
        events = index.custody_timeline(pid)
    pending = None
    if offer is not None:
        pending = {"from": offer.from_address, "to": offer.to_address, "expires_at": offer.expires_at}
    if json_output:
        echo_json(
            {
                "passport_id": str(pid),
                "custodian": record.custodian,
                "pending_offer": pending,
                "events": [event.model_dump(mode="json") for event in events],
            }
        )
        return
    typer.echo(f"passport {pid}: custodian {record.custodian}")
    if pending is not None:
        typer.echo(f"pending offer to {pending['to']} until {pending['expires_at']}")
    timeline = table("block", "event", "from", "to", "tx")
    for event in events:
        args = event.args
        timeline.add_row(
            str(event.block_number),
            event.name,
            str(args.get("from", "")),
            str(args.get("to", "")),
            event.tx_hash,
        )
    console().print(timeline)
