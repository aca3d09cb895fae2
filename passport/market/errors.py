"""The market's exceptions: one branch (``MarketError``) under ``PassportError``.

Every refusal by a fair-trade rule is a ``FairTradeViolation`` subclass whose ``rule`` names the rule
in ``passport.market.rules``; the API turns ``rule`` into the problem type, so a client learns which
rule refused it and why.
"""

from __future__ import annotations

from typing import ClassVar

from passport.errors import PassportError


class MarketError(PassportError):
    """Raised when a market action (listing, offer, sale, report) cannot be done."""


class ListingNotFound(MarketError, LookupError):
    """Raised when no listing has the given id."""


class OfferNotFound(MarketError, LookupError):
    """Raised when no offer (or sale) has the given id."""


class MarketStateError(MarketError):
    """Raised when the listing, offer or sale is not in a state that allows the action."""


class NotAParty(MarketError, PermissionError):
    """Raised when the caller is not the seller or buyer the action needs."""


class TermsMismatch(MarketError):
    """Raised when a stored terms document does not hash to the digest the ledger recorded."""


class FairTradeViolation(MarketError):
    """Raised when a fair-trade rule refuses an action; ``rule`` names the rule (see ``rules``)."""

    rule: ClassVar[str] = "fair-trade"


class DisclosureMissing(FairTradeViolation):
    """Raised when a listing lacks a mandatory disclosure (current grade, valid inspection, events)."""

    rule = "mandatory-disclosures"


class DisclosureStale(FairTradeViolation):
    """Raised when a listing's disclosures no longer hold (new incident, expired inspection)."""

    rule = "stale-disclosures"


class GradeChangedWithoutEvaluation(FairTradeViolation):
    """Raised when a battery is relisted at another grade without a newer evaluation behind it."""

    rule = "no-regrade-without-evaluation"


class BusinessNotActive(FairTradeViolation):
    """Raised when a seller or buyer is not a registered, active (unsuspended) business."""

    rule = "active-business-only"


class SellerNotCustodian(FairTradeViolation):
    """Raised when someone other than the battery's custodian tries to list or sell it."""

    rule = "custodian-lists"


class DeliveryRejectionUnfounded(FairTradeViolation):
    """Raised when a buyer rejects a delivery without a post-distribution inspection contradicting
    the disclosures."""

    rule = "delivery-rejection"
