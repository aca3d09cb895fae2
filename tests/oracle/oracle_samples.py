"""Shared test material: device keys, reading factories, a fleet helper, pipeline checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.batch_document import open_batch_document
from oracle.devices import DeviceKey, SignedUpload, sign_upload
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.ports import AnchorChain
from oracle.proofs import RecordProofs
from passport.envelope import KeyRing
from passport.store import cid_digest
from passport.store.protocol import ContentStore
from tests.oracle.oracle_doubles import FakeChain, FakeStore

# One fixed key per test device keeps signatures (and so upload digests) reproducible.
DEVICE_KEYS = [DeviceKey.from_private_key(bytes([n + 1]) * 32) for n in range(8)]


def charging(**overrides: Any) -> dict[str, Any]:
    reading: dict[str, Any] = {
        "kind": "charging",
        "started_at": "2025-03-01T08:00:00+09:00",
        "ended_at": "2025-03-01T09:00:00+09:00",
        "energy_kwh": 12.5,
        "soc_start_pct": 20.5,
        "soc_end_pct": 80,
        "avg_power_kw": 11.2,
        "max_power_kw": 22,
        "max_cell_temp_c": 35.5,
        "mode": "slow",
    }
    reading.update(overrides)
    return reading


def safety(**overrides: Any) -> dict[str, Any]:
    reading: dict[str, Any] = {
        "kind": "safety",
        "occurred_at": "2025-03-02T10:15:00Z",
        "event": "over_temperature",
        "severity": "warning",
        "max_cell_temp_c": 58.0,
        "min_cell_temp_c": 31.0,
    }
    reading.update(overrides)
    return reading


def parking(**overrides: Any) -> dict[str, Any]:
    reading: dict[str, Any] = {
        "kind": "parking",
        "started_at": "2025-03-03T19:00:00+09:00",
        "ended_at": "2025-03-04T07:30:00+09:00",
        "temp_min_c": -2.5,
        "temp_max_c": 8.0,
        "self_discharge_pct": 0.4,
    }
    reading.update(overrides)
    return reading


def diagnostics(**overrides: Any) -> dict[str, Any]:
    reading: dict[str, Any] = {
        "kind": "diagnostics",
        "measured_at": "2025-03-05T00:00:00Z",
        "capacity_ah": 180.0,
        "soce_pct": 93.5,
        "internal_resistance_mohm": 95.0,
        "cell_voltage_spread_mv": 18,
        "cycle_count": 640,
        "energy_throughput_kwh": 41_000,
        "capacity_throughput_ah": 115_000,
        "cell_soh_spread_pct": 1.8,
    }
    reading.update(overrides)
    return reading


@dataclass
class Fleet:
    """Registered devices and a helper to sign their uploads with increasing sequence numbers."""

    journal: Journal
    ingestor: Ingestor
    seqs: dict[int, int]

    @staticmethod
    def device_id(n: int) -> str:
        return f"dev-{n:03d}"

    @staticmethod
    def battery_id(n: int) -> str:
        return f"KR-BUSAN-BAT-{n:05d}"

    def upload(self, n: int, readings: list[dict[str, Any]], *, seq: int | None = None) -> SignedUpload:
        if seq is None:
            seq = self.seqs.get(n, 0) + 1
        self.seqs[n] = max(seq, self.seqs.get(n, 0))
        return sign_upload(DEVICE_KEYS[n], self.device_id(n), self.battery_id(n), seq, readings)


def journal_keyring(journal: Journal) -> KeyRing:
    """The key ring beside the journal (as in a deployment's data directory): shared across restarts."""
    return KeyRing(journal.path.parent / "keys")


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
