"""Merkle trees: OpenZeppelin StandardMerkleTree layout, MerkleProof.verify semantics, properties."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oracle.errors import DuplicateLeaf, EmptyTree, LeafNotFound
from oracle.merkle import (
    MerkleTree,
    hash_pair,
    leaf_hash,
    merkle_root,
    process_proof,
    record_digest,
    verify_proof,
)

digests = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=80, unique=True)


def oz_make_tree(leaves: list[bytes]) -> list[bytes]:
    """``@openzeppelin/merkle-tree`` ``makeMerkleTree``, transcribed independently (eth_utils keccak)."""
    tree: list[bytes] = [b""] * (2 * len(leaves) - 1)
    for i, leaf in enumerate(leaves):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - 1 - len(leaves), -1, -1):
        a, b = sorted((tree[2 * i + 1], tree[2 * i + 2]))
        tree[i] = keccak(a + b)
    return tree


def oz_verify(proof: list[bytes], root: bytes, leaf: bytes) -> bool:
    """OZ ``MerkleProof.verify`` (processProof with ``Hashes.commutativeKeccak256``)."""
    computed = leaf
    for node in proof:
        a, b = sorted((computed, node))
        computed = keccak(a + b)
    return computed == root


def test_leaf_is_keccak_of_the_record_digest() -> None:
    digest = record_digest(b'{"a":1}')
    assert digest == keccak(b'{"a":1}')
    assert leaf_hash(digest) == keccak(digest)  # keccak256(abi.encodePacked(bytes32))


def test_small_trees_by_hand() -> None:
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))
    la, lb, lc = sorted(leaf_hash(x) for x in (a, b, c))
    assert merkle_root([a]) == leaf_hash(a)
    assert MerkleTree.from_digests([a]).proof(a) == []
    assert merkle_root([a, b]) == hash_pair(leaf_hash(a), leaf_hash(b))
    # Three leaves: nodes = [root, n1, lc, lb, la]; n1 = h(lb, la)... OZ puts sorted leaf i at end - i.
    assert merkle_root([c, a, b]) == hash_pair(hash_pair(lb, la), lc)


@given(digests)
def test_matches_the_openzeppelin_layout(values: list[bytes]) -> None:
    leaves = sorted(leaf_hash(v) for v in values)
    assert MerkleTree.from_digests(values).nodes == tuple(oz_make_tree(leaves))


@given(digests)
def test_every_proof_verifies_offline_and_by_the_oz_rule(values: list[bytes]) -> None:
    tree = MerkleTree.from_digests(values)
    for value in values:
        proof = tree.proof(value)
        assert verify_proof(tree.root, value, proof)
        assert oz_verify(proof, tree.root, leaf_hash(value))
        assert len(proof) <= len(values).bit_length()


@given(digests, st.randoms(use_true_random=False))
def test_root_does_not_depend_on_record_order(values: list[bytes], rnd: object) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert merkle_root(shuffled) == merkle_root(values)


@given(digests, st.data())
def test_a_changed_record_or_proof_fails(values: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_digests(values)
    target = data.draw(st.sampled_from(values))
    proof = tree.proof(target)
    other = data.draw(st.binary(min_size=32, max_size=32))
    assume(other != target)
    assert not verify_proof(tree.root, other, proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = bytearray(proof[i])
        bad[bit // 8] ^= 1 << (bit % 8)
        tampered = [*proof[:i], bytes(bad), *proof[i + 1 :]]
        assert not verify_proof(tree.root, target, tampered)
        assert not verify_proof(tree.root, target, proof[:-1])
    assert not verify_proof(tree.root, target, [*proof, tree.root])


@given(digests)
@settings(max_examples=30)
def test_the_raw_leaf_is_not_accepted_as_a_record_digest(values: list[bytes]) -> None:
    # Double hashing: presenting the leaf (or an internal node) itself as a "record" never verifies.
    tree = MerkleTree.from_digests(values)
    for value in values[:5]:
        assert not verify_proof(tree.root, leaf_hash(value), tree.proof(value)[1:])


def test_errors() -> None:
    a = b"\x01" * 32
    with pytest.raises(EmptyTree):
        MerkleTree.from_digests([])
    with pytest.raises(DuplicateLeaf):
        MerkleTree.from_digests([a, a])
    with pytest.raises(LeafNotFound):
        MerkleTree.from_digests([a]).proof(b"\x02" * 32)
    assert not verify_proof(b"\x00" * 31, a, [])
    assert process_proof(a, []) == leaf_hash(a)
