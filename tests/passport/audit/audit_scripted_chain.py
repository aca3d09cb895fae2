"""A scripted in-memory chain for the follower's unit tests: blocks, events and reorgs on demand.

Only what ``EventSource`` and ``BlockTimestamps`` ask for. Hashes chain (each block's hash covers its
parent's and its events), so a reorg changes every block above the fork point, as on a real chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from passport.chain.records import LedgerEvent

REGISTRY = "0x" + "5e" * 20
GENESIS_TIME = 1_700_000_000


@dataclass
class Block:
    number: int
    hash: bytes
    parent: bytes
    timestamp: int
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class ScriptedChain:
    """A chain whose history tests write block by block and can reorganise at will."""

    def __init__(self, chain_id: int = 1337, registry_address: str = REGISTRY) -> None:
        self._chain_id = chain_id
        self._registry = registry_address
        self.blocks: list[Block] = [Block(0, hashlib.sha256(b"genesis").digest(), b"\0" * 32, GENESIS_TIME)]
        self.calls: dict[str, int] = {"block_hash": 0, "events": 0, "block_timestamp": 0}
        # Called after events() has read its logs: lets a test reorganise the chain mid-read.
        self.after_events: Callable[[ScriptedChain], None] | None = None

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def registry_address(self) -> str:
        return self._registry

    # -- scripting ------------------------------------------------------------------------------------
    def mine(self, *events: tuple[str, dict[str, Any]], salt: str = "") -> Block:
        parent = self.blocks[-1]
        digest = hashlib.sha256(parent.hash + salt.encode() + repr(events).encode()).digest()
        block = Block(parent.number + 1, digest, parent.hash, parent.timestamp + 12, list(events))
        self.blocks.append(block)
        return block

    def mine_empty(self, count: int, salt: str = "") -> None:
        for _ in range(count):
            self.mine(salt=salt)

    def reorg(self, depth: int) -> None:
        """Drop the newest ``depth`` blocks (the caller mines the replacement branch)."""
        assert 0 < depth < len(self.blocks)
        del self.blocks[-depth:]

    # -- EventSource ----------------------------------------------------------------------------------
    def block_number(self) -> int:
        return self.blocks[-1].number

    def block_hash(self, number: int) -> bytes | None:
        self.calls["block_hash"] += 1
        return self.blocks[number].hash if 0 <= number < len(self.blocks) else None

    def block_timestamp(self, number: int) -> int | None:
        self.calls["block_timestamp"] += 1
        return self.blocks[number].timestamp if 0 <= number < len(self.blocks) else None

    def events(self, from_block: int, to_block: int, names: Sequence[str] | None = None) -> list[LedgerEvent]:
        self.calls["events"] += 1
        found: list[LedgerEvent] = []
        for block in self.blocks[from_block : to_block + 1]:
            for log_index, (name, args) in enumerate(block.events):
                if names is not None and name not in names:
                    continue
                tx = hashlib.sha256(block.hash + log_index.to_bytes(4, "big")).digest()
                found.append(LedgerEvent(name, dict(args), block.number, block.hash, tx, log_index, REGISTRY))
        if self.after_events is not None:
            hook, self.after_events = self.after_events, None
            hook(self)
        return found
