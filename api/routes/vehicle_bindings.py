"""Packs in vehicles and swap stations: installation, removal, swaps and the binding history.

A vehicle is named by its VIN in the request and only keccak256 of the VIN goes on-chain (and into the
response); a station by its identifier, likewise hashed. The passport's custodian, its legal owner or
an OPERATOR of the services contract (swap-station operators) may bind; a swap moves the vehicle's pack
into the station and the station's pack into the vehicle in one transaction, or nothing at all (409).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from api.deps import AuthCaller, PassportId, ServicesDep
from api.openapi import raises
from api.service_schemas import BindingPublic, Reading, ReceiptPublic
from passport.errors import InvalidIdentifier
from passport.ids import parse_passport_id, passport_id_bytes32
from passport.servicemodels import HolderKind, station_hash, vehicle_hash

router = APIRouter(tags=["battery services"])

Vin = Annotated[str, StringConstraints(pattern=r"^\s*[A-HJ-NPR-Za-hj-npr-z0-9]{11,17}\s*$")]
StationId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class InstallCreate(BaseModel):
    """Install an unbound pack in a vehicle (give ``vin``) or a swap station (give ``station_id``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["vehicle", "station"]
    vin: Vin | None = None
    station_id: StationId | None = None
    reading: Reading

    def holder(self) -> tuple[HolderKind, bytes]:
        if self.kind == "vehicle":
            if self.vin is None or self.station_id is not None:
                raise ValueError("a vehicle binding names a vin and no station_id")
            return HolderKind.VEHICLE, vehicle_hash(self.vin)
        if self.station_id is None or self.vin is not None:
            raise ValueError("a station binding names a station_id and no vin")
        return HolderKind.STATION, station_hash(self.station_id)


class RemovalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reading: Reading


class SwapCreate(BaseModel):
    """The vehicle's pack (``outgoing``) goes to the station, the station's (``incoming``) to the vehicle."""

    model_config = ConfigDict(extra="forbid")

    vin: Vin
    station_id: StationId
    outgoing_passport_id: str
    incoming_passport_id: str
    outgoing_reading: Reading
    incoming_reading: Reading


class BindingStepPublic(BaseModel):
    installed: bool
    kind: Literal["vehicle", "station"]
    holder_hash: str
    by: str
    reading: Reading
    block_number: int
    tx_hash: str


class BindingsPublic(BaseModel):
    """Where the pack is now, and every installation and removal in chain order."""

    current: BindingPublic | None
    history: list[BindingStepPublic]


@router.post("/passports/{passport_id}/binding", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 422, 503)
def install_pack(
    pid: PassportId, body: InstallCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Install the pack in a vehicle or station (409 if it is bound elsewhere or the caller may not)."""
    try:
        kind, holder = body.holder()
    except ValueError as exc:
        raise InvalidIdentifier(str(exc)) from None
    models = services.service_models_for(caller)
    return ReceiptPublic.of(models.install(passport_id_bytes32(pid), kind, holder, body.reading.hand_over()))


@router.post("/passports/{passport_id}/binding/removal", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def remove_pack(
    pid: PassportId, body: RemovalCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Remove the pack from where it is bound."""
    models = services.service_models_for(caller)
    return ReceiptPublic.of(models.remove(passport_id_bytes32(pid), body.reading.hand_over()))


@router.get("/passports/{passport_id}/bindings", response_model=BindingsPublic)
@raises(400, 503)
def get_pack_bindings(pid: PassportId, services: ServicesDep) -> BindingsPublic:
    """The pack's current binding and its full binding history."""
    models = services.service_models_for(None)
    pid32 = passport_id_bytes32(pid)
    current = models.ledger.get_binding(pid32)
    return BindingsPublic(
        current=None if current is None else BindingPublic.of(current),
        history=[
            BindingStepPublic(
                installed=step.installed,
                kind="vehicle" if step.kind is HolderKind.VEHICLE else "station",
                holder_hash="0x" + step.holder.hex(),
                by=step.by,
                reading=Reading.of(step.reading),
                block_number=step.block_number,
                tx_hash="0x" + step.tx_hash.hex(),
            )
            for step in models.binding_history(pid32)
        ],
    )


@router.post("/swaps", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def swap_packs(body: SwapCreate, caller: AuthCaller, services: ServicesDep) -> ReceiptPublic:
    """Swap the vehicle's pack for the station's at once (409, and nothing recorded, if a leg fails)."""
    models = services.service_models_for(caller)
    receipt = models.swap(
        vehicle_hash(body.vin),
        station_hash(body.station_id),
        passport_id_bytes32(parse_passport_id(body.outgoing_passport_id)),
        passport_id_bytes32(parse_passport_id(body.incoming_passport_id)),
        body.outgoing_reading.hand_over(),
        body.incoming_reading.hand_over(),
    )
    return ReceiptPublic.of(receipt)
