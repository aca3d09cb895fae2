"""Anchored batch roots and on-chain record verification, on every backend."""

from __future__ import annotations

from passport.chain import Role
from passport.chain.web3_client import role_id
from passport.model import AnchorKind
from tests.chain_backends import Actor, ChainBackend, digest, merkle_root_and_proofs, only_event, reverts

MAX_ANCHOR_GAS = 50_000


def test_anchor_batch_records_one_packed_anchor(ledger: ChainBackend, oracle: Actor) -> None:
    root, cid = digest("root"), digest("cid")
    receipt = oracle.client.anchor_batch(root, cid, 1000, AnchorKind.SAFETY)
    assert only_event(receipt, "BatchAnchored") == {
        "root": root,
        "cidDigest": cid,
        "kind": int(AnchorKind.SAFETY),
        "recordCount": 1000,
    }
    anchor = oracle.client.get_anchor(root)
    assert anchor is not None
    assert (anchor.root, anchor.record_count, anchor.kind, anchor.block_number) == (
        root,
        1000,
        AnchorKind.SAFETY,
        receipt.block_number,
    )
    assert anchor.anchored_at == ledger.w3.eth.get_block(receipt.block_number)["timestamp"]
    assert oracle.client.get_anchor(digest("other")) is None


def test_anchor_costs_at_most_50k_gas(oracle: Actor) -> None:
    receipt = oracle.client.anchor_batch(digest("gas-root"), digest("gas-cid"), 1000, AnchorKind.CHARGING)
    assert receipt.gas_used <= MAX_ANCHOR_GAS
    assert receipt.gas_used / 1000 <= 50


def test_a_root_is_anchored_only_once(oracle: Actor) -> None:
    oracle.client.anchor_batch(digest("r"), digest("c"), 3, AnchorKind.PARKING)
    with reverts("DataAnchorsRootAlreadyAnchored", digest("r")):
        oracle.client.anchor_batch(digest("r"), digest("c2"), 5, AnchorKind.DIAGNOSTICS)


def test_anchor_rejects_empty_and_zero_values(oracle: Actor) -> None:
    zero = b"\x00" * 32
    with reverts("DataAnchorsInvalidRoot", zero, digest("c")):
        oracle.client.anchor_batch(zero, digest("c"), 1, AnchorKind.CHARGING)
    with reverts("DataAnchorsInvalidRoot", digest("r"), zero):
        oracle.client.anchor_batch(digest("r"), zero, 1, AnchorKind.CHARGING)
    with reverts("DataAnchorsEmptyBatch", digest("r")):
        oracle.client.anchor_batch(digest("r"), digest("c"), 0, AnchorKind.CHARGING)


def test_only_oracles_anchor(stranger: Actor) -> None:
    with reverts("AccessControlUnauthorizedAccount", stranger.address, role_id(Role.ORACLE)):
        stranger.client.anchor_batch(digest("r"), digest("c"), 1, AnchorKind.CHARGING)


def test_verify_record_against_anchored_root(oracle: Actor, stranger: Actor) -> None:
    records = [digest(f"record-{i}") for i in range(7)]
    root, proofs = merkle_root_and_proofs(records)
    # Not anchored yet: a valid proof still does not verify.
    assert not stranger.client.verify_record(root, records[0], proofs[0])
    oracle.client.anchor_batch(root, digest("doc"), len(records), AnchorKind.DIAGNOSTICS)
    for record, proof in zip(records, proofs, strict=True):
        assert stranger.client.verify_record(root, record, proof)
    assert not stranger.client.verify_record(root, digest("forged"), proofs[0])
    assert not stranger.client.verify_record(root, records[1], proofs[0])
    # The leaf is keccak256(recordDigest), never the digest itself (no second-preimage via inner nodes).
    assert not stranger.client.verify_record(root, records[0], [])


def test_single_record_batch(oracle: Actor) -> None:
    record = digest("only")
    root, proofs = merkle_root_and_proofs([record])
    oracle.client.anchor_batch(root, digest("doc1"), 1, AnchorKind.CHARGING)
    assert proofs == [[]]
    assert oracle.client.verify_record(root, record, [])
