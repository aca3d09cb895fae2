"""Registry event names the audit views group together (as the contract's ABI spells them)."""

from __future__ import annotations

# A passport's custody chain: who offered it to whom, who accepted, which offers were withdrawn.
CUSTODY_EVENTS: tuple[str, ...] = ("CustodyOffered", "CustodyTransferred", "CustodyOfferCancelled")

# Every event that records a new version of a passport (a new manifest digest and/or status), plus the
# link to a successor passport that closes it.
VERSION_EVENTS: tuple[str, ...] = (
    "PassportIssued",
    "PassportUpdated",
    "PassportStatusChanged",
    "PassportSuperseded",
    "PassportRecycled",
)
