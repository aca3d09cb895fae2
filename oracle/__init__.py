"""Battery passport ledger: oracle (device data ingestion, anchoring, health evaluation)."""

from oracle.anchoring import Anchorer, AnchoringPolicy, RunReport
from oracle.batch_document import (
    BatchDocument,
    SealedBatchDocument,
    build_batch_document,
    open_batch_document,
    parse_batch_document,
    seal_batch_document,
)
from oracle.device_health import (
    CURRENT_HEALTH_POLICY,
    HEALTH_POLICIES,
    HealthEvidence,
    HealthPolicy,
    HealthVerification,
    compute_health,
    health_policy,
    verify_health_evidence,
)
from oracle.devices import DeviceKey, DeviceRecord, SignedUpload, recover_signer, sign_upload, upload_body
from oracle.early_warnings import Alert, AlertStore, WarningRules, scan
from oracle.errors import OracleError
from oracle.group_commit import GroupCommitter
from oracle.health import (
    CURRENT_GRADING_POLICY,
    GRADING_POLICIES,
    GradingPolicy,
    HealthAssessment,
    RatedValues,
    evaluate_from_journal,
    evaluate_health,
    grading_policy,
)
from oracle.health_refresh import HealthRefresher, RefreshResult
from oracle.ingestion import Acknowledgement, Ingestor, record_bytes
from oracle.journal import BatchHead, BatchRow, Journal, RecordRow
from oracle.merkle import MerkleTree, leaf_hash, merkle_root, record_digest, verify_proof
from oracle.ports import AnchorChain, AnchorReader, PipelinedAnchorChain
from oracle.proofs import AnchoredRecord, RecordProof, RecordProofs, history_from_documents
from oracle.readings import (
    ChargingSession,
    DeviceReading,
    DiagnosticSnapshot,
    ParkingPeriod,
    SafetyEvent,
    parse_reading,
)

__all__ = [
    "CURRENT_GRADING_POLICY",
    "CURRENT_HEALTH_POLICY",
    "GRADING_POLICIES",
    "HEALTH_POLICIES",
    "Acknowledgement",
    "Alert",
    "AlertStore",
    "AnchorChain",
    "AnchorReader",
    "AnchoredRecord",
    "Anchorer",
    "AnchoringPolicy",
    "BatchDocument",
    "BatchHead",
    "BatchRow",
    "ChargingSession",
    "DeviceKey",
    "DeviceReading",
    "DeviceRecord",
    "DiagnosticSnapshot",
    "GradingPolicy",
    "GroupCommitter",
    "HealthAssessment",
    "HealthEvidence",
    "HealthPolicy",
    "HealthRefresher",
    "HealthVerification",
    "Ingestor",
    "Journal",
    "MerkleTree",
    "OracleError",
    "ParkingPeriod",
    "PipelinedAnchorChain",
    "RatedValues",
    "RecordProof",
    "RecordProofs",
    "RecordRow",
    "RefreshResult",
    "RunReport",
    "SafetyEvent",
    "SealedBatchDocument",
    "SignedUpload",
    "WarningRules",
    "build_batch_document",
    "compute_health",
    "evaluate_from_journal",
    "evaluate_health",
    "grading_policy",
    "health_policy",
    "history_from_documents",
    "leaf_hash",
    "merkle_root",
    "open_batch_document",
    "parse_batch_document",
    "parse_reading",
    "record_bytes",
    "record_digest",
    "recover_signer",
    "scan",
    "seal_batch_document",
    "sign_upload",
    "upload_body",
    "verify_health_evidence",
    "verify_proof",
]
