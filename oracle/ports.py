"""The oracle's ports: the few ledger calls it makes, as narrow protocols.

``passport.chain.Web3ChainClient`` (and any ``ChainClient``) satisfies both structurally; so do the
test doubles, without casts. Proofs need only ``AnchorReader`` (read-only views, any account);
the anchoring pipeline needs ``AnchorChain`` (it also sends ``anchorBatch`` as the oracle).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from passport.chain.records import AnchorRecord, LedgerEvent, TxReceipt
from passport.model import AnchorKind


class AnchorReader(Protocol):
    """The registry's read-only anchor views: enough to check a proof on-chain."""

    def get_anchor(self, root: bytes) -> AnchorRecord | None:
        """The anchor of Merkle ``root``, or None if the registry does not know it."""
        ...

    def verify_record(self, root: bytes, record_digest: bytes, proof: Sequence[bytes]) -> bool:
        """The registry's ``verifyRecord(root, recordDigest, proof)`` view."""
        ...


class AnchorChain(AnchorReader, Protocol):
    """Everything the anchoring pipeline asks of the ledger, acting as the oracle account."""

    def block_number(self) -> int:
        """The head block's number."""
        ...

    def block_hash(self, number: int) -> bytes | None:
        """Hash of block ``number`` on the current canonical chain, or None if it does not exist."""
        ...

    def anchor_batch(self, root: bytes, cid_digest: bytes, record_count: int, kind: AnchorKind) -> TxReceipt:
        """Send ``anchorBatch`` and wait for it to be mined."""
        ...

    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        """The registry's events in ``[from_block, to_block]`` (to recover a lost transaction hash)."""
        ...


@runtime_checkable
class PipelinedAnchorChain(AnchorChain, Protocol):
    """A ledger the pipeline can keep anchoring transactions in flight on (``Web3ChainClient``).

    Several roots per transaction (the registry's ``anchorBatches``, all or none), sent without waiting
    for the receipt; receipts collected later. Without these, the pipeline sends one root at a time.
    """

    def send_anchor_batches(self, batches: Sequence[tuple[bytes, bytes, int, AnchorKind]]) -> bytes:
        """Send ``anchorBatches`` for ``(root, cid_digest, record_count, kind)`` items; the tx hash."""
        ...

    def anchor_receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The mined receipt (events decoded), None while pending; raises the decoded revert if it failed."""
        ...

    def forget_nonces(self) -> None:
        """Re-read the next nonce from the node's pending pool (after a transaction was dropped)."""
        ...
