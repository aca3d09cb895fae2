"""Shapes shared by the battery-service routers (leases, bindings, storage, claims): receipts, hand-over
readings and the public records. Writes sign with the caller's custodial key; ``BatteryServices``
decides who may do what, so a refused write is a 409 naming the contract's error (``ledger_error``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from passport.chain.records import TxReceipt
from passport.servicemodels import (
    Binding,
    ClaimKind,
    HandOver,
    HolderKind,
    Lease,
    ServiceClaim,
    StorageInstallation,
)


class ReceiptPublic(BaseModel):
    """The transaction that recorded a write, and the events it emitted."""

    tx_hash: str
    block_number: int
    events: list[str]

    @classmethod
    def of(cls, receipt: TxReceipt) -> ReceiptPublic:
        return cls(
            tx_hash="0x" + receipt.tx_hash.hex(),
            block_number=receipt.block_number,
            events=[e.name for e in receipt.events],
        )


class Reading(BaseModel):
    """State of charge and state of health at a hand-over, percent (two decimals kept: basis points)."""

    model_config = ConfigDict(extra="forbid")

    soc_percent: float = Field(ge=0, le=100)
    soh_percent: float = Field(ge=0, le=100)

    def hand_over(self) -> HandOver:
        return HandOver(round(self.soc_percent * 100), round(self.soh_percent * 100))

    @classmethod
    def of(cls, reading: HandOver) -> Reading:
        return cls(soc_percent=reading.soc_bps / 100, soh_percent=reading.soh_bps / 100)


class LeasePublic(BaseModel):
    lease_id: str
    passport_id: str
    lessor: str
    lessee: str
    starts_at: int
    ends_at: int
    ended_at: int | None
    document_digest: str

    @classmethod
    def of(cls, lease: Lease) -> LeasePublic:
        return cls(
            lease_id="0x" + lease.lease_id.hex(),
            passport_id="0x" + lease.passport_id.hex(),
            lessor=lease.lessor,
            lessee=lease.lessee,
            starts_at=lease.starts_at,
            ends_at=lease.ends_at,
            ended_at=lease.ended_at or None,
            document_digest="0x" + lease.document_digest.hex(),
        )


HolderName = Literal["vehicle", "station"]


class BindingPublic(BaseModel):
    """Where a pack is bound: a vehicle (keccak256 of its VIN) or a swap station (hash of its id)."""

    kind: HolderName
    holder_hash: str
    since: int
    reading: Reading

    @classmethod
    def of(cls, binding: Binding) -> BindingPublic:
        return cls(
            kind="vehicle" if binding.kind is HolderKind.VEHICLE else "station",
            holder_hash="0x" + binding.holder.hex(),
            since=binding.since,
            reading=Reading.of(binding.reading),
        )


StorageRoleName = Literal[
    "backup", "peak_shaving", "frequency_regulation", "renewable_firming", "charging_buffer"
]


class StoragePublic(BaseModel):
    site_hash: str
    rated_energy_wh: int
    role: StorageRoleName
    installed_at: int
    recorded_by: str

    @classmethod
    def of(cls, storage: StorageInstallation) -> StoragePublic:
        role: StorageRoleName = storage.role.name.lower()  # type: ignore[assignment]
        return cls(
            site_hash="0x" + storage.site_hash.hex(),
            rated_energy_wh=storage.rated_energy_wh,
            role=role,
            installed_at=storage.installed_at,
            recorded_by=storage.recorded_by,
        )


ClaimKindName = Literal["energy_delivered", "avoided_emission"]


class ClaimPublic(BaseModel):
    """A claim recorded once per battery, kind and month: Wh delivered or g CO2e avoided."""

    kind: ClaimKindName
    period: int
    quantity: int
    unit: Literal["Wh", "g CO2e"]
    claimant: str
    recorded_at: int
    evidence_digest: str

    @classmethod
    def of(cls, claim: ServiceClaim) -> ClaimPublic:
        energy = claim.kind is ClaimKind.ENERGY_DELIVERED
        return cls(
            kind="energy_delivered" if energy else "avoided_emission",
            period=claim.period,
            quantity=claim.quantity,
            unit="Wh" if energy else "g CO2e",
            claimant=claim.claimant,
            recorded_at=claim.recorded_at,
            evidence_digest="0x" + claim.evidence_digest.hex(),
        )
