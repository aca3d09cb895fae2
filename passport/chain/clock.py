"""The ledger's "now": what a time limit sent to the chain (a custody offer's expiry) is measured from.

A contract judges time by ``block.timestamp`` of the block that mines the transaction, which is later
than the latest block's when an instamine node has been idle. Measuring from the latest block then
sends an offer that is already expired by the time it is mined (it reverts, gas spent).
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class ChainClock(Protocol):
    """A chain client that can tell the timestamp the next block will carry."""

    def next_block_time(self) -> int: ...


def chain_now(chain: object) -> int:
    """Unix seconds the next block will carry: the client's estimate, else the wall clock."""
    if isinstance(chain, ChainClock):
        return chain.next_block_time()
    return int(time.time())
