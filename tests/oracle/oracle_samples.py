"""Shared oracle test material: a fleet of signing devices, an anchorer factory, pipeline checks.

Readings and device signers come from ``tests.builders``."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.batch_document import open_batch_document
from oracle.devices import SignedUpload
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.ports import AnchorChain
from oracle.proofs import RecordProofs
from passport.envelope import KeyRing
from passport.store import cid_digest
from passport.store.protocol import ContentStore
from tests.builders import (
    SigningDevice,
    charging,
    diagnostics,
    fleet_battery_id,
    fleet_device_id,
    parking,
    safety,
)
from tests.oracle.oracle_doubles import FakeChain, FakeStore


@dataclass
class Fleet:
    """The numbered test devices (``SigningDevice.numbered``) and the ingestor their uploads go to."""

    journal: Journal
    ingestor: Ingestor
    devices: dict[int, SigningDevice] = field(default_factory=dict)

    @staticmethod
    def device_id(n: int) -> str:
        return fleet_device_id(n)

    @staticmethod
    def battery_id(n: int) -> str:
        return fleet_battery_id(n)

    def device(self, n: int) -> SigningDevice:
        return self.devices.setdefault(n, SigningDevice.numbered(n))

    def upload(self, n: int, readings: list[dict[str, Any]], *, seq: int | None = None) -> SignedUpload:
        return self.device(n).upload(readings, seq=seq)


def journal_keyring(journal: Journal) -> KeyRing:
    """The key ring beside the journal (as in a deployment's data directory): shared across restarts."""
    if journal.path is not None:
        return KeyRing(journal.path.parent / "keys")
    # PostgreSQL: one directory per store (each test has a fresh database, so a fresh directory).
    digest = hashlib.sha256(journal.location.encode()).hexdigest()[:16]
    return KeyRing(Path(tempfile.gettempdir()) / "passport-test-keys" / digest)


def anchorer(
    journal: Journal,
    store: ContentStore,
    chain: AnchorChain,
    clock: Callable[[], float] | None = None,
    **policy: Any,
) -> Anchorer:
    return Anchorer(
        journal,
        store,
        chain,
        AnchoringPolicy(**{"batch_size": 4, **policy}),
        keyring=journal_keyring(journal),
        **({"clock": clock} if clock else {}),
    )


def fill(fleet: Fleet, uploads: int = 3) -> list[int]:
    """Ingest a mix of kinds from three devices; return the accepted record ids."""
    ids: list[int] = []
    for round_ in range(uploads):
        for n in range(3):
            readings = [
                charging(energy_kwh=5 + round_ + n),
                safety(max_cell_temp_c=50 + round_),
                parking(self_discharge_pct=0.1 * (round_ + 1)),
                diagnostics(capacity_ah=170 + round_ + n),
            ]
            ack = fleet.ingestor.ingest(fleet.upload(n, readings))
            ids += [a.record_id for a in ack.accepted]
    return ids


def assert_fully_anchored(
    journal: Journal, store: FakeStore, chain: FakeChain, record_ids: list[int]
) -> None:
    batches = journal.batches()
    assert batches
    assert all(b.state == "confirmed" for b in batches)
    assert sum(b.record_count for b in batches) == len(record_ids) == journal.record_count()
    # No root anchored twice, every batch's root on-chain with its count and kind.
    assert len(chain.sent) == len(set(chain.sent)) == len(batches)
    for batch in batches:
        anchor = chain.get_anchor(batch.root)
        assert anchor is not None
        assert anchor.record_count == batch.record_count
        assert anchor.kind == batch.kind
        assert batch.cid is not None
        assert store.has(batch.cid)
        assert batch.cid_digest == cid_digest(batch.cid)
        assert chain.anchors[batch.root.hex()]["cid_digest"] == batch.cid_digest.hex()
        document = open_batch_document(store.get(batch.cid), journal_keyring(journal))
        assert document.root == batch.root
        assert document.kind == batch.kind
    proofs = RecordProofs(journal, store, keyring=journal_keyring(journal))
    for record_id in record_ids:
        proof = proofs.proof_for(record_id)
        assert proof.verify_offline()
        assert proof.verify_on_chain(chain)
