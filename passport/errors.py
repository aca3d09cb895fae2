"""The passport package's exceptions: one root, one branch per subsystem.

Errors raised by web3, eth-tester or httpx are translated into these at the one boundary where they
enter (the chain client, the IPFS client), so callers only ever catch ``PassportError`` and its
subclasses. The development tools' errors (solc, local nodes) live in ``devtools.errors``, under
``DevToolsError``, itself a ``PassportError``.
"""

from __future__ import annotations


class PassportError(Exception):
    """Raised when anything in the passport library fails; the root of every error here."""


# -- configuration -------------------------------------------------------------------------------


class ConfigError(PassportError, ValueError):
    """Raised when settings are missing, inconsistent or unsafe for the environment."""


class DevKeyRefused(ConfigError):
    """Raised when a well-known development key or mnemonic is used outside development."""


# -- identifiers and encodings -------------------------------------------------------------------


class InvalidIdentifier(PassportError, ValueError):
    """Raised when a battery id, passport id, address, digest or hex string is malformed."""


class InvalidCid(InvalidIdentifier):
    """Raised when a content identifier cannot be parsed or is not a supported CID."""


# -- documents -----------------------------------------------------------------------------------


class DocumentError(PassportError):
    """Raised when a passport document cannot be built, read or committed."""


class LedgerContentMismatch(DocumentError):
    """Raised when content whose digest the ledger holds states other facts than the ledger (a writer's bug).

    Not the reader's fault and not tampering (the digest matched): the API answers 502.
    """


class DocumentValidationError(DocumentError, ValueError):
    """Raised when a document fails validation; ``problems`` lists each invalid field by path."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems: list[tuple[str, str]] = problems or []


class CanonicalJsonError(DocumentValidationError):
    """Raised when a value cannot be encoded as RFC 8785 canonical JSON, or bytes are not canonical JSON."""


class JsonParseError(CanonicalJsonError):
    """Raised when incoming bytes are not strict JSON (``passport.canonical.parse_json_strict``)."""


class JsonEncodingError(JsonParseError):
    """Raised when JSON bytes are not UTF-8 without a byte-order mark (a BOM, UTF-16/32, bad bytes)."""


class JsonTooDeep(JsonParseError):
    """Raised when JSON nests deeper than ``passport.canonical.MAX_DEPTH`` arrays and objects."""


class JsonDuplicateKey(JsonParseError):
    """Raised when a JSON object repeats a key (parsers disagree on which one wins)."""


class JsonSyntaxError(JsonParseError):
    """Raised when bytes are not well-formed JSON, or use NaN/Infinity, which JSON has no spelling for."""


class DecryptionError(DocumentError):
    """Raised when a restricted section cannot be decrypted (wrong key or tampered ciphertext)."""


class KeyNotAvailable(DocumentError, LookupError):
    """Raised when the envelope key needed for a restricted section is not held by this service."""


class SignatureError(DocumentError):
    """Raised when a signature is malformed or cannot be produced."""


# -- content store -------------------------------------------------------------------------------


class StoreError(PassportError):
    """Raised when the content store fails."""


class ContentNotFound(StoreError, LookupError):
    """Raised when the store holds no content for a CID."""


class ContentIntegrityError(StoreError):
    """Raised when stored bytes do not hash to the CID they were stored under."""


class StoreUnavailable(StoreError, ConnectionError):
    """Raised when the store's backend (an IPFS node) cannot be reached or times out."""


# -- chain ---------------------------------------------------------------------------------------


class ChainError(PassportError):
    """Raised when talking to the ledger on chain fails."""


class ChainUnavailable(ChainError, ConnectionError):
    """Raised when the JSON-RPC node cannot be reached or times out."""


class ContractRevert(ChainError):
    """Raised when a ledger call reverts; ``error`` is the custom error's name, ``args`` its values."""

    def __init__(self, error: str, args: tuple[object, ...] = (), message: str | None = None) -> None:
        super().__init__(message or f"{error}{args!r}")
        self.error = error
        self.error_args = args


class TransactionFailed(ChainError):
    """Raised when a transaction is not mined, runs out of gas or fails without a decodable reason."""


class InclusionProofError(ChainError, ValueError):
    """Raised when a block header, transaction or receipt cannot be encoded, or a proof does not hold."""


class DeploymentError(ChainError):
    """Raised when the ledger cannot be deployed or its deployment manifest does not match the chain."""


class KeystoreError(ChainError):
    """Raised when the local keystore cannot be created, unlocked or read."""


# -- shared-state database -----------------------------------------------------------------------


class StorageError(PassportError):
    """Raised when the shared-state database (SQLite file or PostgreSQL) fails a statement."""


class StorageIntegrityError(StorageError):
    """Raised when a write breaks a constraint (duplicate key, foreign key, check); stores map it."""


class StorageUnavailable(StorageError, ConnectionError):
    """Raised when the database cannot be reached or opened."""


# -- audit index ---------------------------------------------------------------------------------


class AuditIndexError(PassportError):
    """Raised when the audit index cannot be opened, read, written or kept in step with the chain."""


class IndexChainMismatch(AuditIndexError):
    """Raised when an index database was built from another chain or registry than the one given."""


class InvalidPageToken(AuditIndexError, ValueError):
    """Raised when a pagination token is malformed or belongs to another ordering."""


# -- verification --------------------------------------------------------------------------------


class VerificationError(PassportError):
    """Raised when a bundle cannot even be read for verification (failed checks are reported, not raised)."""


# -- passport service ----------------------------------------------------------------------------


class ServiceError(PassportError):
    """Raised when the passport service cannot carry out a request (store and chain errors pass through)."""


class PassportNotFound(ServiceError, LookupError):
    """Raised when the ledger holds no passport with the requested id."""


class VersionNotRecorded(ServiceError, LookupError):
    """Raised when this service's version log has no record (signature, receipt) of an on-chain version."""


class VersionLogError(ServiceError):
    """Raised when the service's version log (SQLite) cannot be opened, read or written."""


class SigningKeyMissing(ServiceError):
    """Raised when a write is asked of a passport service built without a signing key (read-only)."""


# -- verifiable credentials -------------------------------------------------------------------------


class CredentialError(PassportError):
    """Raised when a verifiable credential, DID document or status list cannot be built or read."""


class CredentialInvalid(CredentialError, ValueError):
    """Raised when a credential, DID or status list is malformed (not merely failing verification)."""


class DidResolutionError(CredentialError, LookupError):
    """Raised when a did:web document (or a status list it names) cannot be fetched or is not valid."""


class UnknownIdentifier(CredentialError, LookupError):
    """Raised when an identification link names no passport on the ledger."""


class IssuerNotHosted(CredentialError, LookupError):
    """Raised when a credential's issuer is not a participant whose keys this installation holds."""
