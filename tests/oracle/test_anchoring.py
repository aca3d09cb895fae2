"""The anchoring pipeline against the ledger/store doubles: happy path, restarts, outages, reorgs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from oracle.anchoring import AnchoringPolicy
from oracle.batch_document import open_batch_document, unseal_batch_document
from oracle.errors import AnchorMismatch, NotAnchored, SealedDocumentError
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs, history_from_documents
from passport.model import AnchorKind
from passport.settings import Settings
from passport.store import EmbeddedStore, cid_digest
from tests.builders import charging
from tests.oracle.oracle_doubles import FakeChain, FakeStore, raw_cid
from tests.oracle.oracle_samples import Fleet, anchorer, assert_fully_anchored, fill, journal_keyring


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def test_drain_anchors_every_record(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    ids = fill(fleet)
    report = anchorer(fleet.journal, store, chain).drain()
    assert report.error is None
    kinds = {b.kind for b in fleet.journal.batches()}
    assert kinds == set(AnchorKind) - {AnchorKind.ENERGY}  # ``fill`` sends no storage meter readings
    assert_fully_anchored(fleet.journal, store, chain, ids)
    record = fleet.journal.record(ids[0])
    assert record.state == "confirmed"


def test_batch_document_contents(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    fill(fleet, uploads=1)
    anchorer(fleet.journal, store, chain, batch_size=100).drain()
    batch = next(b for b in fleet.journal.batches() if b.kind is AnchorKind.CHARGING)
    assert batch.cid is not None
    value = json.loads(unseal_batch_document(store.get(batch.cid), journal_keyring(fleet.journal)))
    assert value["type"] == "battery-passport-ledger/anchor-batch/v1"
    assert value["kind"] == "charging"
    assert value["record_count"] == 3
    assert value["batteries"] == ["KR-BUSAN-BAT-00000", "KR-BUSAN-BAT-00001", "KR-BUSAN-BAT-00002"]
    assert value["uploads"] == [{"device_id": f"dev-00{n}", "seq": 1} for n in range(3)]
    assert value["merkle"]["root"] == "0x" + batch.root.hex()
    assert value["created_at"].endswith("Z")
    records = fleet.journal.batch_records(batch.id)
    assert [r["digest"] for r in value["records"]] == ["0x" + r.digest.hex() for r in records]


def test_batches_seal_by_size_then_by_age(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    clock = Clock()
    fleet.journal._clock = clock
    for energy in range(1, 8):
        fleet.ingestor.ingest(fleet.upload(0, [charging(energy_kwh=energy)]))
    worker = anchorer(fleet.journal, store, chain, clock, batch_size=3, max_batch_age_s=60)
    assert [b.record_count for b in worker.seal()] == [3, 3]
    assert worker.seal() == []  # one record left, too young
    clock.now += 61
    assert [b.record_count for b in worker.seal()] == [1]


class Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing in the pipeline may catch it)."""


class Crashing:
    """Wraps the store and chain; dies right before or after the ``at``-th call to either."""

    def __init__(self, inner: Any, counter: list[int], at: int, after: bool, log: list[str]) -> None:
        self._inner, self._counter, self._at, self._after, self._log = inner, counter, at, after, log

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter[0] += 1
            self._log.append(name)
            if self._counter[0] == self._at and not self._after:
                raise Crash(f"before {name}")
            result = target(*args, **kwargs)
            if self._counter[0] == self._at and self._after:
                raise Crash(f"after {name}")
            return result

        return call


@pytest.mark.slow  # a full pipeline run per crash point (~60 runs): ~20 s
def test_restart_after_a_crash_at_every_call(tmp_path: Path) -> None:
    # Count the external calls a clean run makes, then crash at each one, before and after it.
    def scenario(path: Path) -> tuple[Journal, list[int]]:
        journal = Journal(path)
        fleet = Fleet(journal, Ingestor(journal))
        for n in range(3):
            fleet.device(n).register(journal)
        return journal, fill(fleet, uploads=1)

    log: list[str] = []
    journal, _ = scenario(tmp_path / "probe.db")
    chain, store = FakeChain(), FakeStore()
    anchorer(journal, Crashing(store, [0], -1, False, log), Crashing(chain, [0], -1, False, log)).drain()
    calls = len(log)
    assert calls >= 8
    journal.close()

    for at in range(1, calls + 1):
        for after in (False, True):
            journal, ids = scenario(tmp_path / f"crash-{at}-{after}.db")
            chain, store = FakeChain(), FakeStore()
            counter: list[int] = [0]
            with pytest.raises(Crash):
                anchorer(
                    journal, Crashing(store, counter, at, after, []), Crashing(chain, counter, at, after, [])
                ).drain()
            journal.close()
            with Journal(journal.path) as reopened:  # the restarted worker
                assert anchorer(reopened, store, chain).drain().error is None
                assert_fully_anchored(reopened, store, chain, ids)


def test_resend_that_reverts_already_anchored_counts_as_done(fleet: Fleet, store: FakeStore) -> None:
    ids = fill(fleet, uploads=1)

    class StaleChain(FakeChain):
        """A load-balanced RPC whose first read of a root comes from a node that lags behind."""

        def __post_init__(self) -> None:
            super().__post_init__()
            self.lied: set[str] = set()

        def get_anchor(self, root: bytes) -> Any:
            if root.hex() not in self.lied:
                self.lied.add(root.hex())
                return None
            return super().get_anchor(root)

    chain = StaleChain()
    worker = anchorer(fleet.journal, store, chain, batch_size=100)
    worker.seal(force=True)
    for batch in fleet.journal.batches():
        stored = worker.step(batch)
        assert stored.state == "stored"
        assert stored.cid_digest is not None
        # Pretend an earlier worker already got the transaction mined.
        chain.anchor_batch(batch.root, stored.cid_digest, batch.record_count, batch.kind)
        assert worker.step(stored).state == "sent"  # get_anchor lied, anchor_batch reverted: adopted
    worker.drain()
    assert all(b.state == "confirmed" for b in fleet.journal.batches())
    assert fleet.journal.batches()[0].tx_hash is not None  # recovered from the anchoring event
    assert (
        RecordProofs(fleet.journal, store, keyring=journal_keyring(fleet.journal))
        .proof_for(ids[0])
        .verify_offline()
    )


def test_outage_keeps_ingesting_and_backs_off_then_drains(fleet: Fleet, store: FakeStore) -> None:
    clock = Clock()
    chain = FakeChain(down=True)
    worker = anchorer(fleet.journal, store, chain, clock, retry_initial_s=1, retry_factor=2, retry_max_s=5)
    ids = fill(fleet, uploads=1)
    worker.seal(force=True)
    delays = []
    for _ in range(5):
        report = worker.run_once()
        assert report.error is not None
        assert "ChainUnavailable" in report.error
        delays.append(report.retry_in)
        assert worker.run_once().error is None  # inside the backoff window: no attempt at all
        clock.now += report.retry_in or 0
    assert delays == [1, 2, 4, 5, 5]
    failing = fleet.journal.batches(("stored",))
    assert failing
    assert failing[0].attempts == 5
    assert "ChainUnavailable" in (failing[0].last_error or "")
    # Ingestion is unaffected while the ledger is down.
    ids += fill(fleet, uploads=1)
    chain.down = False
    assert worker.drain().error is None
    assert_fully_anchored(fleet.journal, store, chain, ids)
    assert all(b.attempts == 0 and b.last_error is None for b in fleet.journal.batches())


def test_store_outage(fleet: Fleet, chain: FakeChain) -> None:
    store = FakeStore(down=True)
    clock = Clock()
    worker = anchorer(fleet.journal, store, chain, clock)
    ids = fill(fleet, uploads=1)
    report = worker.drain()
    assert report.error is not None
    assert "StoreUnavailable" in report.error
    assert chain.sent == []
    store.down = False
    clock.now += 3600
    assert worker.drain().error is None
    assert_fully_anchored(fleet.journal, store, chain, ids)


def test_intermittent_chain_failures(fleet: Fleet, store: FakeStore) -> None:
    clock = Clock()
    chain = FakeChain()
    worker = anchorer(fleet.journal, store, chain, clock)
    ids = fill(fleet, uploads=2)
    for _ in range(200):
        chain.fail_next = 1
        worker.run_once()
        clock.now += 400
        if all(b.state == "confirmed" for b in fleet.journal.batches()) and not fleet.journal.pending():
            break
    worker.drain()
    assert_fully_anchored(fleet.journal, store, chain, ids)


def test_confirmation_depth(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain, batch_size=100, confirmations=3)
    worker.drain()
    # Four batches anchored in blocks 1-4: only the first is 3 blocks deep yet.
    assert [(b.block_number, b.state) for b in fleet.journal.batches()] == [
        (1, "confirmed"),
        (2, "anchored"),
        (3, "anchored"),
        (4, "anchored"),
    ]
    last = fleet.journal.batch_records(4)[0].id
    proofs = RecordProofs(fleet.journal, store, keyring=journal_keyring(fleet.journal))
    proof = proofs.proof_for(last)
    assert proof.verify_offline()
    assert not proof.confirmed
    chain.mine(2)
    worker.run_once()
    assert fleet.journal.batch(3).state == "confirmed"
    assert fleet.journal.batch(4).state == "anchored"
    chain.mine(1)
    worker.run_once()
    assert {b.state for b in fleet.journal.batches()} == {"confirmed"}
    assert proofs.proof_for(last).confirmed


def test_reorg_that_drops_an_anchor_is_reanchored(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    ids = fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain, batch_size=100)
    worker.drain()
    before = {b.id: b for b in fleet.journal.batches()}
    chain.reorg(2)  # the last two anchors vanish with their blocks
    report = worker.run_once()
    assert report.dropped == 2
    after = fleet.journal.batches()
    assert all(b.state == "confirmed" for b in after)
    reanchored = [b for b in after if b.reorgs]
    assert len(reanchored) == 2
    for b in reanchored:
        assert b.block_hash != before[b.id].block_hash
        assert chain.sent.count(b.root.hex()) == 2  # sent again only because the first was dropped
    proofs = RecordProofs(fleet.journal, store, keyring=journal_keyring(fleet.journal))
    for record_id in ids:
        assert proofs.proof_for(record_id).verify_on_chain(chain)


def test_reorg_that_moves_an_anchor_is_adopted_not_resent(
    fleet: Fleet, store: FakeStore, chain: FakeChain
) -> None:
    fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain, batch_size=100)
    worker.drain()
    last = fleet.journal.batches()[-1]
    chain.reorg(1, drop=False)  # the tx is re-included one block later
    worker.run_once()
    moved = fleet.journal.batch(last.id)
    assert moved.state == "confirmed"
    assert moved.reorgs == 1
    assert moved.block_number == (last.block_number or 0) + 1
    assert chain.sent.count(last.root.hex()) == 1


def test_anchor_mismatch_is_raised(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain, batch_size=100)
    worker.seal(force=True)
    batch = worker.step(fleet.journal.batches()[0])
    chain.anchor_batch(batch.root, b"\x00" * 32, batch.record_count + 1, batch.kind)
    with pytest.raises(AnchorMismatch):
        worker.step(batch)


def test_proof_before_anchoring(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    ids = fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain)
    proofs = RecordProofs(fleet.journal, store, keyring=journal_keyring(fleet.journal))
    with pytest.raises(NotAnchored, match="pending"):
        proofs.proof_for(ids[0])
    worker.seal(force=True)
    with pytest.raises(NotAnchored, match="open"):
        proofs.proof_for(ids[0])


def test_battery_history_from_the_store(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    fill(fleet, uploads=3)
    worker = anchorer(fleet.journal, store, chain)
    worker.drain()
    history = RecordProofs(fleet.journal, store, keyring=journal_keyring(fleet.journal)).battery_history(
        "KR-BUSAN-BAT-00001", chain=chain
    )
    assert len(history) == 12
    assert {h.record.battery_id for h in history} == {"KR-BUSAN-BAT-00001"}
    times = [h.record.reading.observed_at for h in history]
    assert times == sorted(times)
    journal_digests = {r.digest for r in fleet.journal.records_of_battery("KR-BUSAN-BAT-00001")}
    assert {h.record.digest for h in history} == journal_digests
    for item in history:
        assert chain.verify_record(item.root, item.record.digest, list(item.proof))
    # The same history from the documents alone (an auditor with the CIDs and no journal).
    documents = [(b.cid, store.get(b.cid)) for b in fleet.journal.batches() if b.cid]
    assert [
        h.record.digest
        for h in history_from_documents(documents, "KR-BUSAN-BAT-00001", journal_keyring(fleet.journal))
    ] == [h.record.digest for h in history]


def test_tampered_document_is_detected(fleet: Fleet, store: FakeStore, chain: FakeChain) -> None:
    fill(fleet, uploads=1)
    anchorer(fleet.journal, store, chain, batch_size=100).drain()
    batch = fleet.journal.batches()[0]
    assert batch.cid is not None
    data = store.get(batch.cid)
    # One base64 character of the ciphertext changed: GCM refuses it.
    at = data.index(b'"ciphertext":"') + len(b'"ciphertext":"') + 10
    tampered = data[:at] + (b"A" if data[at : at + 1] != b"A" else b"B") + data[at + 1 :]
    with pytest.raises(SealedDocumentError, match="does not authenticate"):
        open_batch_document(tampered, journal_keyring(fleet.journal))


def test_fake_store_cids_match_the_real_stores(tmp_path: Path) -> None:
    data = b"batch document"
    assert raw_cid(data) == EmbeddedStore(tmp_path, durable=False).put(data)
    assert cid_digest(raw_cid(data)) == hashlib.sha256(data).digest()


def test_policy_takes_confirmations_from_settings() -> None:
    settings = Settings(confirmations=6)
    assert AnchoringPolicy.from_settings(settings).confirmations == 6
    assert AnchoringPolicy.from_settings(settings, batch_size=10).batch_size == 10


def test_run_once_does_not_reread_the_confirmed_history(
    fleet: Fleet, store: FakeStore, chain: FakeChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker calls run_once every few seconds for the life of the journal: what one call reads must
    # not grow with the number of confirmed batches (it did: every call reloaded them all, documents
    # included, which made a year-long run quadratic). Counted in journal rows, not time.
    worker = anchorer(fleet.journal, store, chain, batch_size=4, recheck_blocks=3)
    reads: list[tuple[str, int]] = []
    query = fleet.journal._query

    def counting(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        rows = query(sql, params)
        reads.append((sql, len(rows)))
        return rows

    monkeypatch.setattr(fleet.journal, "_query", counting)
    rows_per_run: list[int] = []
    for _ in range(3):
        fill(fleet, uploads=2)  # eight more batches (two per kind)
        assert worker.drain().error is None
        chain.mine(10)  # every anchor is now deeper than recheck_blocks
        reads.clear()
        for _ in range(5):
            assert worker.run_once().idle
        assert not any("document" in sql for sql, _ in reads)
        rows_per_run.append(sum(n for _, n in reads))
    assert len(fleet.journal.batches(("confirmed",))) == 24
    assert rows_per_run[0] == rows_per_run[1] == rows_per_run[2]


def test_recent_confirmed_batches_are_still_rechecked(
    fleet: Fleet, store: FakeStore, chain: FakeChain
) -> None:
    fill(fleet, uploads=1)
    worker = anchorer(fleet.journal, store, chain, batch_size=4, recheck_blocks=2)
    worker.drain()
    blocks = [b.block_number for b in fleet.journal.batches()]
    head = chain.block_number()
    assert blocks == list(range(1, head + 1))
    window = fleet.journal.batch_heads(("confirmed",), min_block=head - 2)
    assert [b.block_number for b in window] == [head - 2, head - 1, head]
    assert fleet.journal.batch_heads(("open", "stored", "sent", "anchored")) == []
    chain.reorg(1)  # the newest anchor vanishes: still inside the window, so it is re-anchored
    assert worker.run_once().dropped == 1
    assert {b.state for b in fleet.journal.batches()} == {"confirmed"}
