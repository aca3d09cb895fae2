"""Proofs and history of anchored records: read-only, from the journal and the content store.

Nothing here signs or sends: ``RecordProofs`` needs the journal (which batch holds a record, and the
batch's anchor), the content store (the sealed batch documents) and the key ring whose telemetry KEK
opens them; checking a proof or a root on-chain takes any ``AnchorReader``, e.g. a reader client with no
key of the oracle's. The API and the CLI's ``record proof`` use this, never the anchoring pipeline.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from oracle.batch_document import DocumentRecord, open_batch_document
from oracle.errors import DocumentMismatch, NotAnchored
from oracle.journal import Journal
from oracle.merkle import MerkleTree, verify_proof
from oracle.ports import AnchorReader
from passport.envelope import KeyRing
from passport.model import AnchorKind
from passport.store.protocol import ContentStore

#: Trees of the few most recently asked-about batches are kept: proofs come in bursts per batch.
TREE_CACHE_SIZE: Final = 16


def _parse_hex(value: object) -> object:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


HexBytes = Annotated[
    bytes,
    BeforeValidator(_parse_hex),
    PlainSerializer(lambda raw: "0x" + raw.hex(), return_type=str),
]


class RecordProof(BaseModel):
    """Everything needed to show a record is anchored: check it offline or with ``verifyRecord``."""

    model_config = ConfigDict(frozen=True)

    record_id: int
    record_digest: HexBytes
    root: HexBytes
    proof: list[HexBytes]
    cid: str
    kind: AnchorKind
    tx_hash: HexBytes | None
    block_number: int
    block_hash: HexBytes
    confirmed: bool

    def verify_offline(self) -> bool:
        """The OpenZeppelin ``MerkleProof.verify`` rule, evaluated locally."""
        return verify_proof(self.root, self.record_digest, self.proof)

    def verify_on_chain(self, chain: AnchorReader) -> bool:
        """The registry's ``verifyRecord(root, recordDigest, proof)`` view, and the anchor's existence."""
        return chain.get_anchor(self.root) is not None and chain.verify_record(
            self.root, self.record_digest, self.proof
        )


@dataclass(frozen=True, slots=True)
class AnchoredRecord:
    """One record of a battery's anchored history, with where it is anchored."""

    record: DocumentRecord
    root: bytes
    cid: str
    block_number: int | None
    proof: tuple[bytes, ...]


def _history_order(anchored: AnchoredRecord) -> tuple[datetime, str, int, int]:
    record = anchored.record
    return (record.reading.observed_at, record.device_id, record.seq, record.index)


def history_from_documents(
    documents: Iterable[tuple[str, bytes]], battery_id: str, keyring: KeyRing
) -> list[AnchoredRecord]:
    """A battery's records from ``(cid, sealed document bytes)`` pairs, each checked against its root.

    This needs nothing but the documents (an auditor fetches them by the CIDs whose digests the ledger
    holds) and the telemetry key to open them; the caller still checks each root on-chain, e.g. with
    ``AnchorReader.get_anchor``.
    """
    found: list[AnchoredRecord] = []
    for cid, data in documents:
        document = open_batch_document(data, keyring)
        found.extend(
            AnchoredRecord(r, document.root, cid, None, tuple(document.tree.proof(r.digest)))
            for r in document.records
            if r.battery_id == battery_id
        )
    found.sort(key=_history_order)
    return found


class RecordProofs:
    """Inclusion proofs and battery histories of journaled records (read-only; safe across threads).

    ``keyring`` opens the sealed batch documents (its telemetry KEK): only a caller entitled to the
    readings should be handed an instance.
    """

    def __init__(self, journal: Journal, store: ContentStore, *, keyring: KeyRing) -> None:
        self.journal = journal
        self.store = store
        self.keyring = keyring
        self._trees: OrderedDict[int, MerkleTree] = OrderedDict()
        self._lock = threading.Lock()

    def _tree(self, batch_id: int) -> MerkleTree:
        with self._lock:
            tree = self._trees.get(batch_id)
            if tree is not None:
                self._trees.move_to_end(batch_id)
                return tree
        tree = MerkleTree.from_digests(r.digest for r in self.journal.batch_records(batch_id))
        with self._lock:
            self._trees[batch_id] = tree
            if len(self._trees) > TREE_CACHE_SIZE:
                self._trees.popitem(last=False)
        return tree

    def proof_for(self, record_id: int) -> RecordProof:
        """The inclusion proof of a journaled record; ``NotAnchored`` until its batch is anchored."""
        record = self.journal.record(record_id)
        if record.batch_id is None:
            raise NotAnchored(f"record {record_id} is pending: not in a batch yet")
        batch = self.journal.batch(record.batch_id)
        if batch.state not in ("anchored", "confirmed"):
            raise NotAnchored(f"record {record_id} is in batch {batch.id}, which is {batch.state}")
        assert batch.cid is not None
        assert batch.block_number is not None
        assert batch.block_hash is not None
        tree = self._tree(batch.id)
        if tree.root != batch.root:
            raise DocumentMismatch(f"journal records of batch {batch.id} do not reproduce its root")
        return RecordProof(
            record_id=record.id,
            record_digest=record.digest,
            root=batch.root,
            proof=tree.proof(record.digest),
            cid=batch.cid,
            kind=batch.kind,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            block_hash=batch.block_hash,
            confirmed=batch.state == "confirmed",
        )

    def proof_for_digest(self, record_digest: bytes) -> RecordProof:
        """``proof_for`` the journaled record with this digest (``RecordNotFound`` if none)."""
        return self.proof_for(self.journal.record_by_digest(record_digest).id)

    def battery_history(self, battery_id: str, *, chain: AnchorReader | None = None) -> list[AnchoredRecord]:
        """A battery's anchored records, rebuilt from the batch documents in the store.

        The journal only says which CIDs to fetch; every record comes from the stored document, whose
        root is checked against the batch and, given ``chain``, against the registry.
        """
        history: list[AnchoredRecord] = []
        for batch in self.journal.batches_of_battery(battery_id):
            if batch.state not in ("anchored", "confirmed") or batch.cid is None:
                continue
            document = self.store.get(batch.cid)
            found = history_from_documents([(batch.cid, document)], battery_id, self.keyring)
            if found and found[0].root != batch.root:
                raise DocumentMismatch(f"document {batch.cid} is not the one batch {batch.id} anchored")
            if chain is not None and chain.get_anchor(batch.root) is None:
                raise NotAnchored(f"root 0x{batch.root.hex()} of batch {batch.id} is not on the ledger")
            history.extend(
                AnchoredRecord(a.record, a.root, a.cid, batch.block_number, a.proof) for a in found
            )
        history.sort(key=_history_order)
        return history
