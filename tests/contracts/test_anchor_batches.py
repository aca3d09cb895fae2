"""``anchorBatches``: several roots in one transaction, each checked and evented as ``anchorBatch`` does.

On every backend (the ``oracle``/``stranger`` fixtures are parametrised over ``tests.chain_backends``).
"""

from __future__ import annotations

from passport.chain import Role
from passport.chain.web3_client import ANCHOR_ROOT_GAS, ANCHOR_TX_GAS, role_id
from passport.model import AnchorKind
from tests.chain_backends import Actor, digest, reverts

KINDS = (AnchorKind.CHARGING, AnchorKind.SAFETY, AnchorKind.PARKING, AnchorKind.DIAGNOSTICS)


def _batches(label: str, count: int) -> list[tuple[bytes, bytes, int, AnchorKind]]:
    return [
        (digest(f"{label}-root-{i}"), digest(f"{label}-cid-{i}"), 1000 + i, KINDS[i % 4])
        for i in range(count)
    ]


def test_anchor_batches_anchors_each_root_with_its_own_event(oracle: Actor) -> None:
    batches = _batches("many", 4)
    receipt = oracle.client.anchor_batches(batches)
    events = [e.args for e in receipt.events if e.name == "BatchAnchored"]
    assert events == [
        {"root": root, "cidDigest": cid, "kind": int(kind), "recordCount": count}
        for root, cid, count, kind in batches
    ]
    for root, _, count, kind in batches:
        anchor = oracle.client.get_anchor(root)
        assert anchor is not None
        assert (anchor.record_count, anchor.kind, anchor.block_number) == (count, kind, receipt.block_number)


def test_anchor_batches_shares_the_transaction_cost(oracle: Actor) -> None:
    one = oracle.client.anchor_batch(
        digest("gas-single"), digest("gas-single-cid"), 1000, AnchorKind.CHARGING
    )
    eight = oracle.client.anchor_batches(_batches("gas", 8))
    assert eight.gas_used < 8 * one.gas_used
    # Full batches of 1000 records then cost well under the 50 gas/record target.
    assert eight.gas_used / (8 * 1000) < 35
    # The fixed limit the pipelined sender uses covers the real cost.
    assert eight.gas_used <= ANCHOR_TX_GAS + 8 * ANCHOR_ROOT_GAS


def test_anchor_batches_is_all_or_none(oracle: Actor) -> None:
    taken = digest("taken-root")
    oracle.client.anchor_batch(taken, digest("taken-cid"), 3, AnchorKind.PARKING)
    fresh = _batches("after-taken", 2)
    with reverts("DataAnchorsRootAlreadyAnchored", taken):
        oracle.client.anchor_batches([fresh[0], (taken, digest("c"), 5, AnchorKind.SAFETY), fresh[1]])
    assert oracle.client.get_anchor(fresh[0][0]) is None
    assert oracle.client.get_anchor(fresh[1][0]) is None
    # The same root twice in one call is refused too.
    twice = _batches("twice", 1)[0]
    with reverts("DataAnchorsRootAlreadyAnchored", twice[0]):
        oracle.client.anchor_batches([twice, twice])
    assert oracle.client.get_anchor(twice[0]) is None


def test_anchor_batches_checks_every_entry(oracle: Actor) -> None:
    zero = b"\x00" * 32
    good = _batches("checked", 1)[0]
    with reverts("DataAnchorsInvalidRoot", zero, digest("c")):
        oracle.client.anchor_batches([good, (zero, digest("c"), 1, AnchorKind.CHARGING)])
    with reverts("DataAnchorsInvalidRoot", digest("r"), zero):
        oracle.client.anchor_batches([(digest("r"), zero, 1, AnchorKind.CHARGING)])
    with reverts("DataAnchorsEmptyBatch", digest("r")):
        oracle.client.anchor_batches([good, (digest("r"), digest("c"), 0, AnchorKind.CHARGING)])
    with reverts("DataAnchorsNoBatches"):
        oracle.client.anchor_batches([])
    assert oracle.client.get_anchor(good[0]) is None


def test_only_oracles_anchor_batches(stranger: Actor) -> None:
    with reverts("AccessControlUnauthorizedAccount", stranger.address, role_id(Role.ORACLE)):
        stranger.client.anchor_batches(_batches("stranger", 2))


def test_send_then_collect_the_receipt(oracle: Actor) -> None:
    batches = _batches("in-flight", 3)
    first = oracle.client.send_anchor_batches(batches[:2])
    second = oracle.client.send_anchor_batches(batches[2:])
    receipts = [oracle.client.anchor_receipt(tx) for tx in (first, second)]
    assert all(r is not None for r in receipts)
    names = [[e.args["root"] for e in r.events if e.name == "BatchAnchored"] for r in receipts if r]
    assert names == [[b[0] for b in batches[:2]], [batches[2][0]]]
    # A reverting transaction sent without a pre-flight surfaces its custom error with the receipt.
    again = oracle.client.send_anchor_batches(batches[:1])
    with reverts("DataAnchorsRootAlreadyAnchored", batches[0][0]):
        oracle.client.anchor_receipt(again)
