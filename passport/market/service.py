"""The market's workflow: list → offer → accept (signed terms, sale on-chain) → custody completes it.

``Market`` applies the fair-trade rules (``passport.market.rules``) at each step and keeps its own state
in ``MarketBook``; the ledger decides custody and each sale's state. A sale completes only when the
buyer accepts custody on the ledger (``acceptCustody``), so the market learns of completion by reading
the chain (``sync_sales``), never by being told.

Crash safety: ``accept_offer`` writes a sale intent before sending ``agreeSale``; ``reconcile`` (run when
the market opens and before every read) completes an intent whose sale is on-chain, and rolls back one
with no sale on-chain once its transaction can no longer be pending (it failed, or ``intent_grace``
seconds passed). A rolled-back intent is checked again when the market opens, so a transaction mined
late is still recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from passport.canonical import canonical_json
from passport.chain.records import PassportRecord
from passport.chain.sales import SalesChain, SaleState
from passport.errors import ChainError, ContractRevert, PassportNotFound
from passport.ids import passport_id_bytes32
from passport.market import rules
from passport.market.book import (
    IntentState,
    Listing,
    ListingState,
    MarketBook,
    Offer,
    OfferState,
    Sale,
    SaleIntent,
    SaleStatus,
)
from passport.market.errors import DisclosureStale, MarketStateError, NotAParty, TermsMismatch
from passport.market.index import PriceIndex, price_index
from passport.market.source import PassportSource
from passport.market.summary import ListingSummary
from passport.market.terms import TERMS_FORMAT, check_terms, sign_terms, terms_digest, terms_document
from passport.signing import PassportDomain, address_of
from passport.store.protocol import ContentStore

CURRENCY = "KRW"
_CHAIN_STATE = {
    SaleState.AGREED: SaleStatus.AGREED,
    SaleState.COMPLETED: SaleStatus.COMPLETED,
    SaleState.CANCELLED: SaleStatus.CANCELLED,
    SaleState.DISPUTED: SaleStatus.DISPUTED,
    SaleState.RESOLVED: SaleStatus.RESOLVED,
}


@dataclass(frozen=True)
class Party:
    """A participant acting in the market: its chain client and the key it signs terms with."""

    chain: SalesChain  # acting as this participant
    key: bytes

    @property
    def account(self) -> str:
        return address_of(self.key)


class ListingCreate(BaseModel):
    """What the seller adds to the verified summary."""

    model_config = ConfigDict(extra="forbid")

    asking_price: int = Field(gt=0, le=10**12, description="Asking price in KRW.")
    location: str = Field(min_length=1, max_length=200)
    delivery: str = Field(pattern="^(pickup|delivery|either)$", description="pickup, delivery or either.")
    notes: str | None = Field(default=None, max_length=2000)


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: int = Field(gt=0, le=10**12, description="Offered price in KRW.")
    conditions: str | None = Field(default=None, max_length=2000)


class Reconciliation(BaseModel):
    """What one ``Market.reconcile`` pass did with the sale intents it found."""

    completed: list[str] = Field(default_factory=list, description="Sale ids recorded from the chain.")
    rolled_back: list[str] = Field(default_factory=list, description="Sale ids with no sale on-chain.")
    pending: list[str] = Field(default_factory=list, description="Sale ids whose transaction may mine.")


class TermsCheck(BaseModel):
    """A sale's stored terms checked against the ledger."""

    sale_id: str
    terms_cid: str
    terms_digest: str
    onchain_digest: str
    matches: bool
    body: dict[str, Any]


def _sale_id(offer_id: str) -> bytes:
    return hashlib.sha256(b"battery-passport-ledger/sale:" + offer_id.encode()).digest()


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Market:
    """Listings, offers and sales under the fair-trade rules."""

    def __init__(
        self,
        book: MarketBook,
        source: PassportSource,
        reader: SalesChain,
        store: ContentStore,
        domain: PassportDomain,
        *,
        min_group_size: int = 3,
        policy: rules.FairTradePolicy = rules.DEFAULT_POLICY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        chain_time: Callable[[], int] = lambda: int(time.time()),
        intent_grace: int = 900,
    ) -> None:
        self.book = book
        self._source = source
        self._reader = reader
        self._store = store
        self._domain = domain
        self._min_group_size = min_group_size
        self._policy = policy
        self._clock = clock
        self._chain_time = chain_time
        self._intent_grace = intent_grace
        with contextlib.suppress(ChainError):  # the ledger is unreachable now; every read reconciles
            self.reconcile(recheck_rolled_back=True)

    # -- crash recovery -----------------------------------------------------------------------------
    def reconcile(self, *, recheck_rolled_back: bool = False) -> Reconciliation:
        """Settle sale intents left by an acceptance that did not finish: record the sale if the chain
        has it (then mirror its on-chain state), roll the intent back if the chain has none and its
        transaction is no longer expected. ``recheck_rolled_back`` also looks again at rolled-back
        intents whose offer is still open (a transaction mined after its intent was rolled back)."""
        done = Reconciliation()
        intents = self.book.intents(IntentState.PENDING)
        if recheck_rolled_back:
            intents += [
                i
                for i in self.book.intents(IntentState.ROLLED_BACK)
                if self.book.offer(i.sale.offer_id).state is OfferState.OPEN
            ]
        for intent in intents:
            outcome = self._settle(intent, tx_failed=False)
            getattr(done, outcome).append(intent.sale.sale_id)
        return done

    def _settle(self, intent: SaleIntent, *, tx_failed: bool) -> str:
        sale_id = intent.sale.sale_id
        record = self._reader.get_sale(bytes.fromhex(sale_id[2:]))
        if record is not None and record.state is not SaleState.NONE:
            sale = intent.sale.model_copy(update={"agreed_at": record.agreed_at or intent.sale.agreed_at})
            self.book.accept(sale, self._now())
            self.sync_sale(sale)
            return "completed"
        if intent.state is IntentState.ROLLED_BACK:
            return "rolled_back"
        if tx_failed or self._now() - intent.created_at >= self._intent_grace:
            self.book.set_intent_state(sale_id, IntentState.ROLLED_BACK)
            return "rolled_back"
        return "pending"

    # -- listings -----------------------------------------------------------------------------------
    def _record(self, passport_id: uuid.UUID) -> PassportRecord:
        record = self._reader.get_passport(passport_id_bytes32(passport_id))
        if record is None:
            raise PassportNotFound(f"no passport {passport_id} on the ledger")
        return record

    def _require_business(self, account: str, role: str) -> None:
        rules.require_active_business(self._reader.get_business(account), account, role)

    def list_battery(self, seller: Party, passport_id: uuid.UUID, ask: ListingCreate) -> Listing:
        """List a battery the seller holds; every listing rule applies (see ``rules``)."""
        record = self._record(passport_id)
        self._require_business(seller.account, "seller")
        rules.require_custodian(record.custodian, seller.account)
        if record.is_closed:
            raise MarketStateError(f"passport {passport_id} is closed ({record.status.name})")
        if self._reader.open_sale(record.passport_id) is not None:
            raise MarketStateError(f"passport {passport_id} has an agreed sale on the ledger")
        now = self._clock()
        summary = self._source.summary(passport_id, now)
        rules.require_disclosures(summary, now, self._policy)
        earlier = self.book.listings_of(str(passport_id))
        if any(existing.state is ListingState.ACTIVE for existing in earlier):
            raise MarketStateError(f"passport {passport_id} is already listed")
        rules.require_grade_backed(earlier[0].summary if earlier else None, summary)
        at = int(now.timestamp())
        listing = Listing(
            id=str(uuid.uuid4()),
            passport_id=str(passport_id),
            seller=seller.account,
            asking_price=ask.asking_price,
            currency=CURRENCY,
            location=ask.location,
            delivery=ask.delivery,
            notes=ask.notes,
            summary=summary,
            state=ListingState.ACTIVE,
            state_reason=None,
            created_at=at,
            updated_at=at,
        )
        self.book.add_listing(listing)
        return listing

    def refresh(self, listing: Listing) -> Listing:
        """Suspend an active listing whose disclosures went stale, or whose seller lost custody or
        standing; a listing whose passport has not changed is checked against the clock alone."""
        if listing.state is not ListingState.ACTIVE:
            return listing
        now = self._clock()
        reason: str | None = None
        pid = uuid.UUID(listing.passport_id)
        record = self._record(pid)
        business = self._reader.get_business(listing.seller)
        if record.custodian.lower() != listing.seller.lower():
            reason = "the seller no longer holds custody"
        elif business is None or not business.active:
            reason = "the seller's business registration is suspended"
        elif record.version == listing.summary.version:
            reason = rules.stale_reason(listing.summary, listing.summary, now, self._policy)
        else:
            reason = rules.stale_reason(listing.summary, self._source.summary(pid, now), now, self._policy)
        if reason is None:
            return listing
        self.book.set_listing_state(listing.id, ListingState.SUSPENDED, reason, int(now.timestamp()))
        return self.book.listing(listing.id)

    def listing(self, listing_id: str) -> Listing:
        self.reconcile()
        return self.refresh(self.book.listing(listing_id))

    def listings(self, state: ListingState | None = ListingState.ACTIVE) -> list[Listing]:
        """Listings in ``state`` (None: all), active ones refreshed first."""
        self.reconcile()
        for listing in self.book.listings(ListingState.ACTIVE):
            self.refresh(listing)
        return self.book.listings(state)

    def withdraw(self, seller: Party, listing_id: str) -> Listing:
        listing = self.book.listing(listing_id)
        if listing.seller.lower() != seller.account.lower():
            raise NotAParty(f"listing {listing_id} is {listing.seller}'s")
        if listing.state not in (ListingState.ACTIVE, ListingState.SUSPENDED):
            raise MarketStateError(f"listing {listing_id} is {listing.state.value}")
        self.book.set_listing_state(
            listing_id, ListingState.WITHDRAWN, "withdrawn by the seller", self._now()
        )
        return self.book.listing(listing_id)

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _active(self, listing_id: str) -> Listing:
        listing = self.listing(listing_id)
        if listing.state is ListingState.SUSPENDED:
            raise DisclosureStale(f"listing {listing_id} is suspended: {listing.state_reason}")
        if listing.state is not ListingState.ACTIVE:
            raise MarketStateError(f"listing {listing_id} is {listing.state.value}")
        return listing

    # -- offers -------------------------------------------------------------------------------------
    def _terms_body(self, offer_id: str, listing: Listing, buyer: str, offer: OfferCreate) -> dict[str, Any]:
        summary: ListingSummary = listing.summary
        return {
            "format": TERMS_FORMAT,
            "sale_id": _hex(_sale_id(offer_id)),
            "offer_id": offer_id,
            "listing_id": listing.id,
            "passport_id": listing.passport_id,
            "passport_id32": _hex(passport_id_bytes32(uuid.UUID(listing.passport_id))),
            "seller": listing.seller,
            "buyer": buyer,
            "price": {"amount": offer.price, "currency": listing.currency},
            "location": listing.location,
            "delivery": listing.delivery,
            "conditions": offer.conditions,
            "disclosures": {
                "summary_digest": _hex(summary.digest()),
                "summary": summary.model_dump(mode="json"),
            },
            "ledger": {"chain_id": self._domain.chain_id, "registry": self._domain.verifying_contract},
        }

    def make_offer(self, buyer: Party, listing_id: str, offer: OfferCreate) -> Offer:
        """A registered, active business offers a price; it signs the terms the seller may accept."""
        listing = self._active(listing_id)
        self._require_business(buyer.account, "buyer")
        if buyer.account.lower() == listing.seller.lower():
            raise MarketStateError("a seller cannot make an offer on its own listing")
        offer_id = str(uuid.uuid4())
        body = self._terms_body(offer_id, listing, buyer.account, offer)
        pid32 = passport_id_bytes32(uuid.UUID(listing.passport_id))
        signature = sign_terms(buyer.key, self._domain, _sale_id(offer_id), pid32, terms_digest(body))
        created = Offer(
            id=offer_id,
            listing_id=listing.id,
            buyer=buyer.account,
            price=offer.price,
            conditions=offer.conditions,
            terms_body=body,
            buyer_signature=signature,
            state=OfferState.OPEN,
            created_at=self._now(),
        )
        self.book.add_offer(created)
        return created

    def offers(self, listing_id: str) -> list[Offer]:
        self.reconcile()
        self.book.listing(listing_id)
        return self.book.offers_for(listing_id)

    def accept_offer(self, seller: Party, offer_id: str, expires_in: int = 7 * 86_400) -> Sale:
        """The seller accepts: both signatures on the terms, the terms stored, the sale agreed on-chain
        (which offers custody to the buyer). Terms cannot change afterwards: the ledger holds their digest."""
        offer = self.book.offer(offer_id)
        listing = self.book.listing(offer.listing_id)
        if listing.seller.lower() != seller.account.lower():
            raise NotAParty(f"only the seller {listing.seller} accepts offers on listing {listing.id}")
        if offer.state is not OfferState.OPEN:
            raise MarketStateError(f"offer {offer_id} is {offer.state.value}")
        listing = self._active(listing.id)
        if any(i.sale.offer_id != offer_id for i in self.book.intents(IntentState.PENDING, listing.id)):
            raise MarketStateError(f"listing {listing.id} has a sale being recorded; try again later")
        self._require_business(seller.account, "seller")
        self._require_business(offer.buyer, "buyer")
        pid = uuid.UUID(listing.passport_id)
        rules.require_custodian(self._record(pid).custodian, seller.account)
        body = offer.terms_body
        digest = terms_digest(body)
        sale_id = _sale_id(offer_id)
        pid32 = passport_id_bytes32(pid)
        seller_signature = sign_terms(seller.key, self._domain, sale_id, pid32, digest)
        document = terms_document(
            body,
            [
                {"role": "buyer", "address": offer.buyer, "signature": offer.buyer_signature},
                {"role": "seller", "address": seller.account, "signature": seller_signature},
            ],
        )
        cid = self._store.put(document)
        summary = listing.summary
        sale = Sale(
            sale_id=_hex(sale_id),
            offer_id=offer_id,
            listing_id=listing.id,
            passport_id=listing.passport_id,
            seller=seller.account,
            buyer=offer.buyer,
            price=offer.price,
            currency=listing.currency,
            terms_cid=cid,
            terms_digest=_hex(digest),
            state=SaleStatus.AGREED,
            chemistry=summary.chemistry,
            grade=None if summary.grade is None else summary.grade.grade,
            soh_band=summary.soh_band,
            agreed_at=self._now(),
            closed_at=None,
            note=None,
        )
        self.book.add_intent(sale, self._now())
        try:
            seller.chain.agree_sale(sale_id, pid32, offer.buyer, digest, self._chain_time() + expires_in)
        except ContractRevert:
            # This transaction failed; the sale may still be on-chain from an earlier attempt.
            intent = SaleIntent(sale=sale, state=IntentState.PENDING, created_at=0)
            if self._settle(intent, tx_failed=True) == "completed":
                return self.book.sale(sale.sale_id)
            raise
        self.book.accept(sale, self._now())  # a read may have recorded it already (reconcile)
        return self.book.sale(sale.sale_id)

    # -- sales --------------------------------------------------------------------------------------
    def sync_sale(self, sale: Sale) -> Sale:
        """Mirror the ledger's state of the sale (completion happens on-chain, by custody acceptance)."""
        if sale.state in (SaleStatus.CANCELLED, SaleStatus.RESOLVED):
            return sale
        record = self._reader.get_sale(bytes.fromhex(sale.sale_id[2:]))
        if record is None:
            return sale
        state = _CHAIN_STATE[record.state]
        if state is sale.state:
            return sale
        self.book.set_sale_state(sale.sale_id, state, record.closed_at or None, None)
        if state is SaleStatus.CANCELLED:
            self.book.set_listing_state(
                sale.listing_id, ListingState.WITHDRAWN, "its sale was cancelled", self._now()
            )
        return self.book.sale(sale.sale_id)

    def sale(self, sale_id: str) -> Sale:
        self.reconcile()
        return self.sync_sale(self.book.sale(sale_id))

    def sales(self) -> list[Sale]:
        self.reconcile()
        return [self.sync_sale(s) for s in self.book.sales()]

    def _party_of(self, sale: Sale, party: Party) -> str:
        if party.account.lower() == sale.seller.lower():
            return "seller"
        if party.account.lower() == sale.buyer.lower():
            return "buyer"
        raise NotAParty(f"{party.account} is neither the seller nor the buyer of sale {sale.sale_id}")

    def _record_document(self, kind: str, sale: Sale, by: str, content: dict[str, Any]) -> bytes:
        document = canonical_json(
            {
                "format": f"battery-passport-ledger/sale-{kind}/v1",
                "sale_id": sale.sale_id,
                "by": by,
                **content,
            }
        )
        self._store.put(document)
        return hashlib.sha256(document).digest()

    def cancel(self, party: Party, sale_id: str, reason: str) -> Sale:
        """Cancel an agreed sale (seller or buyer) with a recorded reason."""
        sale = self.sale(sale_id)
        self._party_of(sale, party)
        if sale.state is not SaleStatus.AGREED:
            raise MarketStateError(f"sale {sale_id} is {sale.state.value}: only an agreed sale is cancelled")
        digest = self._record_document(
            "cancellation", sale, party.account, {"reason": reason, "at": self._now()}
        )
        party.chain.cancel_sale(bytes.fromhex(sale_id[2:]), digest)
        self.book.set_sale_state(sale_id, SaleStatus.CANCELLED, self._now(), reason)
        self.book.set_listing_state(
            sale.listing_id, ListingState.WITHDRAWN, "its sale was cancelled", self._now()
        )
        return self.book.sale(sale_id)

    def reject_delivery(self, buyer: Party, sale_id: str) -> Sale:
        """The buyer rejects the delivery, citing a post-distribution inspection that contradicts the
        disclosures (``rules.require_contradicting_inspection``); the sale is cancelled with it."""
        sale = self.sale(sale_id)
        if self._party_of(sale, buyer) != "buyer":
            raise NotAParty("only the buyer rejects a delivery")
        if sale.state is not SaleStatus.AGREED:
            raise MarketStateError(
                f"sale {sale_id} is {sale.state.value}: a delivery is rejected before acceptance"
            )
        listing = self.book.listing(sale.listing_id)
        current = self._source.summary(uuid.UUID(sale.passport_id), self._clock())
        post = current.post_distribution_inspection
        rules.require_contradicting_inspection(
            listing.summary, post, datetime.fromtimestamp(sale.agreed_at, UTC)
        )
        assert post is not None  # the rule refuses a rejection without one
        reason = (
            f"delivery rejected: post-distribution inspection {post.result} on {post.inspected_at:%Y-%m-%d}"
        )
        digest = self._record_document(
            "rejection", sale, buyer.account, {"reason": reason, "inspection": post.model_dump(mode="json")}
        )
        buyer.chain.cancel_sale(bytes.fromhex(sale_id[2:]), digest)
        self.book.set_sale_state(sale_id, SaleStatus.CANCELLED, self._now(), reason)
        self.book.set_listing_state(sale.listing_id, ListingState.WITHDRAWN, "delivery rejected", self._now())
        return self.book.sale(sale_id)

    def dispute(self, party: Party, sale_id: str, claim: str) -> Sale:
        """Dispute a completed sale (seller or buyer)."""
        sale = self.sale(sale_id)
        self._party_of(sale, party)
        if sale.state is not SaleStatus.COMPLETED:
            raise MarketStateError(f"sale {sale_id} is {sale.state.value}: only a completed sale is disputed")
        digest = self._record_document("claim", sale, party.account, {"claim": claim, "at": self._now()})
        party.chain.dispute_sale(bytes.fromhex(sale_id[2:]), digest)
        self.book.set_sale_state(sale_id, SaleStatus.DISPUTED, None, claim)
        return self.book.sale(sale_id)

    def resolve(self, admin: Party, sale_id: str, outcome: str) -> Sale:
        """Record a dispute's outcome (the ledger admin)."""
        sale = self.sale(sale_id)
        if sale.state is not SaleStatus.DISPUTED:
            raise MarketStateError(f"sale {sale_id} is {sale.state.value}: only a disputed sale is resolved")
        digest = self._record_document(
            "outcome", sale, admin.account, {"outcome": outcome, "at": self._now()}
        )
        admin.chain.resolve_sale_dispute(bytes.fromhex(sale_id[2:]), digest)
        self.book.set_sale_state(sale_id, SaleStatus.RESOLVED, self._now(), outcome)
        return self.book.sale(sale_id)

    def check_terms(self, sale_id: str) -> TermsCheck:
        """The stored terms, checked against the digest the ledger recorded with the sale."""
        sale = self.book.sale(sale_id)
        record = self._reader.get_sale(bytes.fromhex(sale_id[2:]))
        if record is None:
            raise TermsMismatch(f"the ledger has no sale {sale_id}")
        body = check_terms(
            self._store.get(sale.terms_cid),
            expected_digest=record.terms_digest,
            domain=self._domain,
            seller=record.seller,
            buyer=record.buyer,
        )
        return TermsCheck(
            sale_id=sale_id,
            terms_cid=sale.terms_cid,
            terms_digest=sale.terms_digest,
            onchain_digest=_hex(record.terms_digest),
            matches=sale.terms_digest == _hex(record.terms_digest),
            body=body,
        )

    def price_index(self) -> PriceIndex:
        """The public index over completed (and later disputed/resolved) sales."""
        done = (SaleStatus.COMPLETED, SaleStatus.DISPUTED, SaleStatus.RESOLVED)
        return price_index([s for s in self.sales() if s.state in done], self._min_group_size)
