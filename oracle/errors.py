"""The oracle's exceptions: one root (``OracleError``), one branch per subsystem.

Errors from the chain and the content store arrive already translated into ``passport.errors``
(``ChainUnavailable``, ``StoreUnavailable``, ``ContractRevert``); the oracle lets those through or
handles them, and raises only the classes below for its own failures.
"""

from __future__ import annotations


class OracleError(Exception):
    """Raised when anything in the oracle fails; the root of every oracle error."""


# -- readings --------------------------------------------------------------------------------------


class ReadingRejected(OracleError, ValueError):
    """Raised when a reading is malformed or physically implausible; ``problems`` lists (path, why)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems: list[tuple[str, str]] = problems or []


# -- devices and uploads ---------------------------------------------------------------------------


class DeviceError(OracleError):
    """Raised when a collection device cannot be registered or one of its uploads is refused."""


class DeviceAlreadyRegistered(DeviceError, ValueError):
    """Raised when a device id is registered again with a different key or battery."""


class UploadRejected(DeviceError):
    """Raised when a whole upload is refused; ``code`` is the machine-readable reason."""

    code = "rejected"


class MalformedUpload(UploadRejected, ValueError):
    """Raised when an upload's envelope (ids, sequence, signature, readings list) is not well formed."""

    code = "malformed"


class UnknownDevice(UploadRejected, LookupError):
    """Raised when an upload names a device id that is not registered (or is deactivated)."""

    code = "unknown_device"


class WrongBattery(UploadRejected):
    """Raised when an upload names a battery other than the one its device is registered for."""

    code = "wrong_battery"


class BadSignature(UploadRejected):
    """Raised when an upload's signature is malformed or not made by its device's registered key."""

    code = "bad_signature"


class DeviceSuspended(UploadRejected):
    """Raised when an upload comes from a device suspended by its operator (e.g. a compromised key)."""

    code = "device_suspended"


class DeviceUnbound(UploadRejected):
    """Raised when an upload comes from a device that is bound to no battery (unbound, awaiting rebind)."""

    code = "device_unbound"


class DeviceStateError(DeviceError):
    """Raised when a device lifecycle step does not fit its state (bind a bound device, reinstate an
    active one, act on an unknown device)."""


class InvalidDeviceDetails(DeviceError, ValueError):
    """Raised when a device's key (address, public key) or details (model, firmware, reason) are invalid."""


class UnknownDeviceId(DeviceStateError, LookupError):
    """Raised when a lifecycle step or read names a device id that is not registered."""


class ReplayDetected(UploadRejected):
    """Raised when an upload's sequence number is at or below the device's last accepted one."""

    code = "replay"


# -- journal ---------------------------------------------------------------------------------------


class JournalError(OracleError):
    """Raised when the durable journal cannot be opened, read or written."""


class RecordNotFound(JournalError, LookupError):
    """Raised when no journaled record has the requested id or digest."""


class BatchStateError(JournalError):
    """Raised when a batch transition is attempted from a state that does not allow it."""


# -- Merkle trees ----------------------------------------------------------------------------------


class MerkleError(OracleError):
    """Raised when a Merkle tree cannot be built or a proof cannot be produced."""


class EmptyTree(MerkleError, ValueError):
    """Raised when a Merkle tree is requested over no leaves."""


class DuplicateLeaf(MerkleError, ValueError):
    """Raised when the same record digest is given twice (a proof would be ambiguous)."""


class LeafNotFound(MerkleError, LookupError):
    """Raised when a proof is requested for a record digest that is not in the tree."""


# -- anchoring -------------------------------------------------------------------------------------


class AnchoringError(OracleError):
    """Raised when a batch cannot be anchored or an anchor does not match what the journal holds."""


class AnchorMismatch(AnchoringError):
    """Raised when the ledger's anchor for a root disagrees with the batch (count or kind)."""


class NotAnchored(AnchoringError, LookupError):
    """Raised when a proof is requested for a record whose batch is not anchored yet."""


class DocumentMismatch(AnchoringError):
    """Raised when a stored batch document does not reproduce its anchored Merkle root."""


class SealedDocumentError(DocumentMismatch):
    """Raised when a sealed batch document does not decrypt: tampered, or moved under another batch."""


# -- health ----------------------------------------------------------------------------------------


class HealthError(OracleError):
    """Raised when a battery's health cannot be evaluated."""


class InsufficientData(HealthError, ValueError):
    """Raised when the inputs needed by the chosen state-of-health method are missing."""


class UngradableBattery(HealthError, ValueError):
    """Raised when a battery's category is not one the grading methods cover."""


class ImplausibleReading(HealthError, ReadingRejected):
    """Raised when a diagnostic reading is physically implausible against the battery's rated values."""


class UnknownGradingPolicy(HealthError, LookupError):
    """Raised when a grading policy id (or id and digest) names no version in the oracle's registry."""


class UnknownHealthPolicy(HealthError, LookupError):
    """Raised when a device-health policy id names no version in the oracle's registry."""


class MalformedEvidence(HealthError, ValueError):
    """Raised when a health evidence bundle cannot be parsed (its checks never ran)."""


# -- early warnings ----------------------------------------------------------------------------------


class WarningStoreError(OracleError):
    """Raised when the early-warning alert store cannot be read or written."""


# -- second-life energy ------------------------------------------------------------------------------


class EnergyError(OracleError):
    """Raised when a storage system's metered energy cannot be computed or proven."""


class InvalidMonth(EnergyError, ValueError):
    """Raised when a month is not spelled ``YYYY-MM`` (a calendar month, UTC)."""


class MonthNotCovered(EnergyError, LookupError):
    """Raised when the anchored meter readings cannot open or close the month asked about."""


class MalformedEnergyProof(EnergyError, ValueError):
    """Raised when an energy proof bundle cannot be parsed (its checks never ran)."""


class EnergyProofInvalid(EnergyError, ValueError):
    """Raised when a claim is asked for on an energy proof that fails one of its checks."""
