"""``passport recycled``: recycled-material lots, production certificates, credits, usage claims, and the
offline verification of a passport's recycled content. Mirrors the API's ``/recycled`` routes.

Writes act as a keystore participant (``--as``); the ``RecycledMaterialLedger`` contract decides who may
(a refusal exits 1 naming its custom error); malformed input files exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli import arguments
from cli.arguments import AccountArg, as_option
from cli.output import EXIT_INVALID, JsonOption, die, emit, receipt_fields, reported
from cli.session import Session
from passport.canonical import parse_json_strict
from passport.errors import PassportError
from passport.materials import (
    MaterialsService,
    RecycledLot,
    StoredDocument,
    UsageClaim,
    collect_evidence,
    verify_evidence,
)
from passport.materials.shares import against_targets
from passport.model.circularity import RecycledContentShare, RecycledElement

app = typer.Typer(
    help="Recycled-material certification: lots, certificates, mass-balance credits, usage claims.",
    no_args_is_help=True,
)

M = TypeVar("M", bound=BaseModel)
FileArg = Annotated[Path, typer.Argument(help="JSON file (see the README for its shape).")]
IdArg = Annotated[str, typer.Argument(help="Lot or claim id: 32 bytes of 0x-hex.")]


def read_model(path: Path, model: type[M]) -> M:
    """``path``'s strict JSON as ``model``; exits 2 with the reason when it is unreadable or invalid."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror}")
    with reported(f"{path}"):
        value = parse_json_strict(data)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        die(f"{path}: invalid {model.__name__}: {exc}")


def materials(ctx: typer.Context, participant: str | None) -> MaterialsService:
    ledger = Session.of(ctx).ledger()
    with reported("cannot open the material ledger"):
        return ledger.materials(participant)


def stored(document: StoredDocument) -> dict[str, Any]:
    result: dict[str, Any] = {"cid": document.cid, "digest": "0x" + document.digest.hex()}
    return result | (receipt_fields(document.receipt) if document.receipt is not None else {})


@app.command("record-lot")
def record_lot_command(
    ctx: typer.Context,
    lot_file: FileArg,
    participant: Annotated[str, as_option("the recycler; default recycler")] = "recycler",
    json_output: JsonOption = False,
) -> None:
    """Sign, store and record a lot of recovered metal with its feedstock passports."""
    lot = read_model(lot_file, RecycledLot)
    service = materials(ctx, participant)
    with reported():
        emit({"lot_id": lot.lot_id} | stored(service.record_lot(lot)), json_output)


@app.command("certify-lot")
def certify_lot_command(
    ctx: typer.Context,
    lot_id: IdArg,
    participant: Annotated[str, as_option("the certifier; default certifier")] = "certifier",
    json_output: JsonOption = False,
) -> None:
    """Check a lot against the chain and its passports, then issue its production certificate."""
    lot = arguments.bytes32(lot_id, "lot id")
    service = materials(ctx, participant)
    with reported():
        emit({"lot_id": "0x" + lot.hex()} | stored(service.certify_lot(lot)), json_output)


@app.command("show-lot")
def show_lot_command(ctx: typer.Context, lot_id: IdArg, json_output: JsonOption = False) -> None:
    """A lot as the chain holds it (exit 1 if unknown)."""
    lot = arguments.bytes32(lot_id, "lot id")
    service = materials(ctx, None)
    with reported():
        record = service.ledger.get_lot(lot)
    if record is None:
        die(f"no lot {lot_id}", EXIT_INVALID)
    emit(
        {
            "lot_id": record.lot_id,
            "recycler": record.recycler,
            "status": record.status.name.lower(),
            "post_consumer": record.post_consumer,
            "document_digest": record.document_digest,
            "certificate_digest": record.certificate_digest,
            "feedstock_grams": list(record.feedstock_grams),
            "recovered_grams": list(record.recovered_grams),
            "feedstock": list(record.feedstock),
        },
        json_output,
    )


@app.command("transfer")
def transfer_command(
    ctx: typer.Context,
    to: AccountArg,
    metal: Annotated[RecycledElement, typer.Argument(help="cobalt, lithium, nickel or lead.")],
    grams: Annotated[int, typer.Argument(min=1, help="Grams of metal credits.")],
    pre_consumer: Annotated[bool, typer.Option("--pre-consumer", help="Move pre-consumer credits.")] = False,
    participant: Annotated[str, as_option("the holder; default recycler")] = "recycler",
    json_output: JsonOption = False,
) -> None:
    """Move credits to another holder (a sale of recycled material under mass balance)."""
    recipient = arguments.address(to)
    service = materials(ctx, participant)
    with reported():
        receipt = service.transfer(recipient, metal, grams, post_consumer=not pre_consumer)
    emit({"to": recipient, "metal": metal.value, "grams": grams} | receipt_fields(receipt), json_output)


@app.command("balance")
def balance_command(ctx: typer.Context, account: AccountArg, json_output: JsonOption = False) -> None:
    """A holder's credits per metal and origin (grams)."""
    holder = arguments.address(account)
    service = materials(ctx, None)
    with reported():
        balances = service.balances(holder)
    emit({"account": holder} | {k: v.model_dump() for k, v in balances.items()}, json_output)


@app.command("submit-claim")
def submit_claim_command(
    ctx: typer.Context,
    claim_file: FileArg,
    participant: Annotated[str, as_option("the cell or battery maker; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Sign, store and submit a usage claim: its credits are retired from the maker's balance."""
    claim = read_model(claim_file, UsageClaim)
    service = materials(ctx, participant)
    with reported():
        emit({"claim_id": claim.claim_id} | stored(service.submit_claim(claim)), json_output)


@app.command("certify-claim")
def certify_claim_command(
    ctx: typer.Context,
    claim_id: IdArg,
    participant: Annotated[str, as_option("the certifier; default certifier")] = "certifier",
    json_output: JsonOption = False,
) -> None:
    """Check a usage claim, compute its Art. 8 shares and issue the usage certificate."""
    claim = arguments.bytes32(claim_id, "claim id")
    service = materials(ctx, participant)
    with reported():
        certificate = service.certify_usage(claim)
        shares = service.passport_shares(certificate)
    result = stored(certificate) | {
        "shares": [s.model_dump(mode="json") for s in shares],
        "targets": {e.value: row for e, row in against_targets(shares).items()},
    }
    emit(result, json_output)


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    shares_file: Annotated[Path, typer.Argument(help="JSON list of a passport's recycled-content shares.")],
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="Also trust this certifier address (repeatable).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Follow a passport's recycled content back to the recycled batteries; exit 1 if a check fails."""
    try:
        value = parse_json_strict(shares_file.read_bytes())
        shares = TypeAdapter(list[RecycledContentShare]).validate_python(value)
    except OSError as exc:
        die(f"cannot read {shares_file}: {exc.strerror}")
    except (ValidationError, PassportError) as exc:
        die(f"{shares_file}: not a list of recycled-content shares: {exc}")
    session = Session.of(ctx)
    service = materials(ctx, None)
    ledger = session.ledger()
    trusted = [g.account for g in ledger.deployment.material_role_grants if g.role == "CERTIFIER"]
    trusted += [arguments.address(a) for a in trust or []]
    with reported():
        evidence = collect_evidence(shares, store=service.store, ledger=service.ledger, chain=ledger.reader)
    result = verify_evidence(evidence, trusted_certifiers=trusted)
    emit(
        {
            "ok": result.ok,
            "failed": result.failed,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks],
        },
        json_output,
    )
    if not result.ok:
        raise typer.Exit(EXIT_INVALID)
