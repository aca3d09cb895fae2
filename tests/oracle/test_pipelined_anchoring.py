"""Pipelined anchoring on a ledger double that takes several roots per transaction and mines on demand.

The same pipeline runs against real nodes in ``test_anchoring_chain.py`` and ``test_worker.py``
(``Web3ChainClient`` is a ``PipelinedAnchorChain``); here the double can hold transactions unmined, drop
them, and count calls, which a real node cannot be made to do on cue.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from oracle.anchoring import Anchorer
from oracle.journal import Journal
from oracle.ports import PipelinedAnchorChain
from passport.chain.records import LedgerEvent, TxReceipt
from passport.errors import ContractRevert
from passport.model import AnchorKind
from tests.oracle.oracle_doubles import ALREADY_ANCHORED, FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet, anchorer, assert_fully_anchored, fill

Item = tuple[bytes, bytes, int, AnchorKind]


@dataclass
class PoolChain(FakeChain):
    """``FakeChain`` plus a transaction pool: ``send_anchor_batches`` queues, ``mine_pool`` mines."""

    automine: bool = True
    pool: dict[bytes, list[Item]] = field(default_factory=dict)
    mined: dict[bytes, TxReceipt | ContractRevert] = field(default_factory=dict)
    txs_sent: int = 0
    nonce_resets: int = 0

    def send_anchor_batches(self, batches: Sequence[Item]) -> bytes:
        self._gate()
        self.txs_sent += 1
        tx_hash = hashlib.sha256(b"pool" + str(self.txs_sent).encode()).digest()
        self.pool[tx_hash] = list(batches)
        if self.automine:
            self.mine_pool()
        return tx_hash

    def mine_pool(self) -> None:
        for tx_hash, items in list(self.pool.items()):
            del self.pool[tx_hash]
            taken = [root for root, *_ in items if root.hex() in self.anchors]
            if taken or len({root for root, *_ in items}) != len(items):
                self.mined[tx_hash] = ContractRevert(ALREADY_ANCHORED, (taken[0] if taken else items[0][0],))
                continue
            events = []
            for root, cid, count, kind in items:
                receipt = self.anchor_batch(root, cid, count, kind)  # one block per root: fine here
                events.append(
                    LedgerEvent(
                        "BatchAnchored",
                        {"root": root, "cidDigest": cid, "kind": int(kind), "recordCount": count},
                        receipt.block_number,
                        receipt.block_hash,
                        tx_hash,
                        len(events),
                    )
                )
            last = len(self.blocks) - 1
            self.mined[tx_hash] = TxReceipt(tx_hash, last, bytes.fromhex(self.blocks[last]), 1, tuple(events))

    def anchor_receipt(self, tx_hash: bytes) -> TxReceipt | None:
        self._gate()
        outcome = self.mined.get(tx_hash)
        if isinstance(outcome, ContractRevert):
            raise outcome
        return outcome

    def forget_nonces(self) -> None:
        self.nonce_resets += 1


def test_the_double_is_a_pipelined_chain() -> None:
    assert isinstance(PoolChain(), PipelinedAnchorChain)
    assert not isinstance(FakeChain(), PipelinedAnchorChain)


def test_several_roots_per_transaction_and_every_record_provable(fleet: Fleet, journal: Journal) -> None:
    ids = fill(fleet, uploads=4)  # 48 records, 12 of each kind: 3 batches of 4 per kind
    chain, store = PoolChain(), FakeStore()
    worker = anchorer(journal, store, chain, roots_per_tx=5, max_in_flight=2)
    report = worker.drain()
    assert report.error is None
    assert len(journal.batches()) == 12
    assert chain.txs_sent == 3  # 5 + 5 + 2 roots
    assert_fully_anchored(journal, store, chain, ids)


def test_a_stored_batch_a_crashed_process_sent_is_adopted_not_resent(fleet: Fleet, journal: Journal) -> None:
    ids = fill(fleet, uploads=1)
    chain, store = PoolChain(), FakeStore()
    first = anchorer(journal, store, chain)
    first.seal(force=True)
    batch = first.step(journal.batches()[0])  # open -> stored
    assert batch.cid_digest is not None
    # The crashed process's transaction was mined, but it never recorded the receipt.
    chain.send_anchor_batches([(batch.root, batch.cid_digest, batch.record_count, batch.kind)])
    sent_before = chain.txs_sent
    restarted = anchorer(journal, store, chain)
    assert restarted.drain().error is None
    assert_fully_anchored(journal, store, chain, ids)
    # Only the batches it had not seen anchored were sent again (the adopted one was not).
    assert chain.txs_sent == sent_before + 1
    assert chain.sent.count(batch.root.hex()) == 1


def test_a_transaction_dropped_from_the_pool_is_looked_up_and_resent(fleet: Fleet, journal: Journal) -> None:
    ids = fill(fleet, uploads=1)
    chain, store = PoolChain(automine=False), FakeStore()
    worker: Anchorer = anchorer(journal, store, chain, receipt_wait_s=0.05, in_flight_timeout_s=0.3)
    worker.seal(force=True)
    report = worker.run_once()  # sends; nothing is mined
    assert report.error is None
    assert chain.txs_sent == 1
    assert {b.state for b in journal.batches()} == {"stored"}
    chain.pool.clear()  # the node dropped it
    time.sleep(0.35)  # past the in-flight timeout
    chain.automine = True
    assert worker.drain().error is None
    assert chain.nonce_resets == 1  # the nonce of the dropped transaction is taken back from the node
    assert chain.txs_sent == 2
    assert_fully_anchored(journal, store, chain, ids)


def test_a_late_mining_of_a_timed_out_transaction_is_adopted(fleet: Fleet, journal: Journal) -> None:
    ids = fill(fleet, uploads=1)
    chain, store = PoolChain(automine=False), FakeStore()
    worker = anchorer(journal, store, chain, receipt_wait_s=0.05, in_flight_timeout_s=0.3)
    worker.seal(force=True)
    worker.run_once()
    time.sleep(0.35)  # past the in-flight timeout
    worker.run_once()  # the transaction timed out: its roots are looked up (not anchored) and sent again
    assert chain.txs_sent == 2
    chain.mine_pool()  # both get mined: the first anchors the roots, the second reverts (all or none)
    chain.automine = True
    assert worker.drain().error is None
    assert_fully_anchored(journal, store, chain, ids)
    assert len(chain.sent) == len(set(chain.sent))  # every root anchored exactly once


@dataclass
class CountingChain(PoolChain):
    """``PoolChain`` counting ``block_hash`` calls (what the periodic re-check of anchors costs)."""

    hash_calls: int = 0

    def block_hash(self, number: int) -> bytes | None:
        self.hash_calls += 1
        return super().block_hash(number)


def test_an_unchanged_head_skips_the_recheck_a_reorg_is_caught(fleet: Fleet, journal: Journal) -> None:
    ids = fill(fleet, uploads=2)  # 24 records: 6 batches
    chain, store = CountingChain(), FakeStore()
    worker = anchorer(journal, store, chain, confirmations=0)
    assert worker.drain().error is None
    assert_fully_anchored(journal, store, chain, ids)
    worker.run_once()  # a full re-check: one hash per recent block, then the head's is remembered
    chain.hash_calls = 0
    for _ in range(3):
        assert worker.run_once().error is None
    assert chain.hash_calls == 3  # only the head's hash per run while nothing moved
    chain.reorg(2)  # same height, new hashes: the last two anchors vanish
    assert worker.drain().error is None
    assert all(b.state == "confirmed" for b in journal.batches())
    # Noticed (the double records every root of a transaction in its last block, so the replaced
    # blocks touch more batches than the two roots they held), and every root is anchored again.
    assert sum(b.reorgs for b in journal.batches()) >= 2
    assert all(chain.get_anchor(b.root) is not None for b in journal.batches())
