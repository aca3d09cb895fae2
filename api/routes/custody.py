"""Custody: the registry's two-step handover (offer → accept, or cancel) and the custody timeline.

Only the battery's current custodian offers or cancels; only the offeree accepts; the offeree must be
an active registered business (the contract checks that, a revert becomes a 409 naming the error).
The timeline comes from the audit index, synced before reading so a client sees its own handover.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import (
    ActingAccount,
    AuthCaller,
    ExistingRecord,
    HeldOpenRecord,
    HeldRecord,
    PassportId,
    ServicesDep,
    require_open,
)
from api.errors import Conflict, Forbidden
from api.openapi import raises
from api.schemas import Address
from passport.audit import AuditEvent
from passport.chain.clock import chain_now
from passport.chain.protocol import ChainClient
from passport.chain.records import CustodyOffer
from passport.ids import passport_id_bytes32

router = APIRouter(tags=["custody"])

# An offer must be accepted within this window; long enough for a paper handover, short enough that a
# forgotten offer does not stay acceptable for ever.
MAX_OFFER_SECONDS = 30 * 86_400


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
    names: dict[str, str] = Field(
        default_factory=dict, description="Directory names of the addresses above that have one."
    )


def _pending(reader: ChainClient, pid32: bytes, passport_id: str) -> CustodyOfferPublic | None:
    offer = reader.get_custody_offer(pid32)
    return None if offer is None else CustodyOfferPublic.of(passport_id, offer)


@router.post("/passports/{passport_id}/custody/offer", status_code=201, operation_id="offer_custody")
@raises(409)
def offer_custody(
    caller: AuthCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    account: ActingAccount,
    body: CustodyOfferCreate,
    services: ServicesDep,
) -> CustodyActionPublic:
    """Offer custody to a registered business (the current custodian only)."""
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
        offer=_pending(services.reader, pid32, str(pid)),
    )


@router.post("/passports/{passport_id}/custody/accept", operation_id="accept_custody")
@raises(409)
def accept_custody(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, account: ActingAccount, services: ServicesDep
) -> CustodyActionPublic:
    """Accept a pending offer (the business it was offered to only)."""
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
@raises(409)
def cancel_custody_offer(
    caller: AuthCaller, pid: PassportId, record: HeldRecord, services: ServicesDep
) -> CustodyActionPublic:
    """Withdraw the pending offer (the current custodian only)."""
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
def get_custody_history(
    pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> CustodyHistoryPublic:
    """Who holds the battery, any pending offer, and every offer, transfer and cancellation (public
    lifecycle facts, on-chain for anyone to read)."""
    services.sync_index()
    events = services.audit.custody_timeline(pid)
    return CustodyHistoryPublic(
        passport_id=str(pid),
        issuer=record.issuer,
        custodian=record.custodian,
        pending_offer=_pending(services.reader, passport_id_bytes32(pid), str(pid)),
        events=[CustodyEventPublic.of(e) for e in events],
        names=services.names.names_of(
            [record.issuer, record.custodian]
            + [str(e.args.get(k, "")) for e in events for k in ("from", "to")]
        ),
    )
