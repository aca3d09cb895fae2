"""Collection devices: register (with an API key for the device, shown once), bind to a battery and
vehicle, unbind and rebind when a pack moves, suspend and reinstate. Roles: ``admin`` or ``issuer``
change devices; those and ``auditor``/``authority``/``oracle`` read them.

A suspended or unbound device's later uploads are refused (``device_suspended`` / ``device_unbound`` in
the upload's problem document); what it sent before stays journaled and provable.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ApiRole, Caller
from api.deps import ServicesDep, caller_with
from api.device_models import DeviceEventPublic, DevicePublic, DeviceRegistered
from api.errors import Conflict
from api.openapi import raises
from api.services import Services
from oracle.device_registry import MAX_TEXT
from oracle.devices import _DEVICE_ID
from passport.ids import BATTERY_ID_PATTERN

router = APIRouter(tags=["devices"])

DeviceManager = Annotated[Caller, Depends(caller_with(ApiRole.ADMIN, ApiRole.ISSUER))]
DeviceReader = Annotated[
    Caller,
    Depends(caller_with(ApiRole.ADMIN, ApiRole.ISSUER, ApiRole.AUDITOR, ApiRole.AUTHORITY, ApiRole.ORACLE)),
]
DeviceIdPath = Annotated[
    str, Path(description="The device id (3-64 letters, digits, ._:-).", pattern=_DEVICE_ID.pattern)
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class DeviceCreate(BaseModel):
    """A device to register: its signing key (address and/or public key), what it is, where it sits."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(pattern=_DEVICE_ID.pattern)
    address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    public_key: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{66,130}$")
    model: Text
    firmware: Text
    battery_id: str = Field(pattern=BATTERY_ID_PATTERN)
    vehicle_id: Text | None = None
    issue_api_key: bool = Field(default=True, description="Create the device's participant and API key.")


class DeviceBind(BaseModel):
    model_config = ConfigDict(extra="forbid")

    battery_id: str = Field(pattern=BATTERY_ID_PATTERN)
    vehicle_id: Text | None = None


class DeviceReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


class DeviceSuspend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


def _relink(services: Services, device_id: str, old: str | None, new: str | None) -> None:
    """Keep the device's API-key participant pointed at the battery it is bound to."""
    for name in services.api_keys.device_participants(device_id):
        if old is not None:
            services.api_keys.unlink_battery(name, old)
        if new is not None:
            services.api_keys.link_battery(name, new)


@router.post("/devices", status_code=201, operation_id="register_device")
@raises(409, 503)
def register_device(body: DeviceCreate, caller: DeviceManager, services: ServicesDep) -> DeviceRegistered:
    """Register a collection device bound to a battery (roles: admin, issuer)."""
    registry, _ = services.device_registry()
    existing = services.api_keys.participant(body.device_id)
    if body.issue_api_key and existing is not None and existing.device_id != body.device_id:
        raise Conflict(f"participant {body.device_id!r} exists and is not this device")
    info = registry.register(
        body.device_id,
        address=body.address,
        public_key=body.public_key,
        model=body.model,
        firmware=body.firmware,
        battery_id=body.battery_id,
        vehicle_id=body.vehicle_id,
        actor=caller.name,
    )
    key = None
    if body.issue_api_key:
        services.api_keys.upsert_participant(
            body.device_id, [ApiRole.DEVICE], device_id=body.device_id, battery_ids=[body.battery_id]
        )
        key = services.api_keys.issue_key(body.device_id)
    return DeviceRegistered(**DevicePublic.of(info).model_dump(), api_key=key)


@router.get("/devices", operation_id="list_devices")
@raises(503)
def list_devices(caller: DeviceReader, services: ServicesDep) -> list[DevicePublic]:
    """Every registered device (roles: admin, issuer, auditor, authority, oracle)."""
    registry, _ = services.device_registry()
    return [DevicePublic.of(info) for info in registry.devices()]


@router.get("/devices/{device_id}", operation_id="get_device")
@raises(404, 503)
def get_device(device_id: DeviceIdPath, caller: DeviceReader, services: ServicesDep) -> DevicePublic:
    """One device's state (roles: admin, issuer, auditor, authority, oracle)."""
    registry, _ = services.device_registry()
    return DevicePublic.of(registry.info(device_id))


@router.get("/devices/{device_id}/history", operation_id="get_device_history")
@raises(404, 503)
def get_device_history(
    device_id: DeviceIdPath, caller: DeviceReader, services: ServicesDep
) -> list[DeviceEventPublic]:
    """A device's lifecycle, oldest first (roles: admin, issuer, auditor, authority, oracle)."""
    registry, _ = services.device_registry()
    registry.info(device_id)
    return [DeviceEventPublic.of(event) for event in registry.history(device_id=device_id)]


@router.post("/devices/{device_id}/bind", operation_id="bind_device")
@raises(404, 409, 503)
def bind_device(
    device_id: DeviceIdPath, body: DeviceBind, caller: DeviceManager, services: ServicesDep
) -> DevicePublic:
    """Bind an unbound device to a battery (and vehicle) (roles: admin, issuer)."""
    registry, _ = services.device_registry()
    info = registry.bind(device_id, body.battery_id, vehicle_id=body.vehicle_id, actor=caller.name)
    _relink(services, device_id, None, body.battery_id)
    return DevicePublic.of(info)


@router.post("/devices/{device_id}/unbind", operation_id="unbind_device")
@raises(404, 409, 503)
def unbind_device(
    device_id: DeviceIdPath, body: DeviceReason, caller: DeviceManager, services: ServicesDep
) -> DevicePublic:
    """Unbind a device from its battery; its uploads are refused until it is bound again."""
    registry, _ = services.device_registry()
    old = registry.info(device_id).battery_id
    info = registry.unbind(device_id, actor=caller.name, reason=body.reason)
    _relink(services, device_id, old, None)
    return DevicePublic.of(info)


@router.post("/devices/{device_id}/suspend", operation_id="suspend_device")
@raises(404, 409, 503)
def suspend_device(
    device_id: DeviceIdPath, body: DeviceSuspend, caller: DeviceManager, services: ServicesDep
) -> DevicePublic:
    """Suspend a device (its later uploads are refused as ``device_suspended``; earlier readings stay)."""
    registry, _ = services.device_registry()
    return DevicePublic.of(registry.suspend(device_id, actor=caller.name, reason=body.reason))


@router.post("/devices/{device_id}/reinstate", operation_id="reinstate_device")
@raises(404, 409, 503)
def reinstate_device(
    device_id: DeviceIdPath, body: DeviceReason, caller: DeviceManager, services: ServicesDep
) -> DevicePublic:
    """Accept a suspended device's uploads again (roles: admin, issuer)."""
    registry, _ = services.device_registry()
    return DevicePublic.of(registry.reinstate(device_id, actor=caller.name, reason=body.reason))
