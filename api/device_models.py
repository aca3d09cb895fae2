"""The API's shapes of collection devices and their lifecycle events (devices and owners routes)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from oracle.device_registry import DeviceEvent, DeviceInfo


class DevicePublic(BaseModel):
    device_id: str
    address: str
    public_key: str | None
    model: str
    firmware: str
    battery_id: str | None = Field(description="The battery it reports on; null while unbound.")
    vehicle_id: str | None
    status: str = Field(description="active, unbound or suspended")
    registered_at: datetime
    suspended_at: datetime | None
    suspend_reason: str | None
    last_seq: int

    @classmethod
    def of(cls, info: DeviceInfo) -> DevicePublic:
        return cls(
            device_id=info.device_id,
            address=info.address,
            public_key=info.public_key,
            model=info.model,
            firmware=info.firmware,
            battery_id=info.battery_id,
            vehicle_id=info.vehicle_id,
            status=info.status,
            registered_at=datetime.fromtimestamp(info.registered_at, UTC),
            suspended_at=None
            if info.suspended_at is None
            else datetime.fromtimestamp(info.suspended_at, UTC),
            suspend_reason=info.suspend_reason,
            last_seq=info.last_seq,
        )


class DeviceRegistered(DevicePublic):
    api_key: str | None = Field(description="The device's API key: shown this once, stored hashed.")


class DeviceEventPublic(BaseModel):
    """One step of a device's lifecycle (``bound``/``unbound`` make a battery's binding history)."""

    device_id: str
    at: datetime
    action: str
    battery_id: str | None
    vehicle_id: str | None
    actor: str
    reason: str | None

    @classmethod
    def of(cls, event: DeviceEvent) -> DeviceEventPublic:
        return cls(
            device_id=event.device_id,
            at=datetime.fromtimestamp(event.at, UTC),
            action=event.action,
            battery_id=event.battery_id,
            vehicle_id=event.vehicle_id,
            actor=event.actor,
            reason=event.reason,
        )
