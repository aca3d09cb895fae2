"""Battery service models (issue #19): subscription and leasing, vehicle / swap-station bindings,
second life in stationary storage, and energy / avoided-emission claims recorded once.

The chain side is ``passport.chain.services`` (the ``BatteryServicesLedger`` port and its records);
this package adds the signed lease contract and the workflow the API and the CLI share.
"""

from passport.chain.services import (
    Binding,
    BindingEvent,
    ClaimKind,
    Consent,
    ConsentAction,
    HandOver,
    HolderKind,
    Lease,
    ServiceClaim,
    StorageInstallation,
    StorageRole,
    site_hash,
    station_hash,
    vehicle_hash,
)
from passport.servicemodels.documents import LEASE_TYPE, LeaseContract
from passport.servicemodels.errors import ServiceDocumentError, ServiceModelError, ServiceRecordNotFound
from passport.servicemodels.service import LeaseView, ServiceModels, ServiceOverview

__all__ = [
    "LEASE_TYPE",
    "Binding",
    "BindingEvent",
    "ClaimKind",
    "Consent",
    "ConsentAction",
    "HandOver",
    "HolderKind",
    "Lease",
    "LeaseContract",
    "LeaseView",
    "ServiceClaim",
    "ServiceDocumentError",
    "ServiceModelError",
    "ServiceModels",
    "ServiceOverview",
    "ServiceRecordNotFound",
    "StorageInstallation",
    "StorageRole",
    "site_hash",
    "station_hash",
    "vehicle_hash",
]
