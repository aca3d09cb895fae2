"""Test builders shared by every suite: telemetry readings and device-signed uploads.

* ``reading(kind, **overrides)`` is the one reading builder: a valid reading of ``kind`` as the JSON
  object a device sends, ``overrides`` replacing (or adding) fields. ``charging``, ``safety``, ``parking``
  and ``diagnostics`` name its four kinds; ``reading_model`` parses one into its ``oracle.readings`` model.
* ``SigningDevice`` is the one device signer: it numbers and signs uploads with the production
  ``oracle.devices.sign_upload`` (so tests sign exactly as devices and simulators do).
  ``SigningDevice.numbered(n)`` is device ``n`` of the test fleet, with a fixed key (reproducible
  signatures and upload digests), ``dev-{n:03d}`` reporting on ``KR-BUSAN-BAT-{n:05d}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, Literal

from oracle.devices import DeviceKey, SignedUpload, sign_upload
from oracle.journal import Journal
from oracle.readings import ChargingSession, DiagnosticSnapshot, ParkingPeriod, SafetyEvent, parse_reading
from passport.canonical import canonical_json

ReadingKind = Literal["charging", "safety", "parking", "diagnostics"]
Reading = ChargingSession | SafetyEvent | ParkingPeriod | DiagnosticSnapshot

# One valid reading of each kind, consistent within itself (energy <= max power x duration, SoC rises
# while charging, ...), so an override changes exactly the property a test is about.
READING_DEFAULTS: Mapping[ReadingKind, Mapping[str, Any]] = {
    "charging": {
        "kind": "charging",
        "started_at": "2025-03-01T08:00:00+09:00",
        "ended_at": "2025-03-01T09:00:00+09:00",
        "energy_kwh": 12.5,
        "soc_start_pct": 20.5,
        "soc_end_pct": 80,
        "avg_power_kw": 11.2,
        "max_power_kw": 22,
        "max_cell_temp_c": 35.5,
        "mode": "slow",
    },
    "safety": {
        "kind": "safety",
        "occurred_at": "2025-03-02T10:15:00Z",
        "event": "over_temperature",
        "severity": "warning",
        "max_cell_temp_c": 58.0,
        "min_cell_temp_c": 31.0,
    },
    "parking": {
        "kind": "parking",
        "started_at": "2025-03-03T19:00:00+09:00",
        "ended_at": "2025-03-04T07:30:00+09:00",
        "temp_min_c": -2.5,
        "temp_max_c": 8.0,
        "self_discharge_pct": 0.4,
    },
    "diagnostics": {
        "kind": "diagnostics",
        "measured_at": "2025-03-05T00:00:00Z",
        "capacity_ah": 180.0,
        "soce_pct": 93.5,
        "internal_resistance_mohm": 95.0,
        "cell_voltage_spread_mv": 18,
        "cycle_count": 640,
        "energy_throughput_kwh": 41_000,
        "capacity_throughput_ah": 115_000,
        "cell_soh_spread_pct": 1.8,
    },
}


def reading(kind: ReadingKind, /, **overrides: Any) -> dict[str, Any]:
    """A valid ``kind`` reading as a device sends it, with ``overrides`` applied (``None`` stays ``null``)."""
    value = deepcopy(dict(READING_DEFAULTS[kind]))
    value.update(overrides)
    return value


def charging(**overrides: Any) -> dict[str, Any]:
    return reading("charging", **overrides)


def safety(**overrides: Any) -> dict[str, Any]:
    return reading("safety", **overrides)


def parking(**overrides: Any) -> dict[str, Any]:
    return reading("parking", **overrides)


def diagnostics(**overrides: Any) -> dict[str, Any]:
    return reading("diagnostics", **overrides)


def reading_model(kind: ReadingKind, /, **overrides: Any) -> Reading:
    """The ``oracle.readings`` model of ``reading(kind, **overrides)``, parsed the way ingestion does;
    an override of ``None`` leaves that optional field out."""
    value = {k: v for k, v in reading(kind, **overrides).items() if v is not None}
    return parse_reading(canonical_json(value))


def fleet_device_id(n: int) -> str:
    return f"dev-{n:03d}"


def fleet_battery_id(n: int) -> str:
    return f"KR-BUSAN-BAT-{n:05d}"


def device_key(n: int) -> DeviceKey:
    """Test device ``n``'s fixed key (0 <= n < 255)."""
    return DeviceKey.from_private_key(bytes([n + 1]) * 32)


@dataclass
class SigningDevice:
    """A collection device on the test side: its identity, its key, and the last sequence it sent."""

    device_id: str
    battery_id: str
    key: DeviceKey = field(default_factory=DeviceKey.generate)
    seq: int = 0

    @classmethod
    def numbered(cls, n: int) -> SigningDevice:
        return cls(fleet_device_id(n), fleet_battery_id(n), device_key(n))

    @property
    def address(self) -> str:
        return self.key.address

    def register(self, journal: Journal) -> SigningDevice:
        """Register this device (its address, for its battery) in ``journal``; returns itself."""
        journal.register_device(self.device_id, self.key.address, self.battery_id)
        return self

    def upload(
        self,
        readings: Sequence[Mapping[str, Any]],
        *,
        seq: int | None = None,
        battery_id: str | None = None,
    ) -> SignedUpload:
        """Sign ``readings`` as the next upload (or as ``seq``; the counter never goes back), optionally
        claiming another ``battery_id`` than the device's."""
        if seq is None:
            seq = self.seq + 1
        self.seq = max(self.seq, seq)
        return sign_upload(self.key, self.device_id, battery_id or self.battery_id, seq, readings)

    def upload_json(
        self,
        readings: Sequence[Mapping[str, Any]],
        *,
        seq: int | None = None,
        battery_id: str | None = None,
    ) -> dict[str, Any]:
        """``upload`` as the JSON object sent over HTTP or written to an upload file."""
        return self.upload(readings, seq=seq, battery_id=battery_id).model_dump(mode="json")
