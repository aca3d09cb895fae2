"""The ``BatteryServicesLedger`` boundary: what the system asks of the deployed ``BatteryServices``.

A narrow port beside ``ChainClient`` and ``MaterialLedger`` (issue #19): a battery's legal owner apart
from its custodian, signed lease / subscription contracts, the owner's consent (which the registry
enforces on custody transfer, repurposing and recycling), vehicle / swap-station bindings with the
state of charge and health at hand-over, second-life storage installations, and energy /
avoided-emission claims recorded once per battery, kind and month. The real implementation is
``passport.chain.services_web3.Web3BatteryServices``; callers pass plain bytes/ints/str and get the
records below, and catch ``passport.errors`` only: reverts arrive as ``ContractRevert`` naming the custom
error (``BatteryServicesOwnerConsentMissing``, ``BatteryServicesClaimExists``, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

from eth_utils.crypto import keccak

from passport.chain.artifacts import SERVICES_CONTRACT
from passport.chain.records import LedgerEvent, TxReceipt

#: Full charge / health in the contract's basis points.
FULL_BPS = 10_000

#: The per-pack binding events (``PackInstalled`` / ``PackRemoved``), in chain order, are its history.
BINDING_EVENTS = ("PackInstalled", "PackRemoved")


class ConsentAction(IntEnum):
    """``IOwnerConsent.ConsentAction``: what the legal owner consents to."""

    TRANSFER = 0
    REPURPOSE = 1
    RECYCLE = 2


class HolderKind(IntEnum):
    """``IBatteryServices.HolderKind``: where a pack is bound."""

    NONE = 0
    VEHICLE = 1
    STATION = 2


class StorageRole(IntEnum):
    """``IBatteryServices.StorageRole``: what a second-life storage system does."""

    BACKUP = 0
    PEAK_SHAVING = 1
    FREQUENCY_REGULATION = 2
    RENEWABLE_FIRMING = 3
    CHARGING_BUFFER = 4


class ClaimKind(IntEnum):
    """``IBatteryServices.ClaimKind``: watt-hours delivered, or grams CO2e avoided."""

    ENERGY_DELIVERED = 0
    AVOIDED_EMISSION = 1


class ServicesRole(IntEnum):
    """Roles of the services contract; the role id is keccak256 of ``<NAME>_ROLE`` (ADMIN: zero)."""

    ADMIN = 0
    OPERATOR = 1

    @property
    def role_name(self) -> str:
        return f"{self.name}_ROLE"


def vehicle_hash(vin: str) -> bytes:
    """keccak256 of the VIN (upper-cased, stripped): what goes on-chain instead of the VIN itself."""
    return keccak(text=vin.strip().upper())


def station_hash(station_id: str) -> bytes:
    """keccak256 of a swap station's identifier."""
    return keccak(text=station_id.strip())


def site_hash(site_id: str) -> bytes:
    """keccak256 of a storage site's identifier."""
    return keccak(text=site_id.strip())


@dataclass(frozen=True, slots=True)
class Consent:
    """The owner's consent to one action: to ``counterparty`` (None: anyone) until ``expires_at``."""

    action: ConsentAction
    counterparty: str | None
    expires_at: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A subscription / lease contract: the signed document's digest, its parties and term (unix s)."""

    lease_id: bytes
    passport_id: bytes
    document_digest: bytes
    lessor: str
    lessee: str
    starts_at: int
    ends_at: int
    ended_at: int  # zero while open


@dataclass(frozen=True, slots=True)
class HandOver:
    """State of charge and state of health at a hand-over, basis points (10,000 = 100 %)."""

    soc_bps: int
    soh_bps: int


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a pack is bound now, since when, with the readings at installation."""

    kind: HolderKind
    holder: bytes
    since: int
    reading: HandOver


@dataclass(frozen=True, slots=True)
class BindingEvent:
    """One step of a pack's binding history (an installation or a removal), from the chain's events."""

    installed: bool
    kind: HolderKind
    holder: bytes
    by: str
    reading: HandOver
    block_number: int
    tx_hash: bytes
    log_index: int

    @classmethod
    def of(cls, event: LedgerEvent) -> BindingEvent:
        args = event.args
        return cls(
            installed=event.name == "PackInstalled",
            kind=HolderKind(int(args["kind"])),
            holder=bytes(args["holder"]),
            by=str(args["by"]),
            reading=HandOver(int(args["socBps"]), int(args["sohBps"])),
            block_number=event.block_number,
            tx_hash=event.tx_hash,
            log_index=event.log_index,
        )


@dataclass(frozen=True, slots=True)
class StorageInstallation:
    """A second-life pack's storage installation."""

    site_hash: bytes
    rated_energy_wh: int
    role: StorageRole
    installed_at: int
    recorded_by: str


@dataclass(frozen=True, slots=True)
class ServiceClaim:
    """An energy-delivered (Wh) or avoided-emission (g CO2e) claim for one battery and month (yyyymm)."""

    passport_id: bytes
    kind: ClaimKind
    period: int
    claimant: str
    recorded_at: int
    quantity: int
    evidence_digest: bytes


@runtime_checkable
class BatteryServicesLedger(Protocol):
    """A typed client of the deployed ``BatteryServices``, acting as one account."""

    @property
    def address(self) -> str:
        """Checksummed address of the services contract."""
        ...

    @property
    def account(self) -> str:
        """Checksummed address this client signs transactions with."""
        ...

    def grant_role(self, role: ServicesRole, account: str) -> TxReceipt: ...

    def has_role(self, role: ServicesRole, account: str) -> bool: ...

    # -- ownership and consent ---------------------------------------------------------------------
    def record_owner(self, passport_id: bytes, owner: str) -> TxReceipt:
        """Record the first legal owner (the passport's issuer or custodian, once)."""
        ...

    def transfer_ownership(self, passport_id: bytes, new_owner: str) -> TxReceipt:
        """Move legal ownership (the current owner only); the old owner's consents lapse."""
        ...

    def grant_consent(
        self, passport_id: bytes, action: ConsentAction, counterparty: str | None, expires_at: int
    ) -> TxReceipt:
        """As legal owner, let the custodian do ``action`` with ``counterparty`` (None: anyone) until
        ``expires_at``; without it the registry refuses (``BatteryServicesOwnerConsentMissing``)."""
        ...

    def revoke_consent(self, passport_id: bytes, action: ConsentAction) -> TxReceipt: ...

    def legal_owner(self, passport_id: bytes) -> str | None:
        """The legal owner, or None when none was recorded."""
        ...

    def get_consent(self, passport_id: bytes, action: ConsentAction) -> Consent | None:
        """The consent, or None when none was granted (an expired one is returned as it stands)."""
        ...

    # -- leases -------------------------------------------------------------------------------------
    def record_lease(
        self,
        lease_id: bytes,
        passport_id: bytes,
        lessee: str,
        document_digest: bytes,
        starts_at: int,
        ends_at: int,
    ) -> TxReceipt:
        """Record a signed lease / subscription contract (the legal owner, as lessor)."""
        ...

    def end_lease(self, lease_id: bytes) -> TxReceipt: ...

    def get_lease(self, lease_id: bytes) -> Lease | None: ...

    def leases_of(self, passport_id: bytes, from_block: int = 0) -> list[Lease]:
        """Every lease recorded for the passport (``LeaseRecorded`` events), as it stands, oldest first."""
        ...

    # -- bindings -----------------------------------------------------------------------------------
    def install_pack(
        self, passport_id: bytes, kind: HolderKind, holder: bytes, reading: HandOver
    ) -> TxReceipt:
        """Bind an unbound pack to a vehicle (``vehicle_hash(vin)``) or a station (``station_hash``)."""
        ...

    def remove_pack(self, passport_id: bytes, reading: HandOver) -> TxReceipt: ...

    def swap(
        self,
        vehicle: bytes,
        station: bytes,
        outgoing: bytes,
        incoming: bytes,
        outgoing_reading: HandOver,
        incoming_reading: HandOver,
    ) -> TxReceipt:
        """``outgoing`` leaves the vehicle for the station and ``incoming`` the station for the vehicle,
        in one transaction: if either leg fails nothing is recorded."""
        ...

    def get_binding(self, passport_id: bytes) -> Binding | None:
        """Where the pack is now, or None when unbound."""
        ...

    def binding_history(self, passport_id: bytes, from_block: int = 0) -> list[BindingEvent]:
        """The pack's installations and removals, in chain order."""
        ...

    # -- second life and claims ---------------------------------------------------------------------
    def record_storage_installation(
        self, passport_id: bytes, site: bytes, rated_energy_wh: int, role: StorageRole
    ) -> TxReceipt:
        """Record a Repurposed passport's installation in a storage system (custodian or legal owner)."""
        ...

    def get_storage_installation(self, passport_id: bytes) -> StorageInstallation | None: ...

    def record_claim(
        self, passport_id: bytes, kind: ClaimKind, period: int, quantity: int, evidence_digest: bytes
    ) -> TxReceipt:
        """Record a claim for the month ``period`` (yyyymm) once; a second reverts
        (``BatteryServicesClaimExists``)."""
        ...

    def get_claim(self, passport_id: bytes, kind: ClaimKind, period: int) -> ServiceClaim | None: ...

    def claims_of(self, passport_id: bytes, from_block: int = 0) -> list[ServiceClaim]:
        """Every claim recorded for the passport (from ``ClaimRecorded`` events), in chain order."""
        ...


__all__ = [
    "BINDING_EVENTS",
    "FULL_BPS",
    "SERVICES_CONTRACT",
    "BatteryServicesLedger",
    "Binding",
    "BindingEvent",
    "ClaimKind",
    "Consent",
    "ConsentAction",
    "HandOver",
    "HolderKind",
    "Lease",
    "ServiceClaim",
    "ServicesRole",
    "StorageInstallation",
    "StorageRole",
    "site_hash",
    "station_hash",
    "vehicle_hash",
]
