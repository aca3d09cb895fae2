"""Plain records the chain client returns: what the ledger holds, decoded into Python types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from passport.model.lifecycle import AnchorKind, BusinessKind, LifecycleStatus


class Role(IntEnum):
    """Ledger roles; the contract's role id is keccak256 of the name below (OpenZeppelin style)."""

    ADMIN = 0  # DEFAULT_ADMIN_ROLE (bytes32(0))
    ISSUER = 1
    ORACLE = 2
    INSPECTOR = 3
    REPURPOSER = 4
    RECYCLER = 5
    AUDITOR = 6

    @property
    def role_name(self) -> str:
        return f"{self.name}_ROLE"


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """A mined ledger transaction."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    events: tuple[LedgerEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class PassportIssue:
    """One passport of an ``issue_passports`` batch: what ``issue_passport`` takes, signed by the sender."""

    passport_id: bytes
    battery_id_hash: bytes
    manifest_digest: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class PassportRecord:
    """One passport's on-chain state (public lifecycle facts and digests only)."""

    passport_id: bytes
    battery_id_hash: bytes
    issuer: str
    custodian: str
    status: LifecycleStatus
    manifest_digest: bytes
    version: int
    predecessor: bytes  # zero bytes32 when none
    successor: bytes  # zero bytes32 until superseded by a repurposed/remanufactured passport
    created_at: int
    updated_at: int

    @property
    def is_closed(self) -> bool:
        """True once superseded or recycled: no further writes are accepted."""
        return self.successor != b"\x00" * 32 or self.status is LifecycleStatus.RECYCLED


@dataclass(frozen=True, slots=True)
class CustodyOffer:
    """A pending custody transfer."""

    passport_id: bytes
    from_address: str
    to_address: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class SafetyState:
    """A passport's on-chain safety facts: until when a passed pre-distribution inspection holds
    (0 when none does), and whether a serious incident has flagged the battery."""

    passport_id: bytes
    distribution_valid_until: int
    flagged: bool


@dataclass(frozen=True, slots=True)
class BusinessRecord:
    """A registered used-battery business."""

    account: str
    kinds: BusinessKind
    registration_hash: bytes  # digest of the off-chain registration certificate
    active: bool
    registered_at: int


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    """An anchored batch of collection-device records."""

    root: bytes
    record_count: int
    kind: AnchorKind
    anchored_at: int
    block_number: int


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """A decoded contract event, with where it sits in the chain."""

    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int
    address: str = field(default="")
