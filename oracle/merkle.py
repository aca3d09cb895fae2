"""Merkle trees over record digests, laid out exactly like OpenZeppelin's ``StandardMerkleTree``.

The rules, all of which OpenZeppelin ``MerkleProof.verify(proof, root, leaf)`` (and so the registry's
``verifyRecord(root, recordDigest, proof)``) accepts:

* ``recordDigest = keccak256(canonical record bytes)``;
* ``leaf = keccak256(abi.encodePacked(bytes32 recordDigest))`` — hashing twice means a leaf can never be
  confused with an internal node (whose preimage is 64 bytes), the same defence as OZ's double-hashed
  ``StandardMerkleTree`` leaves;
* ``node = keccak256(sorted(a, b))`` — OZ ``Hashes.commutativeKeccak256``, so a proof carries no
  left/right flags;
* leaves are sorted by value and laid out in one array as a complete binary tree (``tree[0]`` is the
  root, node ``i`` has children ``2i+1`` and ``2i+2``, leaves fill the end in reverse order). This is
  ``@openzeppelin/merkle-tree``'s ``makeMerkleTree``; it handles any leaf count — odd counts need no
  duplicated or promoted nodes — and the root depends only on the *set* of records, not their order.

A one-leaf tree's root is the leaf itself and its proof is empty, as in OZ.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sha3  # type: ignore[import-untyped]  # safe-pysha3: ~7x faster keccak than eth-hash's pycryptodome

from oracle.errors import DuplicateLeaf, EmptyTree, LeafNotFound

_keccak_256 = sha3.keccak_256


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak-256 (not NIST SHA3-256)."""
    digest: bytes = _keccak_256(data).digest()
    return digest


def record_digest(canonical: bytes) -> bytes:
    """``recordDigest``: keccak256 of a record's canonical bytes (what the registry is asked about)."""
    return keccak256(canonical)


def leaf_hash(digest: bytes) -> bytes:
    """The tree leaf for a record digest: ``keccak256(abi.encodePacked(bytes32 recordDigest))``."""
    if len(digest) != 32:
        raise ValueError(f"record digest must be 32 bytes, got {len(digest)}")
    return keccak256(digest)


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OZ ``Hashes.commutativeKeccak256``: keccak256 of the two children, smaller first."""
    return keccak256(a + b if a < b else b + a)


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A built tree: ``nodes[0]`` is the root; the last ``len(leaves)`` nodes are the sorted leaves."""

    nodes: tuple[bytes, ...]
    leaves: tuple[bytes, ...]  # sorted ascending

    @classmethod
    def from_digests(cls, digests: Iterable[bytes]) -> MerkleTree:
        """Build the tree over record digests; raise ``EmptyTree`` or ``DuplicateLeaf``."""
        leaves = sorted(leaf_hash(digest) for digest in digests)
        if not leaves:
            raise EmptyTree("a Merkle tree needs at least one record")
        for previous, current in itertools.pairwise(leaves):
            if previous == current:
                raise DuplicateLeaf(f"record digest with leaf 0x{current.hex()} appears twice")
        count = len(leaves)
        size = 2 * count - 1
        nodes: list[bytes] = [b""] * size
        # Leaf i of the sorted list sits at size-1-i, so nodes[size-count:] holds the leaves reversed.
        nodes[size - count :] = leaves[::-1]
        keccak = _keccak_256
        for i in range(size - count - 1, -1, -1):
            left, right = nodes[2 * i + 1], nodes[2 * i + 2]
            nodes[i] = keccak(left + right if left < right else right + left).digest()
        return cls(nodes=tuple(nodes), leaves=tuple(leaves))

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.leaves)

    def _node_index(self, digest: bytes) -> int:
        leaf = leaf_hash(digest)
        # Binary search the sorted leaves instead of keeping a dict: trees are built far more often
        # than they are asked for proofs (proofs are mostly served from a rebuilt tree, once).
        lo, hi = 0, len(self.leaves)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.leaves[mid] < leaf:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(self.leaves) or self.leaves[lo] != leaf:
            raise LeafNotFound(f"record digest 0x{digest.hex()} is not in this tree")
        return len(self.nodes) - 1 - lo

    def proof(self, digest: bytes) -> list[bytes]:
        """Sibling hashes from the record's leaf up to (not including) the root."""
        index = self._node_index(digest)
        proof: list[bytes] = []
        while index > 0:
            proof.append(self.nodes[index + 1 if index % 2 else index - 1])
            index = (index - 1) // 2
        return proof


def merkle_root(digests: Iterable[bytes]) -> bytes:
    """Root over record digests (see the module docstring for the exact rules)."""
    return MerkleTree.from_digests(digests).root


def process_proof(digest: bytes, proof: Sequence[bytes]) -> bytes:
    """OZ ``MerkleProof.processProof`` for the record's leaf: the root the proof leads to."""
    computed = leaf_hash(digest)
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed


def verify_proof(root: bytes, digest: bytes, proof: Sequence[bytes]) -> bool:
    """Offline twin of the registry's ``verifyRecord(root, recordDigest, proof)``."""
    if len(root) != 32 or any(len(sibling) != 32 for sibling in proof):
        return False
    return process_proof(digest, proof) == root
