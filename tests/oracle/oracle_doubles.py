"""Test doubles for the oracle's boundaries: a ledger that keeps anchors in a dict, a dict content store.

They implement only the parts of ``ChainClient`` / ``ContentStore`` the anchoring pipeline uses, follow
the registry's rules (a root can be anchored once; ``verifyRecord`` is OpenZeppelin's ``MerkleProof``),
and can simulate what the real ones do badly: being unreachable, reorganising, dying mid-call.
With ``path`` set, their state is persisted (atomically, fsynced) after every change so several
processes in a row — a worker killed with SIGKILL and its successor — see one ledger and one store.
The real-chain versions of the pipeline tests run these same scenarios against ``Web3ChainClient``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.merkle import verify_proof
from passport.chain.records import AnchorRecord, LedgerEvent, TxReceipt
from passport.errors import ChainUnavailable, ContentNotFound, ContractRevert, StoreUnavailable
from passport.model import AnchorKind

ALREADY_ANCHORED = "DataAnchorsRootAlreadyAnchored"  # the registry's custom error


def raw_cid(data: bytes) -> str:
    """CIDv1, raw codec (0x55), sha2-256 — what both real stores return for a one-block document."""
    binary = b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        json.dump(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


@dataclass
class FakeChain:
    """An in-process ledger: blocks are hashes, anchors a dict keyed by root."""

    path: Path | None = None
    down: bool = False
    fail_next: int = 0  # the next N calls raise ChainUnavailable
    blocks: list[str] = field(default_factory=list)  # block hash hex per height; index 0 = genesis
    anchors: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)  # every root an anchoring tx was mined for
    events_log: list[dict[str, Any]] = field(default_factory=list)
    fork: int = 0  # bumps on every reorg so replaced blocks get new hashes

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            state = json.loads(self.path.read_text())
            self.blocks, self.anchors, self.sent = state["blocks"], state["anchors"], state["sent"]
            self.events_log, self.fork = state["events"], state["fork"]
        if not self.blocks:
            self.blocks = [self._hash(0)]
            self._persist()

    def _hash(self, height: int) -> str:
        return hashlib.sha256(f"block {height} fork {self.fork}".encode()).hexdigest()

    def _persist(self) -> None:
        if self.path is not None:
            _save(
                self.path,
                {
                    "blocks": self.blocks,
                    "anchors": self.anchors,
                    "sent": self.sent,
                    "events": self.events_log,
                    "fork": self.fork,
                },
            )

    def _gate(self) -> None:
        if self.down:
            raise ChainUnavailable("fake chain is down")
        if self.fail_next:
            self.fail_next -= 1
            raise ChainUnavailable("fake chain timed out")

    # -- the ChainClient surface the oracle uses -------------------------------------------------------
    chain_id = 1337

    def block_number(self) -> int:
        self._gate()
        return len(self.blocks) - 1

    def block_hash(self, number: int) -> bytes | None:
        self._gate()
        return bytes.fromhex(self.blocks[number]) if 0 <= number < len(self.blocks) else None

    def mine(self, count: int = 1) -> None:
        for _ in range(count):
            self.blocks.append(self._hash(len(self.blocks)))
        self._persist()

    def anchor_batch(self, root: bytes, cid_digest: bytes, record_count: int, kind: AnchorKind) -> TxReceipt:
        self._gate()
        if root.hex() in self.anchors:
            raise ContractRevert(ALREADY_ANCHORED, (root,))
        self.mine()
        height = len(self.blocks) - 1
        tx_hash = hashlib.sha256(b"tx" + root + str(self.fork).encode()).digest()
        self.anchors[root.hex()] = {
            "count": record_count,
            "kind": int(kind),
            "block": height,
            "cid_digest": cid_digest.hex(),
            "tx": tx_hash.hex(),
        }
        self.sent.append(root.hex())
        self.events_log.append({"root": root.hex(), "block": height, "tx": tx_hash.hex()})
        self._persist()
        return TxReceipt(tx_hash, height, bytes.fromhex(self.blocks[height]), 50_000)

    def get_anchor(self, root: bytes) -> AnchorRecord | None:
        self._gate()
        entry = self.anchors.get(root.hex())
        if entry is None:
            return None
        return AnchorRecord(root, entry["count"], AnchorKind(entry["kind"]), 0, entry["block"])

    def verify_record(self, root: bytes, record_digest: bytes, proof: Sequence[bytes]) -> bool:
        self._gate()
        return verify_proof(root, record_digest, list(proof))

    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        self._gate()
        return [
            LedgerEvent(
                "BatchAnchored",
                {"root": bytes.fromhex(e["root"])},
                e["block"],
                bytes.fromhex(self.blocks[e["block"]]),
                bytes.fromhex(e["tx"]),
                0,
            )
            for e in self.events_log
            if from_block <= e["block"] <= to_block and e["root"] in self.anchors
        ]

    # -- what a real node does to us -------------------------------------------------------------
    def reorg(self, depth: int, *, drop: bool = True) -> None:
        """Replace the top ``depth`` blocks; anchors in them vanish (``drop``) or move one block up."""
        cut = len(self.blocks) - depth
        self.fork += 1
        for root, entry in list(self.anchors.items()):
            if entry["block"] >= cut:
                if drop:
                    del self.anchors[root]
                else:
                    entry["block"] += 1
        self.blocks = self.blocks[:cut] + [
            self._hash(h) for h in range(cut, cut + depth + (0 if drop else 1))
        ]
        self._persist()


@dataclass
class FakeStore:
    """A content store in a dict (or a JSON file), returning real raw CIDv1s."""

    path: Path | None = None
    down: bool = False
    blobs: dict[str, str] = field(default_factory=dict)
    puts: int = 0

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            state = json.loads(self.path.read_text())
            self.blobs, self.puts = state["blobs"], state["puts"]

    def put(self, data: bytes) -> str:
        if self.down:
            raise StoreUnavailable("fake store is down")
        cid = raw_cid(data)
        self.blobs[cid] = data.hex()
        self.puts += 1
        if self.path is not None:
            _save(self.path, {"blobs": self.blobs, "puts": self.puts})
        return cid

    def get(self, cid: str) -> bytes:
        if self.down:
            raise StoreUnavailable("fake store is down")
        if cid not in self.blobs:
            raise ContentNotFound(cid)
        return bytes.fromhex(self.blobs[cid])

    def has(self, cid: str) -> bool:
        return cid in self.blobs

    def pin(self, cid: str) -> None:
        return None

    def size(self, cid: str) -> int:
        return len(self.get(cid))
