"""The used-battery market: listings built from verified passports, offers, sales tied to custody, the
public price index.

Listing and buying are for registered businesses whose keys this service holds (the custodial model,
``api.services``); reading listings and the price index is public. A sale completes only when the buyer
accepts custody (``POST /passports/{id}/custody/accept``): the ledger then marks it completed, and the
market reads that back. Refusals by a fair-trade rule are 409 problems whose ``type`` ends in
``fair-trade/<rule>`` and whose ``error`` names the exception class (``passport.market.rules``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import ApiRole, Caller
from api.deps import AdminCaller, AuthCaller, ServicesDep, caller_with
from api.errors import Forbidden
from api.openapi import raises
from api.schemas import PASSPORT_ID_SCHEMA
from api.services import Services
from passport.chain.sales import sales_chain
from passport.ids import parse_passport_id
from passport.market import (
    Listing,
    ListingCreate,
    ListingState,
    Market,
    Offer,
    OfferCreate,
    Party,
    PriceIndex,
    Sale,
    TermsCheck,
)
from passport.market.summary import ListingSummary
from passport.market.terms import terms_digest

router = APIRouter(tags=["market"])

ListingIdPath = Annotated[str, Path(description="A listing's id (UUID).", pattern=r"^[0-9a-f-]{36}$")]
OfferIdPath = Annotated[str, Path(description="An offer's id (UUID).", pattern=r"^[0-9a-f-]{36}$")]
SaleIdPath = Annotated[str, Path(description="A sale's id (0x + 64 hex).", pattern=r"^0x[0-9a-f]{64}$")]


def _passport_id(value: str) -> str:
    return str(parse_passport_id(value))  # InvalidIdentifier is a ValueError: a 422 naming the field


class ListingRequest(ListingCreate):
    """List a battery you hold: the passport, and what you add to its verified summary."""

    passport_id: Annotated[str, AfterValidator(_passport_id)] = Field(
        description="The passport's UUID.", json_schema_extra=PASSPORT_ID_SCHEMA
    )


class ListingPublic(BaseModel):
    id: str
    passport_id: str
    seller: str
    asking_price: int
    currency: str
    location: str
    delivery: str
    notes: str | None
    state: str
    state_reason: str | None
    created_at: int
    summary: ListingSummary

    @classmethod
    def of(cls, listing: Listing) -> ListingPublic:
        return cls(**listing.model_dump(exclude={"updated_at"}))


class OfferPublic(BaseModel):
    id: str
    listing_id: str
    buyer: str
    price: int
    conditions: str | None
    state: str
    created_at: int
    sale_id: str
    terms_digest: str

    @classmethod
    def of(cls, offer: Offer) -> OfferPublic:
        return cls(
            id=offer.id,
            listing_id=offer.listing_id,
            buyer=offer.buyer,
            price=offer.price,
            conditions=offer.conditions,
            state=offer.state.value,
            created_at=offer.created_at,
            sale_id=str(offer.terms_body["sale_id"]),
            terms_digest="0x" + terms_digest(offer.terms_body).hex(),
        )


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_seconds: int = Field(default=7 * 86_400, ge=60, le=30 * 86_400)


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


BusinessCaller = Annotated[Caller, Depends(caller_with(ApiRole.BUSINESS))]


def _party(services: Services, caller: Caller) -> Party:
    client = services.client_for(caller)
    return Party(sales_chain(client), services.keys[caller.name])


def _market(services: Services) -> Market:
    return services.market()


@router.get("/market/listings", operation_id="list_market_listings")
def list_listings(
    services: ServicesDep, state: ListingState | None = ListingState.ACTIVE
) -> list[ListingPublic]:
    """Listings (active ones by default), each refreshed: stale disclosures suspend a listing."""
    return [ListingPublic.of(listing) for listing in _market(services).listings(state)]


@router.post("/market/listings", status_code=201, operation_id="create_market_listing")
@raises(403, 404, 409)
def create_listing(caller: BusinessCaller, body: ListingRequest, services: ServicesDep) -> ListingPublic:
    """List a battery you hold (a registered, active business); the summary comes from the verified
    passport and the fair-trade rules apply."""
    ask = ListingCreate(**body.model_dump(exclude={"passport_id"}))
    listing = _market(services).list_battery(
        _party(services, caller), parse_passport_id(body.passport_id), ask
    )
    return ListingPublic.of(listing)


@router.get("/market/listings/{listing_id}", operation_id="get_market_listing")
@raises(404)
def get_listing(listing_id: ListingIdPath, services: ServicesDep) -> ListingPublic:
    """One listing, refreshed (a listing whose disclosures went stale shows as suspended)."""
    return ListingPublic.of(_market(services).listing(listing_id))


@router.delete("/market/listings/{listing_id}", operation_id="withdraw_market_listing")
@raises(403, 404, 409)
def withdraw_listing(
    caller: BusinessCaller, listing_id: ListingIdPath, services: ServicesDep
) -> ListingPublic:
    """Withdraw your listing."""
    return ListingPublic.of(_market(services).withdraw(_party(services, caller), listing_id))


@router.get("/market/listings/{listing_id}/offers", operation_id="list_market_offers")
@raises(404)
def list_offers(caller: AuthCaller, listing_id: ListingIdPath, services: ServicesDep) -> list[OfferPublic]:
    """The offers on a listing: all of them for its seller, your own otherwise."""
    market = _market(services)
    listing = market.book.listing(listing_id)
    account = (services.account_of(caller) or "").lower()
    offers = market.offers(listing_id)
    if account != listing.seller.lower():
        offers = [o for o in offers if o.buyer.lower() == account]
    return [OfferPublic.of(o) for o in offers]


@router.post("/market/listings/{listing_id}/offers", status_code=201, operation_id="make_market_offer")
@raises(403, 404, 409)
def make_offer(
    caller: BusinessCaller, listing_id: ListingIdPath, body: OfferCreate, services: ServicesDep
) -> OfferPublic:
    """Offer a price (a registered, active business); you sign the terms the seller may accept."""
    return OfferPublic.of(_market(services).make_offer(_party(services, caller), listing_id, body))


@router.post("/market/offers/{offer_id}/accept", operation_id="accept_market_offer")
@raises(403, 404, 409)
def accept_offer(
    caller: BusinessCaller, offer_id: OfferIdPath, body: AcceptRequest, services: ServicesDep
) -> Sale:
    """Accept an offer on your listing: the signed terms are stored and the sale is agreed on-chain with
    their digest, which offers custody to the buyer. The buyer's custody acceptance completes it."""
    return _market(services).accept_offer(_party(services, caller), offer_id, body.expires_in_seconds)


def _visible_sale(services: Services, caller: Caller, sale_id: str) -> Sale:
    sale = _market(services).sale(sale_id)
    account = (services.account_of(caller) or "").lower()
    overseer = {ApiRole.ADMIN, ApiRole.AUDITOR, ApiRole.AUTHORITY} & set(caller.roles)
    if account not in (sale.seller.lower(), sale.buyer.lower()) and not overseer:
        raise Forbidden(f"sale {sale_id} is visible to its parties and to auditors only")
    return sale


@router.get("/market/sales/{sale_id}", operation_id="get_market_sale")
@raises(403, 404)
def get_sale(caller: AuthCaller, sale_id: SaleIdPath, services: ServicesDep) -> Sale:
    """A sale, with its state read back from the ledger (parties and auditors)."""
    return _visible_sale(services, caller, sale_id)


@router.get("/market/sales/{sale_id}/terms", operation_id="get_market_sale_terms")
@raises(403, 404, 502)
def get_terms(caller: AuthCaller, sale_id: SaleIdPath, services: ServicesDep) -> TermsCheck:
    """The signed terms, checked against the digest the ledger recorded with the sale."""
    _visible_sale(services, caller, sale_id)
    return _market(services).check_terms(sale_id)


@router.post("/market/sales/{sale_id}/cancel", operation_id="cancel_market_sale")
@raises(403, 404, 409)
def cancel_sale(caller: AuthCaller, sale_id: SaleIdPath, body: ReasonRequest, services: ServicesDep) -> Sale:
    """Cancel an agreed sale before custody moves (seller or buyer), with a reason."""
    return _market(services).cancel(_party(services, caller), sale_id, body.reason)


@router.post("/market/sales/{sale_id}/reject-delivery", operation_id="reject_market_delivery")
@raises(403, 404, 409)
def reject_delivery(caller: AuthCaller, sale_id: SaleIdPath, services: ServicesDep) -> Sale:
    """Reject the delivery (the buyer), on a post-distribution inspection contradicting the disclosures."""
    return _market(services).reject_delivery(_party(services, caller), sale_id)


@router.post("/market/sales/{sale_id}/dispute", operation_id="dispute_market_sale")
@raises(403, 404, 409)
def dispute_sale(caller: AuthCaller, sale_id: SaleIdPath, body: ReasonRequest, services: ServicesDep) -> Sale:
    """Dispute a completed sale (seller or buyer), with the claim."""
    return _market(services).dispute(_party(services, caller), sale_id, body.reason)


@router.post("/market/sales/{sale_id}/resolve", operation_id="resolve_market_sale")
@raises(403, 404, 409)
def resolve_sale(
    caller: AdminCaller, sale_id: SaleIdPath, body: ReasonRequest, services: ServicesDep
) -> Sale:
    """Record the outcome of a disputed sale (the ledger admin)."""
    return _market(services).resolve(_party(services, caller), sale_id, body.reason)


@router.get("/market/price-index", operation_id="get_market_price_index")
def get_price_index(services: ServicesDep) -> PriceIndex:
    """Completed sales per chemistry, grade and SoH band: count, median, interquartile range; groups
    smaller than ``PASSPORT_MARKET_MIN_GROUP_SIZE`` are hidden."""
    return _market(services).price_index()
