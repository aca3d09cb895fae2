"""The ``ChainClient`` boundary: everything the rest of the system asks of the on-chain ledger.

The real implementation is ``passport.chain.Web3ChainClient`` (web3.py against any JSON-RPC node, or
eth-tester in process). Callers pass and receive plain bytes/ints/str and the records in
``passport.chain.records``; web3 never leaks past this boundary, and neither do its exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from passport.chain.inclusion import BlockHeader
from passport.chain.records import (
    AnchorRecord,
    BusinessRecord,
    CustodyOffer,
    LedgerEvent,
    PassportIssue,
    PassportRecord,
    Role,
    SafetyState,
    TxReceipt,
)
from passport.model.lifecycle import AnchorKind, BusinessKind, LifecycleStatus
from passport.model.safety import InspectionKind


@runtime_checkable
class ChainClient(Protocol):
    """A typed client of the deployed ``BatteryPassportRegistry``, acting as one account."""

    @property
    def chain_id(self) -> int: ...

    @property
    def registry_address(self) -> str:
        """Checksummed address of the deployed registry."""
        ...

    @property
    def account(self) -> str:
        """Checksummed address this client signs transactions with."""
        ...

    def as_account(self, private_key: bytes) -> ChainClient:
        """A client for the same chain and registry that acts as another account."""
        ...

    def on_receipt(self, callback: Callable[[TxReceipt], None]) -> None:
        """Call ``callback`` with the receipt of every transaction this client, or any client
        ``as_account`` derives from the same one, gets mined (before the write returns)."""
        ...

    # -- chain ------------------------------------------------------------------------------------
    def block_number(self) -> int: ...

    def block_hash(self, number: int) -> bytes | None:
        """Hash of block ``number`` on the current canonical chain, or None if it does not exist."""
        ...

    def block_header(self, block_hash: bytes) -> BlockHeader | None:
        """The header (its RLP fields) of the block with this hash, or None if the node has no such block.

        Raises ``InclusionProofError`` if the node's fields do not hash to ``block_hash``.
        """
        ...

    def block_transactions(self, block_hash: bytes) -> tuple[bytes, ...]:
        """The consensus encodings of the block's signed transactions, in block order."""
        ...

    def block_receipts(self, block_hash: bytes) -> tuple[bytes, ...]:
        """The consensus encodings of the block's transaction receipts, in block order."""
        ...

    # -- roles and businesses -----------------------------------------------------------------------
    def grant_role(self, role: Role, account: str) -> TxReceipt: ...

    def revoke_role(self, role: Role, account: str) -> TxReceipt: ...

    def has_role(self, role: Role, account: str) -> bool: ...

    def register_business(self, account: str, kinds: BusinessKind, registration_hash: bytes) -> TxReceipt: ...

    def suspend_business(self, account: str) -> TxReceipt: ...

    def reinstate_business(self, account: str) -> TxReceipt: ...

    def get_business(self, account: str) -> BusinessRecord | None: ...

    # -- passports --------------------------------------------------------------------------------
    def issue_passport(
        self, passport_id: bytes, battery_id_hash: bytes, manifest_digest: bytes, signature: bytes
    ) -> TxReceipt: ...

    def issue_passports(self, passports: Sequence[PassportIssue]) -> TxReceipt:
        """Issue several passports in one transaction, each with its own signature and ``PassportIssued``
        event; all or nothing (the first invalid entry's revert refuses the whole batch)."""
        ...

    def send_issue_passports(self, passports: Sequence[PassportIssue]) -> bytes:
        """``issue_passports`` sent without waiting for it to be mined: the transaction hash."""
        ...

    def update_passport(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> TxReceipt:
        """Record a new version (new document digest) with the same status."""
        ...

    def send_update_passport(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> bytes:
        """``update_passport`` sent without waiting for it to be mined: the transaction hash."""
        ...

    def sent_receipt(self, tx_hash: bytes) -> TxReceipt:
        """Wait for a transaction sent without waiting: its receipt, or its revert if it failed."""
        ...

    def change_status(
        self,
        passport_id: bytes,
        status: LifecycleStatus,
        manifest_digest: bytes,
        signature: bytes,
    ) -> TxReceipt:
        """Move a passport to ``REUSED`` or ``WASTE`` (a new version)."""
        ...

    def issue_successor(
        self,
        predecessor_id: bytes,
        passport_id: bytes,
        battery_id_hash: bytes,
        status: LifecycleStatus,
        manifest_digest: bytes,
        signature: bytes,
    ) -> TxReceipt:
        """Repurpose or remanufacture: a new passport linked to (and closing) its predecessor."""
        ...

    def recycle(self, passport_id: bytes, manifest_digest: bytes, signature: bytes) -> TxReceipt:
        """End a ``WASTE`` passport as ``RECYCLED``: no further writes, history kept."""
        ...

    def get_passport(self, passport_id: bytes) -> PassportRecord | None: ...

    def version_digest(self, passport_id: bytes, version: int) -> bytes:
        """The manifest digest recorded for ``version`` (1-based) of a passport."""
        ...

    def passport_version_hash(
        self,
        passport_id: bytes,
        battery_id_hash: bytes,
        version: int,
        status: LifecycleStatus,
        manifest_digest: bytes,
        predecessor: bytes,
    ) -> bytes:
        """The EIP-712 digest the contract computes for a passport version (for cross-checks)."""
        ...

    def recover_version_signer(
        self,
        passport_id: bytes,
        battery_id_hash: bytes,
        version: int,
        status: LifecycleStatus,
        manifest_digest: bytes,
        predecessor: bytes,
        signature: bytes,
    ) -> str:
        """The signer the contract recovers for a passport version's EIP-712 signature."""
        ...

    # -- custody ----------------------------------------------------------------------------------
    def offer_custody(self, passport_id: bytes, to: str, expires_at: int) -> TxReceipt: ...

    def accept_custody(self, passport_id: bytes) -> TxReceipt: ...

    def cancel_custody_offer(self, passport_id: bytes) -> TxReceipt: ...

    def get_custody_offer(self, passport_id: bytes) -> CustodyOffer | None: ...

    # -- battery services -------------------------------------------------------------------------
    def set_services(self, services_address: str | None) -> TxReceipt:
        """Point the registry at the ``BatteryServices`` contract (default admin; None turns it off):
        custody offers/acceptances, successor issues and recycling then need the legal owner's consent."""
        ...

    def services_address(self) -> str | None:
        """The services contract the registry asks for consent, or None."""
        ...

    # -- safety records ---------------------------------------------------------------------------
    def record_inspection(
        self,
        passport_id: bytes,
        kind: InspectionKind,
        passed: bool,
        valid_until: int,
        manifest_digest: bytes,
        signature: bytes,
    ) -> TxReceipt:
        """Record an inspection as the next version (inspector role); see ``ISafetyRecords``."""
        ...

    def record_incident(
        self, passport_id: bytes, serious: bool, manifest_digest: bytes, signature: bytes
    ) -> TxReceipt:
        """Record an incident as the next version (custodian or inspector); a serious one flags it."""
        ...

    def get_safety_state(self, passport_id: bytes) -> SafetyState: ...

    # -- data anchors -----------------------------------------------------------------------------
    def anchor_batch(
        self, root: bytes, cid_digest: bytes, record_count: int, kind: AnchorKind
    ) -> TxReceipt: ...

    def get_anchor(self, root: bytes) -> AnchorRecord | None: ...

    def verify_record(self, root: bytes, record_digest: bytes, proof: Sequence[bytes]) -> bool:
        """On-chain check (contract view, OpenZeppelin ``MerkleProof``) that a record is in a root."""
        ...

    # -- events -----------------------------------------------------------------------------------
    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        """Decoded registry events in ``[from_block, to_block]``, in chain order."""
        ...
