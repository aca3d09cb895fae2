"""The ``AuditIndex`` boundary, and the narrow slices of the chain the follower reads from.

The API and auditors' tools read through ``AuditIndex``; only the ``IndexFollower`` writes to it. The
real implementation is ``passport.audit.SqliteAuditIndex``. The follower asks the chain only for what an
``EventSource`` offers, which every ``ChainClient`` already provides.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from passport.audit.records import AuditEvent, BlockRef, EventPage, EventQuery, IndexedBlock
from passport.chain.records import LedgerEvent


@runtime_checkable
class EventSource(Protocol):
    """The part of ``ChainClient`` the follower needs: blocks, their hashes and decoded events."""

    @property
    def chain_id(self) -> int: ...

    @property
    def registry_address(self) -> str: ...

    def block_number(self) -> int: ...

    def block_hash(self, number: int) -> bytes | None: ...

    def events(
        self, from_block: int, to_block: int, names: Sequence[str] | None = None
    ) -> list[LedgerEvent]: ...


@runtime_checkable
class BlockTimestamps(Protocol):
    """A chain client that can report block timestamps; the follower stores them when it can."""

    def block_timestamp(self, number: int) -> int | None:
        """Unix seconds of block ``number`` on the canonical chain, or None if it does not exist."""
        ...


@runtime_checkable
class PassportEvents(Protocol):
    """A chain client that can fetch one passport's events without reading every event of a range.

    Cross-checks of what a page shows about one passport use it to stay cheap (one filtered log query).
    """

    def passport_events(
        self, passport_id: bytes, from_block: int, to_block: int, names: Sequence[str]
    ) -> list[LedgerEvent]:
        """Events ``names`` in ``[from_block, to_block]`` whose first indexed argument is ``passport_id``."""
        ...


@dataclass(frozen=True, slots=True)
class SourceIdentity:
    """Which ledger an index describes; an index refuses to mix events from two ledgers."""

    chain_id: int
    registry_address: str
    start_block: int  # the first block indexed (usually the registry's deployment block)


@dataclass(frozen=True, slots=True)
class IndexBatch:
    """One atomic step of the follower: a range's events and blocks, and the cursor after them."""

    events: Sequence[LedgerEvent]
    blocks: Sequence[IndexedBlock]
    cursor: BlockRef
    # Checkpoints (blocks without events) below this number are no longer useful for finding a fork
    # point and are dropped, so a follower polling every second does not grow the table without bound.
    prune_checkpoints_below: int | None = None


@runtime_checkable
class AuditIndex(Protocol):
    """Ledger events indexed for audit queries, kept in step with the chain by ``IndexFollower``."""

    # -- reading --------------------------------------------------------------------------------------
    def query(self, query: EventQuery) -> EventPage:
        """One page of events matching ``query``, in (block, log index) order."""
        ...

    def iter_events(self, query: EventQuery) -> Iterator[AuditEvent]:
        """Every event matching ``query`` (ignoring its limit as a total), fetched page by page."""
        ...

    def custody_timeline(self, passport_id: str | bytes | uuid.UUID) -> list[AuditEvent]:
        """A passport's custody offers, acceptances and cancellations, oldest first."""
        ...

    def version_history(self, passport_id: str | bytes | uuid.UUID) -> list[AuditEvent]:
        """The events that created a version of a passport (issue, updates, status changes), oldest first."""
        ...

    def cursor(self) -> BlockRef | None:
        """The last block fully indexed, or None before the first sync."""
        ...

    def source(self) -> SourceIdentity | None:
        """The ledger this index describes, or None while the index is empty and unbound."""
        ...

    # -- writing (the follower) ------------------------------------------------------------------------
    def bind(self, identity: SourceIdentity) -> SourceIdentity:
        """Record the ledger on first use; afterwards return the stored identity or raise on a mismatch."""
        ...

    def recent_blocks(self, at_or_below: int, limit: int) -> list[BlockRef]:
        """Stored blocks numbered ``<= at_or_below``, newest first (fork-point candidates)."""
        ...

    def follower_turn(self) -> AbstractContextManager[None]:
        """Hold the follower role for one sync (processes sharing the index take turns)."""
        ...

    def apply(self, batch: IndexBatch) -> int:
        """Store a batch atomically and return how many events were new (re-applying one adds nothing)."""
        ...

    def rollback(self, to: BlockRef | None) -> int:
        """Drop everything above ``to`` (all, if None), move the cursor there; return events dropped."""
        ...

    def close(self) -> None: ...
