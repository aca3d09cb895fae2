"""Used-battery trading on passport data under fair-trade rules (listings, offers, sales, price index).

See ``service.Market`` for the workflow, ``rules`` for the fair-trade rules and ``terms`` for the signed
sale terms whose digest the ledger records.
"""

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
from passport.market.errors import (
    BusinessNotActive,
    DeliveryRejectionUnfounded,
    DisclosureMissing,
    DisclosureStale,
    FairTradeViolation,
    GradeChangedWithoutEvaluation,
    ListingNotFound,
    MarketError,
    MarketStateError,
    NotAParty,
    OfferNotFound,
    SellerNotCustodian,
    TermsMismatch,
)
from passport.market.index import PriceGroup, PriceIndex, price_index
from passport.market.rules import DEFAULT_POLICY, FairTradePolicy
from passport.market.service import (
    ListingCreate,
    Market,
    OfferCreate,
    Party,
    Reconciliation,
    TermsCheck,
)
from passport.market.source import (
    LedgerPassportSource,
    PassportSource,
    PassportUnverified,
    custody_from_events,
)
from passport.market.summary import CustodyStep, ListingSummary, build_summary

__all__ = [
    "DEFAULT_POLICY",
    "BusinessNotActive",
    "CustodyStep",
    "DeliveryRejectionUnfounded",
    "DisclosureMissing",
    "DisclosureStale",
    "FairTradePolicy",
    "FairTradeViolation",
    "GradeChangedWithoutEvaluation",
    "IntentState",
    "LedgerPassportSource",
    "Listing",
    "ListingCreate",
    "ListingNotFound",
    "ListingState",
    "ListingSummary",
    "Market",
    "MarketBook",
    "MarketError",
    "MarketStateError",
    "NotAParty",
    "Offer",
    "OfferCreate",
    "OfferNotFound",
    "OfferState",
    "Party",
    "PassportSource",
    "PassportUnverified",
    "PriceGroup",
    "PriceIndex",
    "Reconciliation",
    "Sale",
    "SaleIntent",
    "SaleStatus",
    "SellerNotCustodian",
    "TermsCheck",
    "TermsMismatch",
    "build_summary",
    "custody_from_events",
    "price_index",
]
