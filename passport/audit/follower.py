"""``IndexFollower``: keeps an ``AuditIndex`` in step with the chain, through restarts and reorgs.

How it stays correct:

- **Confirmations.** Only blocks at or below ``head - confirmations`` are indexed, so on a chain with
  probabilistic finality most reorgs never reach the index at all.
- **Reorg detection.** The index stores the hash of its cursor block and of every block holding an
  event. Block hashes chain, so if the cursor block is still canonical, every block below it is too:
  one ``block_hash`` call per sync proves the whole index current. On a mismatch the follower walks its
  stored blocks newest first to the highest one still canonical (the fork point), rolls back everything
  above it, and reads forward again. Stored blocks are sparse, so the fork point found may be a little
  below the real one; that only re-reads a few blocks.
- **Consistent reads.** Each range is read as: hash of its last block, its events, hash of the cursor
  block, hash of its last block again. Unchanged hashes mean the range and the stored history were on
  one chain during the read; otherwise nothing is stored and the follower starts over from detection.
- **Restarts.** The cursor moves in the same transaction as the rows it covers; re-reading a range
  (after a crash between read and commit) is idempotent.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from passport.audit.protocol import (
    AuditIndex,
    BlockTimestamps,
    EventSource,
    IndexBatch,
    SourceIdentity,
)
from passport.audit.records import BlockRef, IndexedBlock, Reorg, SyncResult
from passport.audit.sqlite_index import SqliteAuditIndex
from passport.errors import AuditIndexError, ChainError, IndexChainMismatch
from passport.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """How the follower reads the chain."""

    confirmations: int = 0
    # Many nodes cap eth_getLogs ranges (often 2,000-10,000 blocks); 2,000 is accepted everywhere.
    chunk_size: int = 2000
    start_block: int = 0  # the registry's deployment block: nothing before it can hold its events
    # Checkpoint blocks (ends of synced ranges without events) within this many blocks of the cursor are
    # kept as fork-point candidates; older ones are dropped.
    reorg_window: int = 256
    # A chain that keeps reorganising under us is retried this often within one sync before giving up.
    max_restarts: int = 8

    def __post_init__(self) -> None:
        if self.confirmations < 0 or self.chunk_size < 1 or self.start_block < 0 or self.reorg_window < 0:
            raise AuditIndexError(f"invalid follower configuration {self!r}")

    @classmethod
    def from_settings(cls, settings: Settings, *, start_block: int = 0) -> FollowerConfig:
        """The configuration the service runs with: the settings' confirmation depth."""
        return cls(confirmations=settings.confirmations, start_block=start_block)


class IndexFollower:
    """Reads ledger events from an ``EventSource`` into an ``AuditIndex``; call ``sync`` repeatedly."""

    def __init__(self, index: AuditIndex, config: FollowerConfig | None = None) -> None:
        self.index = index
        self.config = config or FollowerConfig()

    def sync(self, chain: EventSource, *, max_blocks: int | None = None) -> SyncResult:
        """Index every confirmed block not yet indexed (at most ``max_blocks`` of them), handling reorgs.

        Followers in several processes sharing one index take turns (``AuditIndex.follower_turn``)."""
        with self.index.follower_turn():
            return self._sync(chain, max_blocks)

    def _sync(self, chain: EventSource, max_blocks: int | None) -> SyncResult:
        identity = self.index.bind(
            SourceIdentity(chain.chain_id, chain.registry_address, self.config.start_block)
        )
        start_block = identity.start_block
        head = chain.block_number()
        target = head - self.config.confirmations
        if max_blocks is not None:
            cursor = self.index.cursor()
            target = min(target, (cursor.number if cursor else start_block - 1) + max_blocks)
        reorgs: list[Reorg] = []
        first_read: int | None = None
        last_read: int | None = None
        added = 0
        restarts = 0

        reorg = self._detect_reorg(chain, start_block)
        if reorg is not None:
            reorgs.append(reorg)
        while True:
            cursor = self.index.cursor()
            next_block = start_block if cursor is None else cursor.number + 1
            if next_block > target:
                break
            end = min(next_block + self.config.chunk_size - 1, target)
            stored = self._read_range(chain, cursor, next_block, end)
            if stored is None:
                restarts += 1
                if restarts > self.config.max_restarts:
                    raise AuditIndexError(
                        f"the chain reorganised {restarts} times during one sync; try again later"
                    )
                reorg = self._detect_reorg(chain, start_block)
                if reorg is not None:
                    reorgs.append(reorg)
                # The chain may have shrunk below the target (a rollback without new blocks yet).
                target = min(target, chain.block_number() - self.config.confirmations)
                continue
            added += stored
            first_read = next_block if first_read is None else first_read
            last_read = end
        return SyncResult(
            head=head,
            target=target,
            from_block=first_read,
            to_block=last_read,
            events_added=added,
            reorgs=tuple(reorgs),
            cursor=self.index.cursor(),
        )

    def run(self, chain: EventSource, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Sync every ``interval`` seconds until ``stop`` is set (for a background thread).

        A node that is briefly unreachable, or a chain that will not settle, is logged and retried on the
        next tick: the cursor only ever moves over fully stored ranges, so nothing is lost by waiting.
        """
        while not stop.is_set():
            try:
                self.sync(chain)
            except (ChainError, AuditIndexError) as exc:
                if isinstance(exc, IndexChainMismatch):
                    raise
                log.warning("audit index sync failed, retrying in %.1f s: %s", interval, exc)
            stop.wait(interval)

    def _read_range(self, chain: EventSource, cursor: BlockRef | None, start: int, end: int) -> int | None:
        """Read and store ``[start, end]``; None (nothing stored) if the chain moved under the read."""
        end_hash = chain.block_hash(end)
        if end_hash is None:
            return None
        events = chain.events(start, end)
        block_hashes: dict[int, bytes] = {}
        for event in events:
            if not start <= event.block_number <= end:
                raise AuditIndexError(
                    f"chain returned an event of block {event.block_number} for range [{start}, {end}]"
                )
            if block_hashes.setdefault(event.block_number, event.block_hash) != event.block_hash:
                return None  # two events of one block number from different forks: read again
        timestamps = _timestamps(chain, list(block_hashes))
        # Checked last, after everything read from the chain for this range (timestamps included).
        if cursor is not None and chain.block_hash(cursor.number) != cursor.hash:
            return None
        if chain.block_hash(end) != end_hash:
            return None
        blocks = [
            IndexedBlock(number, hash_, timestamps.get(number), has_events=True)
            for number, hash_ in sorted(block_hashes.items())
        ]
        if end not in block_hashes:
            blocks.append(IndexedBlock(end, end_hash))
        added = self.index.apply(
            IndexBatch(
                events=events,
                blocks=blocks,
                cursor=BlockRef(end, end_hash),
                prune_checkpoints_below=end - self.config.reorg_window,
            )
        )
        log.debug("audit index: blocks %d-%d read, %d events added", start, end, added)
        return added

    def _detect_reorg(self, chain: EventSource, start_block: int) -> Reorg | None:
        """Roll the index back to the fork point if its cursor block is no longer canonical."""
        cursor = self.index.cursor()
        if cursor is None or chain.block_hash(cursor.number) == cursor.hash:
            return None
        fork: BlockRef | None = None
        below = cursor.number - 1
        while fork is None:
            candidates = self.index.recent_blocks(below, 64)
            if not candidates:
                break
            for block in candidates:
                if chain.block_hash(block.number) == block.hash:
                    fork = block
                    break
            below = candidates[-1].number - 1
        removed = self.index.rollback(fork)
        fork_number = fork.number if fork is not None else start_block - 1
        log.warning(
            "reorg: indexed block %d (0x%s) is no longer canonical; rolled back to block %d (%d events)",
            cursor.number,
            cursor.hash.hex(),
            fork_number,
            removed,
        )
        return Reorg(old_tip=cursor, fork_block=fork_number, events_removed=removed)


def _timestamps(chain: EventSource, numbers: list[int]) -> dict[int, int]:
    if not isinstance(chain, BlockTimestamps):
        return {}
    found: dict[int, int] = {}
    for number in numbers:
        timestamp = chain.block_timestamp(number)
        if timestamp is not None:
            found[number] = timestamp
    return found


def rebuild(
    chain: EventSource,
    path: Path | str,
    config: FollowerConfig | None = None,
) -> SqliteAuditIndex:
    """Build a fresh index at ``path`` from the chain alone and return it, open.

    The index is written beside ``path`` and renamed over it only once it has caught up, so a crash
    mid-rebuild never leaves a half-built index at ``path``. Close every connection to an old index at
    ``path`` first: SQLite finds a database's WAL by file name, so a connection left open on the replaced
    file could later write its WAL over the new one.
    """
    path = Path(path)
    building = path.with_name(path.name + ".rebuild")
    for leftover in _sqlite_files(building):
        leftover.unlink(missing_ok=True)
    index = SqliteAuditIndex(building)
    try:
        IndexFollower(index, config).sync(chain)
        # Fold the WAL into the main file, so the one rename below moves the whole database.
        index.checkpoint()
    finally:
        index.close()
    # Durable before it is visible: the rename must never publish a file whose bytes are still only in
    # the page cache, and the directory entry itself is synced after the rename.
    _fsync(building)
    for stale in _sqlite_files(path)[1:]:
        stale.unlink(missing_ok=True)
    os.replace(building, path)
    _fsync(path.parent)
    return SqliteAuditIndex(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
