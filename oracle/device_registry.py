"""The lifecycle of collection devices: register, bind to a battery (and vehicle), unbind, rebind,
suspend and reinstate, with every step kept as history.

The journal's ``devices`` table stays what ingestion reads on every upload (key address, the battery the
device reports on, ``active``, last sequence): ``active`` is 1 exactly when the device is bound and not
suspended, so the hot path stays one primary-key lookup. What this module adds lives in two tables of
the same journal file:

* ``device_profiles`` — the device's public key, model, firmware, current vehicle, whether it is bound,
  and, while suspended, since when and why;
* ``device_events`` — one row per lifecycle step (``registered``, ``bound``, ``unbound``, ``suspended``,
  ``reinstated``), with the battery and vehicle it concerned and who did it. A battery's binding
  history is the events naming that battery; it is part of the battery's record.

Records already journaled are never touched: each carries the battery it was measured on, so a pack
that moves (swap, repurpose) keeps its own history, and a suspended device's acknowledged readings
stay in their batches and stay provable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import coincurve
from eth_utils.address import to_checksum_address

from oracle.devices import DeviceRecord, validate_device_id
from oracle.errors import (
    DeviceStateError,
    DeviceSuspended,
    DeviceUnbound,
    InvalidDeviceDetails,
    UnknownDevice,
    UnknownDeviceId,
)
from oracle.journal import Journal
from oracle.merkle import keccak256
from passport.errors import InvalidIdentifier
from passport.ids import validate_battery_id
from passport.signing import checksum_address

DeviceAction = Literal["registered", "bound", "unbound", "suspended", "reinstated"]
DeviceStatus = Literal["active", "unbound", "suspended"]

MAX_TEXT = 200  # model, firmware, vehicle id, reasons, actor names


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A registered device as its operator sees it."""

    device_id: str
    address: str
    public_key: str | None
    model: str
    firmware: str
    battery_id: str | None  # None while unbound
    vehicle_id: str | None
    status: DeviceStatus
    registered_at: float
    suspended_at: float | None
    suspend_reason: str | None
    last_seq: int


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One lifecycle step of a device."""

    id: int
    device_id: str
    at: float
    action: DeviceAction
    battery_id: str | None
    vehicle_id: str | None
    actor: str
    reason: str | None


def _text(value: str | None, name: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidDeviceDetails(f"{name} is required")
        return None
    if len(value) > MAX_TEXT or not value.isprintable():
        raise InvalidDeviceDetails(f"{name} must be at most {MAX_TEXT} printable characters")
    return value


def address_of_public_key(public_key: str) -> str:
    """The checksummed address of a secp256k1 public key (0x-hex, compressed or uncompressed)."""
    text = public_key[2:] if public_key.startswith(("0x", "0X")) else public_key
    try:
        raw = bytes.fromhex(text)
        if len(raw) == 64:  # uncompressed without the 0x04 prefix, as Ethereum tooling often prints it
            raw = b"\x04" + raw
        point = coincurve.PublicKey(raw).format(compressed=False)
    except ValueError as exc:
        raise InvalidDeviceDetails(f"public key is not a secp256k1 point: {exc}") from None
    return to_checksum_address(keccak256(point[1:])[12:])


class DeviceRegistry:
    """Device lifecycle on the oracle's journal (see the module docstring)."""

    def __init__(self, journal: Journal) -> None:
        # Its tables (device_profiles, device_events) are journal migration 0002.
        self.journal = journal

    # -- lifecycle ---------------------------------------------------------------------------------

    def register(
        self,
        device_id: str,
        *,
        address: str | None,
        public_key: str | None,
        model: str,
        firmware: str,
        battery_id: str,
        vehicle_id: str | None,
        actor: str,
    ) -> DeviceInfo:
        """Register a device bound to ``battery_id``; idempotent for the same key, battery and details."""
        validate_device_id(device_id)
        validate_battery_id(battery_id)
        _text(model, "model", required=True)
        _text(firmware, "firmware", required=True)
        _text(vehicle_id, "vehicle_id")
        if address is not None:
            try:
                address = checksum_address(address, "device address")
            except InvalidIdentifier as exc:
                raise InvalidDeviceDetails(str(exc)) from None
        if public_key is not None:
            derived = address_of_public_key(public_key)
            if address is not None and address != derived:
                raise InvalidDeviceDetails(f"address {address} is not the address of the given public key")
            address = derived
        if address is None:
            raise InvalidDeviceDetails("a device needs its signing address or public key (0x-hex)")
        with self.journal.transaction() as conn:
            existing = self.journal.device(device_id)
            record = self.journal.register_device(device_id, address, battery_id)
            if existing is None:
                conn.execute(
                    "INSERT INTO device_profiles (device_id, public_key, model, firmware, vehicle_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (device_id, public_key, model, firmware, vehicle_id),
                )
                self._event(device_id, "registered", battery_id, vehicle_id, actor, None)
                self._event(device_id, "bound", battery_id, vehicle_id, actor, None)
            elif self._profile_row(device_id) is None:
                # Registered before profiles existed (or by ``Journal.register_device`` alone): adopt it.
                conn.execute(
                    "INSERT INTO device_profiles (device_id, public_key, model, firmware, vehicle_id, bound) "
                    "VALUES (?, ?, ?, ?, ?, 1)",
                    (device_id, public_key, model, firmware, vehicle_id),
                )
                self._event(device_id, "registered", record.battery_id, vehicle_id, actor, None)
        return self.info(device_id)

    def bind(self, device_id: str, battery_id: str, *, vehicle_id: str | None, actor: str) -> DeviceInfo:
        """Bind an unbound device to ``battery_id`` (a pack moved: swap, repurpose)."""
        validate_battery_id(battery_id)
        _text(vehicle_id, "vehicle_id")
        with self.journal.transaction() as conn:
            info = self.info(device_id)
            if info.battery_id is not None:
                raise DeviceStateError(f"device {device_id} is bound to {info.battery_id}; unbind it first")
            active = 0 if info.suspended_at is not None else 1
            conn.execute(
                "UPDATE devices SET battery_id = ?, active = ? WHERE device_id = ?",
                (battery_id, active, device_id),
            )
            conn.execute(
                "UPDATE device_profiles SET bound = 1, vehicle_id = ? WHERE device_id = ?",
                (vehicle_id, device_id),
            )
            self._event(device_id, "bound", battery_id, vehicle_id, actor, None)
        return self.info(device_id)

    def unbind(self, device_id: str, *, actor: str, reason: str | None = None) -> DeviceInfo:
        """Unbind a device from its battery; its later uploads are refused until it is bound again."""
        _text(reason, "reason")
        with self.journal.transaction() as conn:
            info = self.info(device_id)
            if info.battery_id is None:
                raise DeviceStateError(f"device {device_id} is not bound to a battery")
            conn.execute("UPDATE devices SET active = 0 WHERE device_id = ?", (device_id,))
            conn.execute(
                "UPDATE device_profiles SET bound = 0, vehicle_id = NULL WHERE device_id = ?", (device_id,)
            )
            self._event(device_id, "unbound", info.battery_id, info.vehicle_id, actor, reason)
        return self.info(device_id)

    def suspend(self, device_id: str, *, actor: str, reason: str) -> DeviceInfo:
        """Refuse the device's later uploads (compromised key, faulty unit); what it sent stays."""
        _text(reason, "reason", required=True)
        with self.journal.transaction() as conn:
            info = self.info(device_id)
            if info.suspended_at is not None:
                raise DeviceStateError(f"device {device_id} is already suspended")
            conn.execute("UPDATE devices SET active = 0 WHERE device_id = ?", (device_id,))
            conn.execute(
                "UPDATE device_profiles SET suspended_at = ?, suspend_reason = ? WHERE device_id = ?",
                (self.journal.now(), reason, device_id),
            )
            self._event(device_id, "suspended", info.battery_id, info.vehicle_id, actor, reason)
        return self.info(device_id)

    def reinstate(self, device_id: str, *, actor: str, reason: str | None = None) -> DeviceInfo:
        """Accept the device's uploads again (if it is bound)."""
        _text(reason, "reason")
        with self.journal.transaction() as conn:
            info = self.info(device_id)
            if info.suspended_at is None:
                raise DeviceStateError(f"device {device_id} is not suspended")
            active = 1 if info.battery_id is not None else 0
            conn.execute("UPDATE devices SET active = ? WHERE device_id = ?", (active, device_id))
            conn.execute(
                "UPDATE device_profiles SET suspended_at = NULL, suspend_reason = NULL WHERE device_id = ?",
                (device_id,),
            )
            self._event(device_id, "reinstated", info.battery_id, info.vehicle_id, actor, reason)
        return self.info(device_id)

    # -- reads -------------------------------------------------------------------------------------

    def info(self, device_id: str) -> DeviceInfo:
        """The device's current state; ``UnknownDeviceId`` if it is not registered."""
        validate_device_id(device_id)
        record = self.journal.device(device_id)
        if record is None:
            raise UnknownDeviceId(f"device {device_id} is not registered")
        return self._info(record)

    def find(self, device_id: str) -> DeviceInfo | None:
        record = self.journal.device(device_id)
        return None if record is None else self._info(record)

    def devices(self, *, battery_id: str | None = None) -> list[DeviceInfo]:
        """Every registered device (or those currently bound to ``battery_id``), by id."""
        infos = [self._info(record) for record in self.journal.devices()]
        if battery_id is not None:
            infos = [info for info in infos if info.battery_id == battery_id]
        return infos

    def history(self, *, battery_id: str | None = None, device_id: str | None = None) -> list[DeviceEvent]:
        """Lifecycle events naming ``battery_id`` (its binding history) or of ``device_id``, oldest first."""
        sql = "SELECT id, device_id, at, action, battery_id, vehicle_id, actor, reason FROM device_events "
        if battery_id is not None:
            rows = self.journal.query(sql + "WHERE battery_id = ? ORDER BY id", (battery_id,))
        elif device_id is not None:
            rows = self.journal.query(sql + "WHERE device_id = ? ORDER BY id", (device_id,))
        else:
            rows = self.journal.query(sql + "ORDER BY id")
        return [DeviceEvent(*row) for row in rows]

    def refusal(self, device: DeviceRecord) -> UnknownDevice | DeviceSuspended | DeviceUnbound:
        """Why an inactive device's upload is refused: suspended, unbound, or (legacy) deactivated."""
        row = self._profile_row(device.device_id)
        if row is not None and row[5] is not None:
            return DeviceSuspended(f"device {device.device_id} is suspended: {row[6]}")
        if row is not None and not row[4]:
            return DeviceUnbound(f"device {device.device_id} is not bound to a battery")
        return UnknownDevice(f"device {device.device_id} is deactivated")

    # -- plumbing ----------------------------------------------------------------------------------

    def _profile_row(self, device_id: str) -> tuple[object, ...] | None:
        rows = self.journal.query(
            "SELECT public_key, model, firmware, vehicle_id, bound, suspended_at, suspend_reason "
            "FROM device_profiles WHERE device_id = ?",
            (device_id,),
        )
        return rows[0] if rows else None

    def _info(self, record: DeviceRecord) -> DeviceInfo:
        row = self._profile_row(record.device_id)
        if row is None:  # registered through the journal alone: bound iff active
            row = (None, "unknown", "unknown", None, 1, None if record.active else 0.0, None)
        public_key, model, firmware, vehicle_id, bound, suspended_at, reason = row
        status: DeviceStatus = "suspended" if suspended_at is not None else ("active" if bound else "unbound")
        return DeviceInfo(
            device_id=record.device_id,
            address=record.address,
            public_key=None if public_key is None else str(public_key),
            model=str(model),
            firmware=str(firmware),
            battery_id=record.battery_id if bound else None,
            vehicle_id=None if vehicle_id is None else str(vehicle_id),
            status=status,
            registered_at=record.registered_at,
            suspended_at=None if suspended_at is None else float(str(suspended_at)),
            suspend_reason=None if reason is None else str(reason),
            last_seq=record.last_seq,
        )

    def _event(
        self,
        device_id: str,
        action: DeviceAction,
        battery_id: str | None,
        vehicle_id: str | None,
        actor: str,
        reason: str | None,
    ) -> None:
        with self.journal.transaction() as conn:
            conn.execute(
                "INSERT INTO device_events (device_id, at, action, battery_id, vehicle_id, actor, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device_id, self.journal.now(), action, battery_id, vehicle_id, actor[:MAX_TEXT], reason),
            )
