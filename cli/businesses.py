"""``passport business``: the registry of used-battery businesses (the API's ``/businesses``).

Registering, suspending and reinstating are the ledger admin's (``--as``, default ``admin``); ``show``
reads.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import arguments
from cli.arguments import AccountArg, as_option
from cli.output import EXIT_INVALID, JsonOption, die, emit, receipt_fields, reported
from cli.session import Session
from passport.chain.records import BusinessRecord
from passport.model import BusinessKind

app = typer.Typer(
    help="The registry of used-battery businesses (register, suspend, reinstate: ledger admin).",
    no_args_is_help=True,
)

AdminOption = Annotated[str, as_option("the ledger admin; default admin")]


class BusinessKindName(StrEnum):
    """What a registered business may do (``BusinessKind`` flags, by name)."""

    COLLECTOR = "collector"
    REUSER = "reuser"
    REPURPOSER = "repurposer"
    REMANUFACTURER = "remanufacturer"
    RECYCLER = "recycler"


def _business(record: BusinessRecord) -> dict[str, Any]:
    return {
        "account": record.account,
        "kinds": [kind.value for kind in BusinessKindName if BusinessKind[kind.name] in record.kinds],
        "registration_hash": record.registration_hash,
        "active": record.active,
        "registered_at": record.registered_at,
    }


@app.command("register")
def business_register_command(
    ctx: typer.Context,
    account: AccountArg,
    kind: Annotated[
        list[BusinessKindName], typer.Option("--kind", help="An activity of the business (repeatable).")
    ],
    certificate_hash: Annotated[
        str,
        typer.Option("--certificate-hash", help="0x-hex digest (32 bytes) of the registration certificate."),
    ],
    participant: AdminOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Register a used-battery business with its activities and certificate digest."""
    address = arguments.address(account)
    registration_hash = arguments.bytes32(certificate_hash, "certificate hash")
    kinds = BusinessKind(0)
    for name in kind:
        kinds |= BusinessKind[name.name]
    chain = Session.of(ctx).client(participant)
    with reported():
        receipt = chain.register_business(address, kinds, registration_hash)
    result = {
        "account": address,
        "kinds": sorted({k.value for k in kind}),
        "registration_hash": registration_hash,
    }
    emit(result | receipt_fields(receipt), json_output)


@app.command("suspend")
def business_suspend_command(
    ctx: typer.Context,
    account: AccountArg,
    participant: AdminOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Suspend a registered business: it can no longer be offered or accept custody."""
    _set_active(Session.of(ctx), account, participant, json_output, active=False)


@app.command("reinstate")
def business_reinstate_command(
    ctx: typer.Context,
    account: AccountArg,
    participant: AdminOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Reinstate a suspended business."""
    _set_active(Session.of(ctx), account, participant, json_output, active=True)


def _set_active(session: Session, account: str, participant: str, json_output: bool, *, active: bool) -> None:
    address = arguments.address(account)
    chain = session.client(participant)
    with reported():
        receipt = chain.reinstate_business(address) if active else chain.suspend_business(address)
    emit({"account": address, "active": active} | receipt_fields(receipt), json_output)


@app.command("show")
def business_show_command(ctx: typer.Context, account: AccountArg, json_output: JsonOption = False) -> None:
    """Show a business's registration (kinds, certificate digest, whether it is active)."""
    address = arguments.address(account)
    chain = Session.of(ctx).client(None)
    with reported():
        record = chain.get_business(address)
    if record is None:
        die(f"BusinessNotFound: no business registered for {address}", EXIT_INVALID)
    emit(_business(record), json_output)
