"""``passport services``: battery service models — legal owner and consents, subscription / lease
contracts, vehicle and swap-station bindings, swaps, second-life storage installations and claims.
Mirrors the API's battery-service routes.

Writes act as a keystore participant (``--as``); the ``BatteryServices`` contract (and the registry,
for consent) decides who may: a refusal exits 1 naming its custom error; bad input exits 2. A VIN is
hashed (keccak256) before anything leaves the machine; only the hash is recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli import arguments
from cli.arguments import AccountArg, PassportArg, as_option
from cli.output import EXIT_INVALID, JsonOption, die, emit, receipt_fields, reported
from cli.recycled import read_model
from cli.session import Session
from passport.chain.clock import chain_now
from passport.chain.services import ServicesRole
from passport.ids import passport_id_bytes32
from passport.servicemodels import (
    ClaimKind,
    ConsentAction,
    HandOver,
    HolderKind,
    LeaseContract,
    ServiceModels,
    StorageRole,
    site_hash,
    station_hash,
    vehicle_hash,
)

app = typer.Typer(
    help="Battery service models: legal owner, leases, vehicle/station bindings, swaps, storage, claims.",
    no_args_is_help=True,
)

SocOption = Annotated[float, typer.Option("--soc", min=0, max=100, help="State of charge at hand-over, %.")]
SohOption = Annotated[float, typer.Option("--soh", min=0, max=100, help="State of health at hand-over, %.")]


def models(ctx: typer.Context, participant: str | None) -> ServiceModels:
    ledger = Session.of(ctx).ledger()
    with reported("cannot open the battery-services contract"):
        return ledger.service_models(participant)


def pid32(value: str) -> bytes:
    return passport_id_bytes32(arguments.passport_id(value))


def reading(soc: float, soh: float) -> HandOver:
    return HandOver(round(soc * 100), round(soh * 100))


@app.command("owner")
def owner_command(
    ctx: typer.Context,
    passport: PassportArg,
    owner: AccountArg,
    participant: Annotated[str, as_option("the issuer or custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Record the battery's first legal owner (e.g. the leasing or subscription company)."""
    pid, account = pid32(passport), arguments.address(owner)
    service = models(ctx, participant)
    with reported():
        emit({"legal_owner": account} | receipt_fields(service.record_owner(pid, account)), json_output)


@app.command("transfer-owner")
def transfer_owner_command(
    ctx: typer.Context,
    passport: PassportArg,
    new_owner: AccountArg,
    participant: Annotated[str, as_option("the legal owner")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Move legal ownership (the legal owner only); its consents lapse."""
    pid, account = pid32(passport), arguments.address(new_owner)
    service = models(ctx, participant)
    with reported():
        emit({"legal_owner": account} | receipt_fields(service.transfer_ownership(pid, account)), json_output)


@app.command("consent")
def consent_command(
    ctx: typer.Context,
    passport: PassportArg,
    action: Annotated[str, typer.Argument(help="transfer, repurpose or recycle.")],
    expires_in: Annotated[int, typer.Option(min=60, help="Seconds the consent lasts.")] = 7 * 86_400,
    counterparty: Annotated[
        str | None, typer.Option(help="The only counterparty allowed (default: any).")
    ] = None,
    participant: Annotated[str, as_option("the legal owner")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Consent, as legal owner, to the custodian transferring, repurposing or recycling the battery."""
    if action.upper() not in ConsentAction.__members__:
        die(f"action must be transfer, repurpose or recycle, not {action!r}")
    pid = pid32(passport)
    other = None if counterparty is None else arguments.address(counterparty)
    service = models(ctx, participant)
    with reported():
        expires_at = chain_now(service.chain) + expires_in
        receipt = service.grant_consent(pid, ConsentAction[action.upper()], other, expires_at)
    emit({"action": action.lower(), "expires_at": expires_at} | receipt_fields(receipt), json_output)


@app.command("lease")
def lease_command(
    ctx: typer.Context,
    lease_file: Annotated[Path, typer.Argument(help="The lease contract, JSON (see the README).")],
    participant: Annotated[str, as_option("the lessor, the battery's legal owner")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Sign (as lessor), store and record a subscription / lease contract."""
    contract = read_model(lease_file, LeaseContract)
    service = models(ctx, participant)
    with reported():
        stored = service.record_lease(contract)
    result: dict[str, Any] = {"lease_id": contract.lease_id, "cid": stored.cid, "digest": stored.digest}
    emit(result | (receipt_fields(stored.receipt) if stored.receipt else {}), json_output)


@app.command("show-lease")
def show_lease_command(
    ctx: typer.Context,
    lease_id: Annotated[str, typer.Argument(help="Lease id: 32 bytes of 0x-hex.")],
    json_output: JsonOption = False,
) -> None:
    """A lease with its signed contract, checked against the chain (exit 1 if unknown or mismatched)."""
    lid = arguments.bytes32(lease_id, "lease id")
    service = models(ctx, None)
    with reported():
        view = service.read_lease(lid)
    emit(
        {
            "lease_id": "0x" + lid.hex(),
            "cid": view.cid,
            "ended_at": view.lease.ended_at or None,
            "contract": view.contract.model_dump(mode="json"),
        },
        json_output,
    )


@app.command("install")
def install_command(
    ctx: typer.Context,
    passport: PassportArg,
    vin: Annotated[
        str | None, typer.Option(help="The vehicle's VIN (only its keccak256 is recorded).")
    ] = None,
    station: Annotated[str | None, typer.Option(help="The swap station's identifier.")] = None,
    soc: SocOption = 100.0,
    soh: SohOption = 100.0,
    participant: Annotated[
        str, as_option("custodian, legal owner or operator; default collector")
    ] = "collector",
    json_output: JsonOption = False,
) -> None:
    """Install the pack in a vehicle (``--vin``) or a swap station (``--station``)."""
    if (vin is None) == (station is None):
        die("give exactly one of --vin and --station")
    kind, holder = (
        (HolderKind.VEHICLE, vehicle_hash(vin)) if vin else (HolderKind.STATION, station_hash(station or ""))
    )
    pid = pid32(passport)
    service = models(ctx, participant)
    with reported():
        receipt = service.install(pid, kind, holder, reading(soc, soh))
    emit({"kind": kind.name.lower(), "holder_hash": holder} | receipt_fields(receipt), json_output)


@app.command("remove")
def remove_command(
    ctx: typer.Context,
    passport: PassportArg,
    soc: SocOption = 100.0,
    soh: SohOption = 100.0,
    participant: Annotated[
        str, as_option("custodian, legal owner or operator; default collector")
    ] = "collector",
    json_output: JsonOption = False,
) -> None:
    """Remove the pack from where it is bound."""
    pid = pid32(passport)
    service = models(ctx, participant)
    with reported():
        emit(receipt_fields(service.remove(pid, reading(soc, soh))), json_output)


@app.command("swap")
def swap_command(
    ctx: typer.Context,
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN (only its keccak256 is recorded).")],
    station: Annotated[str, typer.Argument(help="The swap station's identifier.")],
    outgoing: Annotated[str, typer.Argument(help="Passport of the pack leaving the vehicle.")],
    incoming: Annotated[str, typer.Argument(help="Passport of the pack leaving the station.")],
    out_soc: Annotated[float, typer.Option(min=0, max=100, help="Outgoing pack's state of charge, %.")] = 0.0,
    out_soh: Annotated[
        float, typer.Option(min=0, max=100, help="Outgoing pack's state of health, %.")
    ] = 100.0,
    in_soc: Annotated[
        float, typer.Option(min=0, max=100, help="Incoming pack's state of charge, %.")
    ] = 100.0,
    in_soh: Annotated[
        float, typer.Option(min=0, max=100, help="Incoming pack's state of health, %.")
    ] = 100.0,
    participant: Annotated[str, as_option("a station operator; default collector")] = "collector",
    json_output: JsonOption = False,
) -> None:
    """Swap the vehicle's pack for the station's in one transaction (nothing recorded if a leg fails)."""
    out_pid, in_pid = pid32(outgoing), pid32(incoming)
    service = models(ctx, participant)
    with reported():
        receipt = service.swap(
            vehicle_hash(vin), station_hash(station), out_pid, in_pid,
            reading(out_soc, out_soh), reading(in_soc, in_soh),
        )  # fmt: skip
    emit(receipt_fields(receipt), json_output)


@app.command("bindings")
def bindings_command(ctx: typer.Context, passport: PassportArg, json_output: JsonOption = False) -> None:
    """The pack's binding history (installations and removals, in chain order)."""
    pid = pid32(passport)
    service = models(ctx, None)
    with reported():
        history = service.binding_history(pid)
    emit(
        {
            "history": [
                {
                    "installed": step.installed,
                    "kind": step.kind.name.lower(),
                    "holder_hash": "0x" + step.holder.hex(),
                    "soc_percent": step.reading.soc_bps / 100,
                    "soh_percent": step.reading.soh_bps / 100,
                    "block_number": step.block_number,
                }
                for step in history
            ]
        },
        json_output,
    )


@app.command("storage")
def storage_command(
    ctx: typer.Context,
    passport: PassportArg,
    site: Annotated[str, typer.Argument(help="The storage site's identifier (hashed on-chain).")],
    rated_energy_wh: Annotated[int, typer.Argument(min=1, help="The pack's rated energy in the system, Wh.")],
    role: Annotated[str, typer.Option(help="backup, peak_shaving, frequency_regulation, …")] = "peak_shaving",
    participant: Annotated[str, as_option("the repurposer; default repurposer")] = "repurposer",
    json_output: JsonOption = False,
) -> None:
    """Record a repurposed pack's installation in a stationary storage system."""
    if role.upper() not in StorageRole.__members__:
        die(f"role must be one of {', '.join(r.name.lower() for r in StorageRole)}, not {role!r}")
    pid = pid32(passport)
    service = models(ctx, participant)
    with reported():
        receipt = service.record_storage(pid, site_hash(site), rated_energy_wh, StorageRole[role.upper()])
    emit({"site_hash": site_hash(site)} | receipt_fields(receipt), json_output)


@app.command("claim")
def claim_command(
    ctx: typer.Context,
    passport: PassportArg,
    kind: Annotated[str, typer.Argument(help="energy_delivered (Wh) or avoided_emission (g CO2e).")],
    period: Annotated[int, typer.Argument(help="The month, yyyymm.")],
    quantity: Annotated[int, typer.Argument(min=1, help="Wh or g CO2e.")],
    evidence: Annotated[str, typer.Argument(help="Evidence digest, 32 bytes of 0x-hex.")],
    participant: Annotated[str, as_option("custodian or legal owner; default repurposer")] = "repurposer",
    json_output: JsonOption = False,
) -> None:
    """Record a claim once per battery, kind and month (exit 1 naming the error for a second one)."""
    if kind.upper() not in ClaimKind.__members__:
        die(f"kind must be energy_delivered or avoided_emission, not {kind!r}")
    pid, digest = pid32(passport), arguments.bytes32(evidence, "evidence digest")
    service = models(ctx, participant)
    with reported():
        receipt = service.record_claim(pid, ClaimKind[kind.upper()], period, quantity, digest)
    emit({"period": period, "quantity": quantity} | receipt_fields(receipt), json_output)


@app.command("grant-operator")
def grant_operator_command(
    ctx: typer.Context,
    account: AccountArg,
    participant: Annotated[str, as_option("the services contract's admin; default admin")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Let ``account`` (a fleet or swap-station operator) bind any open pack and record swaps."""
    operator = arguments.address(account)
    service = models(ctx, participant)
    with reported():
        receipt = service.ledger.grant_role(ServicesRole.OPERATOR, operator)
    emit({"operator": operator} | receipt_fields(receipt), json_output)


@app.command("show")
def show_command(ctx: typer.Context, passport: PassportArg, json_output: JsonOption = False) -> None:
    """What the services contract says about a battery: owner, consents, binding, storage, leases, claims."""
    pid = pid32(passport)
    service = models(ctx, None)
    with reported():
        overview = service.overview(pid)
    if not (
        overview.legal_owner or overview.binding or overview.storage or overview.leases or overview.claims
    ):
        die("no service records for this passport", EXIT_INVALID)
    emit(
        {
            "legal_owner": overview.legal_owner,
            "consents": [
                {"action": c.action.name.lower(), "counterparty": c.counterparty, "expires_at": c.expires_at}
                for c in overview.consents
            ],
            "binding": None
            if overview.binding is None
            else {
                "kind": overview.binding.kind.name.lower(),
                "holder_hash": "0x" + overview.binding.holder.hex(),
            },
            "storage": None
            if overview.storage is None
            else {
                "rated_energy_wh": overview.storage.rated_energy_wh,
                "role": overview.storage.role.name.lower(),
            },
            "leases": ["0x" + lease.lease_id.hex() for lease in overview.leases],
            "claims": [
                {"kind": c.kind.name.lower(), "period": c.period, "quantity": c.quantity}
                for c in overview.claims
            ],
        },
        json_output,
    )
