"""What the passport service hands back: a written version, a fetched passport, a version's history row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from passport.chain.records import PassportRecord, TxReceipt
from passport.ids import passport_id_bytes32
from passport.model import LifecycleStatus
from passport.model.access import AccessTier
from passport.model.passport import BatteryPassport, PassportView
from passport.sections import Manifest


@dataclass(frozen=True, slots=True)
class IssuedVersion:
    """A passport version the service committed to the store, signed, and anchored on-chain."""

    passport_id: uuid.UUID
    version: int
    status: LifecycleStatus
    predecessor: uuid.UUID | None
    manifest_cid: str
    manifest_digest: bytes
    section_cids: Mapping[AccessTier, str]
    signer: str
    signature: bytes
    receipt: TxReceipt
    # The document exactly as committed (status, version and predecessor stamped in).
    document: BatteryPassport = field(repr=False)

    @property
    def passport_id_bytes32(self) -> bytes:
        return passport_id_bytes32(self.passport_id)

    @property
    def tx_hash(self) -> bytes:
        return self.receipt.tx_hash

    @property
    def block_number(self) -> int:
        return self.receipt.block_number

    @property
    def block_hash(self) -> bytes:
        return self.receipt.block_hash


@dataclass(frozen=True, slots=True)
class FetchedPassport:
    """A passport's on-chain record and the sections a caller may see, checked against its digest."""

    record: PassportRecord
    manifest: Manifest
    manifest_cid: str
    sections: Mapping[AccessTier, Mapping[str, Any]] = field(repr=False)
    view: PassportView = field(repr=False)

    @property
    def passport_id(self) -> uuid.UUID:
        return uuid.UUID(self.manifest.passport_id.removeprefix("urn:uuid:"))

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def status(self) -> LifecycleStatus:
        return self.record.status

    @property
    def tiers(self) -> frozenset[AccessTier]:
        return self.view.tiers

    def passport(self) -> BatteryPassport:
        """The full passport; needs every tier (``DocumentValidationError`` for a partial fetch)."""
        return self.view.to_passport()


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a passport: the ledger's digest, plus what the service knows of how it was written.

    ``status`` comes from this service's version log or, failing that, the stored manifest; the signer
    and receipt fields are None for versions written by someone else (``recorded`` is then False).
    """

    version: int
    manifest_digest: bytes
    manifest_cid: str
    status: LifecycleStatus | None
    signer: str | None = None
    tx_hash: bytes | None = None
    block_number: int | None = None
    block_hash: bytes | None = None
    recorded: bool = False
