"""Every battery's anchored history for the whole pilot, each batch document opened once per run.

The end-of-run stages read anchored histories several times: the health refresh and the early-warning
scan need every battery's records, and each second-life storage month proof (``oracle.energy_proofs``)
asks ``RecordProofs.battery_history`` for one battery, which opens every batch that battery appears in.
A battery's readings land in nearly every day's batches, so each month proof re-opened (decrypted,
parsed, re-checked) almost the whole year's documents: at 2,500 EVs, ~930k records per proof.

``FleetHistories`` is a ``RecordProofs`` that opens each anchored batch document once, the first time
any history is asked for after the batch was anchored, and answers every later question from what it
indexed. The records are the documents' records, each checked exactly as ``open_batch_document`` and
``RecordProofs.battery_history`` check them (ciphertext, digests, tree, the root the journal anchored).
Caching is sound here because the pilot's managed node never reorganises: once anchored, a batch's
document, root and block do not change. Roots are looked up on the chain once each, for the same reason.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from oracle.batch_document import open_batch_document
from oracle.errors import DocumentMismatch, NotAnchored
from oracle.journal import Journal
from oracle.ports import AnchorReader
from oracle.proofs import AnchoredRecord, RecordProofs
from passport.envelope import KeyRing
from passport.store.protocol import ContentStore


def _history_order(anchored: AnchoredRecord) -> tuple[datetime, str, int, int]:
    """``RecordProofs.battery_history``'s order: observation time, then device, sequence, index."""
    record = anchored.record
    return (record.reading.observed_at, record.device_id, record.seq, record.index)


class FleetHistories(RecordProofs):
    """``RecordProofs`` whose battery histories come from one pass over the anchored batch documents."""

    def __init__(self, journal: Journal, store: ContentStore, *, keyring: KeyRing) -> None:
        super().__init__(journal, store, keyring=keyring)
        self._indexed: set[int] = set()  # batch ids whose documents are in _by_battery
        self._by_battery: defaultdict[str, list[AnchoredRecord]] = defaultdict(list)
        self._roots_on_chain: set[bytes] = set()

    def _catch_up(self) -> None:
        """Open the documents of the batches anchored since the last call (oldest first)."""
        for batch in self.journal.batch_heads(("anchored", "confirmed")):
            if batch.id in self._indexed or batch.cid is None:
                continue
            document = open_batch_document(self.store.get(batch.cid), self.keyring)
            if document.root != batch.root:
                raise DocumentMismatch(f"document {batch.cid} is not the one batch {batch.id} anchored")
            for record in document.records:
                proof = tuple(document.tree.proof(record.digest))
                self._by_battery[record.battery_id].append(
                    AnchoredRecord(record, document.root, batch.cid, batch.block_number, proof)
                )
            self._indexed.add(batch.id)

    def histories(self) -> dict[str, list[AnchoredRecord]]:
        """Every battery's anchored records, in batch order (a fresh dict; the lists are shared)."""
        self._catch_up()
        return dict(self._by_battery)

    def battery_history(self, battery_id: str, *, chain: AnchorReader | None = None) -> list[AnchoredRecord]:
        """As ``RecordProofs.battery_history``: the battery's anchored records in history order, each
        root checked against the registry when ``chain`` is given."""
        self._catch_up()
        history = sorted(self._by_battery.get(battery_id, ()), key=_history_order)
        if chain is not None:
            for root in {anchored.root for anchored in history} - self._roots_on_chain:
                if chain.get_anchor(root) is None:
                    raise NotAnchored(f"root 0x{root.hex()} is not on the ledger")
                self._roots_on_chain.add(root)
        return history
