"""Recycled-material certification (Art. 8) on a mass-balance ledger, and carbon footprints (Art. 7).

Documents (``documents``), the Art. 8 share computation and EU targets (``shares``, ``targets``), the
workflow over the ``RecycledMaterialLedger`` contract (``service``), the offline verifier that follows a
passport's recycled content back to the recycled batteries (``verify``), and carbon-footprint
declarations computed from activity data and emission factors (``carbon``).
"""

from passport.materials.carbon import (
    Activity,
    CarbonFootprintDeclaration,
    EmissionFactor,
    Stage,
    declare_carbon_footprint,
)
from passport.materials.documents import (
    CreditSource,
    FeedstockBattery,
    MetalMass,
    ProductionCertificate,
    RecoveredOutput,
    RecycledLot,
    UsageCertificate,
    UsageClaim,
    document_digest,
    hex32,
    open_document,
    sign_document,
)
from passport.materials.errors import (
    CarbonFootprintError,
    MassBalanceError,
    MaterialDocumentError,
    MaterialsError,
)
from passport.materials.service import MaterialsService, StoredDocument, document_cid
from passport.materials.shares import against_targets, recycled_shares
from passport.materials.targets import EU_TARGETS_2031, EU_TARGETS_2036
from passport.materials.verify import CHECKS, Evidence, Verification, collect_evidence, verify_evidence

__all__ = [
    "CHECKS",
    "EU_TARGETS_2031",
    "EU_TARGETS_2036",
    "Activity",
    "CarbonFootprintDeclaration",
    "CarbonFootprintError",
    "CreditSource",
    "EmissionFactor",
    "Evidence",
    "FeedstockBattery",
    "MassBalanceError",
    "MaterialDocumentError",
    "MaterialsError",
    "MaterialsService",
    "MetalMass",
    "ProductionCertificate",
    "RecoveredOutput",
    "RecycledLot",
    "Stage",
    "StoredDocument",
    "UsageCertificate",
    "UsageClaim",
    "Verification",
    "against_targets",
    "collect_evidence",
    "declare_carbon_footprint",
    "document_cid",
    "document_digest",
    "hex32",
    "open_document",
    "recycled_shares",
    "sign_document",
    "verify_evidence",
]
