"""Registry event names the audit views group together (as the contract's ABI spells them)."""

from __future__ import annotations

from enum import StrEnum


class LedgerEvent(StrEnum):
    """Every event the registry emits, by its ABI name: what an audit query may filter on."""

    BATCH_ANCHORED = "BatchAnchored"
    BUSINESS_REGISTERED = "BusinessRegistered"
    BUSINESS_REINSTATED = "BusinessReinstated"
    BUSINESS_SUSPENDED = "BusinessSuspended"
    CUSTODY_OFFER_CANCELLED = "CustodyOfferCancelled"
    CUSTODY_OFFERED = "CustodyOffered"
    CUSTODY_TRANSFERRED = "CustodyTransferred"
    DEFAULT_ADMIN_DELAY_CHANGE_CANCELED = "DefaultAdminDelayChangeCanceled"
    DEFAULT_ADMIN_DELAY_CHANGE_SCHEDULED = "DefaultAdminDelayChangeScheduled"
    DEFAULT_ADMIN_TRANSFER_CANCELED = "DefaultAdminTransferCanceled"
    DEFAULT_ADMIN_TRANSFER_SCHEDULED = "DefaultAdminTransferScheduled"
    EIP712_DOMAIN_CHANGED = "EIP712DomainChanged"
    INCIDENT_RECORDED = "IncidentRecorded"
    INSPECTION_RECORDED = "InspectionRecorded"
    PASSPORT_ISSUED = "PassportIssued"
    PASSPORT_RECYCLED = "PassportRecycled"
    PASSPORT_STATUS_CHANGED = "PassportStatusChanged"
    PASSPORT_SUPERSEDED = "PassportSuperseded"
    PASSPORT_UPDATED = "PassportUpdated"
    ROLE_ADMIN_CHANGED = "RoleAdminChanged"
    ROLE_GRANTED = "RoleGranted"
    ROLE_REVOKED = "RoleRevoked"
    SALE_AGREED = "SaleAgreed"
    SALE_CANCELLED = "SaleCancelled"
    SALE_COMPLETED = "SaleCompleted"
    SALE_DISPUTE_RESOLVED = "SaleDisputeResolved"
    SALE_DISPUTED = "SaleDisputed"
    SERVICES_SET = "ServicesSet"


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
