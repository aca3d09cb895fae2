"""The anchoring pipeline on the real registry (eth-tester, ganache, anvil via ``tests/conftest.py``).

What the doubles stand in for elsewhere is checked here against the deployed contract: the registry's
``verifyRecord`` accepts every proof the oracle produces (OpenZeppelin ``MerkleProof``), resending a
root reverts with ``DataAnchorsRootAlreadyAnchored`` and counts as done, and a worker SIGKILLed at any
call to the node or the store is finished by a restart with nothing lost and nothing anchored twice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.batch_document import open_batch_document
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.merkle import MerkleTree
from oracle.proofs import RecordProofs
from passport.chain.web3_client import Web3ChainClient
from passport.store import EmbeddedStore, cid_digest
from tests.builders import charging, diagnostics, parking, safety
from tests.chain_backends import Actor, ChainBackend, reverts
from tests.oracle.oracle_samples import Fleet, journal_keyring

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _fill(journal: Journal, uploads: int = 2) -> list[int]:
    fleet = Fleet(journal, Ingestor(journal))
    ids: list[int] = []
    for n in range(2):
        fleet.device(n).register(journal)
    for round_ in range(uploads):
        for n in range(2):
            readings = [
                charging(energy_kwh=3 + round_ + n),
                charging(energy_kwh=4 + round_ + n),
                safety(max_cell_temp_c=45 + round_ + n),
                parking(self_discharge_pct=0.2 + round_ + n),
                diagnostics(capacity_ah=175 + round_ + n),
            ]
            ids += [a.record_id for a in fleet.ingestor.ingest(fleet.upload(n, readings)).accepted]
    return ids


def _check_ledger(journal: Journal, store: EmbeddedStore, chain: Web3ChainClient, ids: list[int]) -> None:
    batches = journal.batches()
    assert {b.state for b in batches} == {"confirmed"}
    assert sum(b.record_count for b in batches) == len(ids) == journal.record_count()
    for batch in batches:
        anchor = chain.get_anchor(batch.root)
        assert anchor is not None
        assert (anchor.record_count, anchor.kind, anchor.block_number) == (
            batch.record_count,
            batch.kind,
            batch.block_number,
        )
        assert batch.cid is not None
        assert batch.cid_digest == cid_digest(batch.cid)
        assert open_batch_document(store.get(batch.cid), journal_keyring(journal)).root == batch.root
        assert batch.block_hash == chain.block_hash(batch.block_number or 0)
    proofs = RecordProofs(journal, store, keyring=journal_keyring(journal))
    for record_id in ids:
        proof = proofs.proof_for(record_id)
        assert proof.verify_offline()
        assert chain.verify_record(proof.root, proof.record_digest, proof.proof)  # the contract's view


def test_pipeline_on_the_registry(ledger: ChainBackend, oracle: Actor, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store", durable=False)
    with Journal(tmp_path / "journal.db") as journal:
        ids = _fill(journal)
        chain = oracle.client
        report = Anchorer(
            journal, store, chain, AnchoringPolicy(batch_size=3), keyring=journal_keyring(journal)
        ).drain()
        assert report.error is None
        _check_ledger(journal, store, chain, ids)
        # Every batch's transaction hash was recorded and emitted the anchoring event for its root.
        for batch in journal.batches():
            assert batch.tx_hash is not None
            events = chain.events(batch.block_number or 0, batch.block_number or 0, ["BatchAnchored"])
            assert [e.tx_hash for e in events if e.args["root"] == batch.root] == [batch.tx_hash]


def test_registry_rejects_a_wrong_proof(ledger: ChainBackend, oracle: Actor, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store", durable=False)
    with Journal(tmp_path / "journal.db") as journal:
        ids = _fill(journal, uploads=1)
        chain = oracle.client
        worker = Anchorer(
            journal, store, chain, AnchoringPolicy(batch_size=100), keyring=journal_keyring(journal)
        )
        worker.drain()
        proofs = RecordProofs(journal, store, keyring=journal_keyring(journal))
        proof = proofs.proof_for(ids[0])
        other = proofs.proof_for(ids[1])
        assert not chain.verify_record(proof.root, other.record_digest, proof.proof)
        if proof.proof:
            flipped = bytes([proof.proof[0][0] ^ 1]) + proof.proof[0][1:]
            assert not chain.verify_record(proof.root, proof.record_digest, [flipped, *proof.proof[1:]])
        # The raw leaf is not a record digest (double hashing), and an unanchored root proves nothing.
        tree = MerkleTree.from_digests([proof.record_digest])
        assert not chain.verify_record(tree.root, proof.record_digest, [])


def test_resend_reverts_already_anchored_and_is_adopted(
    ledger: ChainBackend, oracle: Actor, tmp_path: Path
) -> None:
    store = EmbeddedStore(tmp_path / "store", durable=False)
    with Journal(tmp_path / "journal.db") as journal:
        ids = _fill(journal, uploads=1)
        chain = oracle.client
        worker = Anchorer(
            journal, store, chain, AnchoringPolicy(batch_size=100), keyring=journal_keyring(journal)
        )
        worker.seal(force=True)
        batch = worker.step(journal.batches()[0])  # open -> stored
        assert batch.cid_digest is not None
        # A previous worker's transaction, mined after it died (before it could record the receipt).
        receipt = chain.anchor_batch(batch.root, batch.cid_digest, batch.record_count, batch.kind)
        with reverts("DataAnchorsRootAlreadyAnchored", batch.root):
            chain.anchor_batch(batch.root, batch.cid_digest, batch.record_count, batch.kind)
        sent = worker.step(batch)
        assert sent.state == "sent"
        assert (sent.tx_hash, sent.block_number, sent.block_hash) == (
            receipt.tx_hash,
            receipt.block_number,
            receipt.block_hash,
        )
        worker.drain()
        _check_ledger(journal, store, chain, ids)


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "oracle_worker.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


# A killed worker process must reach the chain over RPC, so this runs on the node backends only.
@pytest.mark.slow
@pytest.mark.node
@pytest.mark.parametrize("chain_backend", ["ganache", "anvil"], indirect=True)
def test_sigkill_at_every_step_on_a_real_node(ledger: ChainBackend, oracle: Actor, tmp_path: Path) -> None:
    assert ledger.url is not None
    template = tmp_path / "template.db"
    with Journal(template) as journal:
        fleet = Fleet(journal, Ingestor(journal))
        fleet.device(0).register(journal)
        readings = [charging(energy_kwh=2 + i) for i in range(4)]
        ids = [a.record_id for a in fleet.ingestor.ingest(fleet.upload(0, readings)).accepted]

    def scenario(name: str, kill_at: int, when: str) -> int:
        directory = tmp_path / name
        directory.mkdir()
        journal_path, store_dir = directory / "journal.db", directory / "store"
        shutil.copy(template, journal_path)
        args = [str(journal_path), str(store_dir), str(ledger.url), ledger.registry_address]
        proc = _worker("anchor-rpc", *args, oracle.key.hex(), str(kill_at), when)
        out, err = proc.communicate(timeout=300)
        if not kill_at:
            assert proc.returncode == 0, err
            return int(out.split()[1])
        if proc.returncode == 0 and int(out.split()[1]) < kill_at:
            # This run needed fewer calls than the probe (how often a receipt or the head is polled
            # follows the node's timing): there is no call ``kill_at`` to die at. The ledger must
            # still be whole, which the restart below checks.
            pass
        else:
            assert proc.returncode == -signal.SIGKILL, (out, err)
        oracle.client.forget_nonces()  # the killed worker may have sent with this account
        store = EmbeddedStore(store_dir)
        with Journal(journal_path) as journal:  # the restarted worker
            chain = oracle.client
            assert (
                Anchorer(
                    journal, store, chain, AnchoringPolicy(batch_size=4), keyring=journal_keyring(journal)
                )
                .drain()
                .error
                is None
            )
            _check_ledger(journal, store, chain, ids)
            # Exactly one anchoring transaction for the one batch, whatever the crash point.
            events = chain.events(ledger.deploy_block, chain.block_number(), ["BatchAnchored"])
            assert len(events) == 1
        return 0

    with ledger.isolated():
        calls = scenario("probe", 0, "-")
    # Pipelined (anchorBatches, receipt as read-back, confirmation by block hash): store put, send,
    # receipt, head + block hash to confirm, head + block hash to re-check. Every one is a kill point.
    assert calls >= 7
    for at in range(1, calls + 1):
        for when in ("before", "after"):
            with ledger.isolated():
                scenario(f"kill-{at}-{when}", at, when)
