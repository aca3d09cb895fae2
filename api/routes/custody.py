"""Custody: the registry's two-step handover (offer → accept, or cancel) and the custody timeline.

Only the battery's current custodian offers or cancels; only the offeree accepts; the offeree must be
an active registered business (the contract checks that, a revert becomes a 409 naming the error).
The timeline comes from the audit index, synced before reading so a client sees its own handover.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils.address import is_address, to_checksum_address
from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.access import AuthCaller
from api.access import require_custodian as _require_custodian
from api.errors import Conflict, Forbidden
from api.routes.passports import (
    PassportIdPath,
    acting_account,
    existing_record,
    passport_uuid,
    require_open,
)
from api.services import Services, get_services
from passport.audit import AuditEvent
from passport.chain.clock import chain_now
from passport.chain.records import CustodyOffer
from passport.ids import passport_id_bytes32

router = APIRouter(tags=["custody"])

ServicesDep = Annotated[Services, Depends(get_services)]

# An offer must be accepted within this window; long enough for a paper handover, short enough that a
# forgotten offer does not stay acceptable for ever.
MAX_OFFER_SECONDS = 30 * 86_400


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError("not a 20-byte 0x-hex address")
    return to_checksum_address(value)


Address = Annotated[str, AfterValidator(_address)]


class CustodyOfferCreate(BaseModel):
    """Offer the battery to another registered business."""

    model_config = ConfigDict(extra="forbid")

    to: Address = Field(description="The receiving business's account.")
    expires_in_seconds: int = Field(default=7 * 86_400, ge=60, le=MAX_OFFER_SECONDS)


class CustodyOfferPublic(BaseModel):
    passport_id: str
    from_address: str
    to_address: str
    expires_at: int

    @classmethod
    def of(cls, passport_id: str, offer: CustodyOffer) -> CustodyOfferPublic:
        return cls(
            passport_id=passport_id,
            from_address=offer.from_address,
            to_address=offer.to_address,
            expires_at=offer.expires_at,
        )


class CustodyActionPublic(BaseModel):
    """A custody transaction the ledger mined."""

    passport_id: str
    action: str
    custodian: str
    tx_hash: str
    block_number: int
    offer: CustodyOfferPublic | None = None


class CustodyEventPublic(BaseModel):
    name: str
    block_number: int
    block_timestamp: int | None
    tx_hash: str
    args: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> CustodyEventPublic:
        return cls(
            name=event.name,
            block_number=event.block_number,
            block_timestamp=event.block_timestamp,
            tx_hash=event.tx_hash,
            args=event.args,
        )


class CustodyHistoryPublic(BaseModel):
    passport_id: str
    issuer: str
    custodian: str
    pending_offer: CustodyOfferPublic | None
    events: list[CustodyEventPublic]


def _pending(services: Services, pid32: bytes, passport_id: str) -> CustodyOfferPublic | None:
    offer = services.reader.get_custody_offer(pid32)
    return None if offer is None else CustodyOfferPublic.of(passport_id, offer)


@router.post("/passports/{passport_id}/custody/offer", status_code=201, operation_id="offer_custody")
def offer_custody(
    passport_id: PassportIdPath, body: CustodyOfferCreate, caller: AuthCaller, services: ServicesDep
) -> CustodyActionPublic:
    """Offer custody to a registered business (the current custodian only)."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    account = acting_account(services, caller)
    _require_custodian(account, record)
    require_open(record, pid)
    if body.to.lower() == account.lower():
        raise Conflict("a custodian cannot offer the battery to itself")
    client = services.client_for(caller)
    # Measured from when the offer will be mined, not from the latest block, which is stale while an
    # instamine node idles (an offer of 60 s would then be mined already expired).
    now = chain_now(services.reader)
    pid32 = passport_id_bytes32(pid)
    receipt = client.offer_custody(pid32, body.to, now + body.expires_in_seconds)
    return CustodyActionPublic(
        passport_id=str(pid),
        action="offered",
        custodian=record.custodian,
        tx_hash="0x" + receipt.tx_hash.hex(),
        block_number=receipt.block_number,
        offer=_pending(services, pid32, str(pid)),
    )


@router.post("/passports/{passport_id}/custody/accept", operation_id="accept_custody")
def accept_custody(
    passport_id: PassportIdPath, caller: AuthCaller, services: ServicesDep
) -> CustodyActionPublic:
    """Accept a pending offer (the business it was offered to only)."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    account = acting_account(services, caller)
    pid32 = passport_id_bytes32(pid)
    offer = services.reader.get_custody_offer(pid32)
    if offer is None:
        raise Conflict(f"passport {pid} has no pending custody offer")
    if offer.to_address.lower() != account.lower():
        raise Forbidden(f"the pending offer is to {offer.to_address}, not to {account}")
    require_open(record, pid)
    # The contract compares with the mining block's time; a node whose pending state still carries a
    # stale timestamp (ganache) would let the pre-flight pass and the transaction revert once mined.
    if chain_now(services.reader) > offer.expires_at:
        raise Conflict(
            f"the custody offer for passport {pid} expired at {offer.expires_at}",
            extra={"ledger_error": "BatteryPassportRegistryCustodyOfferExpired"},
        )
    receipt = services.client_for(caller).accept_custody(pid32)
    return CustodyActionPublic(
        passport_id=str(pid),
        action="accepted",
        custodian=account,
        tx_hash="0x" + receipt.tx_hash.hex(),
        block_number=receipt.block_number,
    )


@router.delete("/passports/{passport_id}/custody/offer", operation_id="cancel_custody_offer")
def cancel_custody_offer(
    passport_id: PassportIdPath, caller: AuthCaller, services: ServicesDep
) -> CustodyActionPublic:
    """Withdraw the pending offer (the current custodian only)."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    _require_custodian(acting_account(services, caller), record)
    pid32 = passport_id_bytes32(pid)
    if services.reader.get_custody_offer(pid32) is None:
        raise Conflict(f"passport {pid} has no pending custody offer")
    receipt = services.client_for(caller).cancel_custody_offer(pid32)
    return CustodyActionPublic(
        passport_id=str(pid),
        action="cancelled",
        custodian=record.custodian,
        tx_hash="0x" + receipt.tx_hash.hex(),
        block_number=receipt.block_number,
    )


@router.get("/passports/{passport_id}/custody", operation_id="get_custody_history")
def get_custody_history(passport_id: PassportIdPath, services: ServicesDep) -> CustodyHistoryPublic:
    """Who holds the battery, any pending offer, and every offer, transfer and cancellation (public
    lifecycle facts, on-chain for anyone to read)."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    services.sync_index()
    events = services.audit.custody_timeline(pid)
    return CustodyHistoryPublic(
        passport_id=str(pid),
        issuer=record.issuer,
        custodian=record.custodian,
        pending_offer=_pending(services, passport_id_bytes32(pid), str(pid)),
        events=[CustodyEventPublic.of(e) for e in events],
    )
