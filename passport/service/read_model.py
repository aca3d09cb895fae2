"""``PassportReadModel``: passport records kept in memory, current with the chain the audit index follows.

Reads of a passport (its record, its public view, its verification) need the ledger's record of it. Asking
the node for it on every request costs an ``eth_call`` or three; this model asks once per passport and
keeps the answer until the ledger says it changed:

- **Filled on demand.** A miss reads ``block_number`` then ``get_passport`` and keeps the record (or its
  absence) together with the block it was read at.
- **Invalidated by the chain.** After each audit-index sync (``apply_sync``) every passport named by a
  newly indexed event is dropped (issue, version, status, custody, successor, recycling), and a reorg the
  follower found drops everything. Entries read above the follower's confirmed block are *provisional*:
  a reorg of unconfirmed blocks is invisible to the follower, so they are dropped at every sync until the
  block they were read at is confirmed.
- **Invalidated by our own writes.** A write through this process calls ``invalidate`` once its receipt
  is in, so the next read asks the chain again: a client reads its own writes at once.
- **No stale fill.** Each passport has a generation, bumped by every invalidation; a fill that started
  before an invalidation is not stored (it may have read the state the invalidation replaced).

``reflects(entry)`` is the block an answer stands for: the later of the block the record was read at and
the follower's confirmed block (no event touching the passport has been indexed since it was read).

Values derived from a record (``derived``: a public view, a verification report) are memoised against
the exact record they were computed from, and dropped with it. What is trusted: that the node answered
``get_passport`` truthfully at the stated block (as every read did before) and that the follower sees
every event of the registry; digests of stored content are still checked against the record per request
by the callers that serve content.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from passport.chain.protocol import ChainClient
from passport.chain.records import PassportRecord

T = TypeVar("T")

#: Event arguments that name a passport (the predecessor is named by ``PassportSuperseded``).
_PASSPORT_ARGS: Final = ("passportId", "predecessorId", "successorId", "predecessor")
#: Passports remembered at most; past it the model starts over (a restart's worth of misses, no more).
DEFAULT_MAX_ENTRIES: Final = 200_000


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A passport's on-chain record (None: no such passport) as read at ``block``."""

    passport_id: bytes
    record: PassportRecord | None
    block: int


class PassportReadModel:
    """Records of passports by bytes32 id, filled from ``chain`` and invalidated by events and writes."""

    def __init__(self, chain: ChainClient, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._chain = chain
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[bytes, ModelEntry] = {}
        self._derived: dict[bytes, dict[str, tuple[PassportRecord, Any]]] = {}
        self._generation: dict[bytes, int] = {}
        self._epoch = 0
        self._synced = -1
        self.hits = 0
        self.misses = 0

    @property
    def synced_block(self) -> int:
        """The follower's confirmed block as of the last ``apply_sync`` (-1 before the first)."""
        return self._synced

    def reflects(self, entry: ModelEntry) -> int:
        """The block ``entry`` stands for: no indexed event has touched its passport since."""
        return max(entry.block, self._synced)

    # -- reading ---------------------------------------------------------------------------------

    def lookup(self, passport_id: bytes) -> ModelEntry:
        """The passport's entry: from memory, else read from the chain (and kept unless invalidated)."""
        with self._lock:
            entry = self._entries.get(passport_id)
            if entry is not None:
                self.hits += 1
                return entry
            self.misses += 1
            stamp = (self._epoch, self._generation.get(passport_id, 0))
        block = self._chain.block_number()
        entry = ModelEntry(passport_id, self._chain.get_passport(passport_id), block)
        with self._lock:
            if stamp == (self._epoch, self._generation.get(passport_id, 0)):
                if len(self._entries) >= self._max:
                    self._forget_all()
                self._entries[passport_id] = entry
        return entry

    def peek(self, passport_id: bytes) -> ModelEntry | None:
        """The passport's entry if the model holds it (no chain call), else None."""
        with self._lock:
            entry = self._entries.get(passport_id)
            if entry is not None:
                self.hits += 1
            return entry

    def cached(self, record: PassportRecord, kind: str) -> Any | None:
        """What ``derived`` memoised for exactly ``record`` under ``kind``, else None (computes nothing)."""
        with self._lock:
            found = self._derived.get(record.passport_id, {}).get(kind)
            return found[1] if found is not None and found[0] == record else None

    def remember(self, record: PassportRecord, kind: str, value: Any) -> None:
        """Keep ``value`` for exactly ``record`` (as ``derived`` would), while the model holds ``record``."""
        with self._lock:
            held = self._entries.get(record.passport_id)
            if held is not None and held.record == record:
                self._derived.setdefault(record.passport_id, {})[kind] = (record, value)

    def derived(
        self,
        record: PassportRecord,
        kind: str,
        compute: Callable[[], T],
        *,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """``compute()``, memoised for exactly ``record`` (dropped when the passport is invalidated).

        ``compute`` runs outside the lock; two concurrent first requests may both compute (same result).
        A value is kept only while the model still holds ``record`` for the passport, and only if
        ``keep(value)`` (when given) says so.
        """
        with self._lock:
            found = self._derived.get(record.passport_id, {}).get(kind)
            if found is not None and found[0] == record:
                value: T = found[1]
                return value
        value = compute()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            held = self._entries.get(record.passport_id)
            if held is not None and held.record == record:
                self._derived.setdefault(record.passport_id, {})[kind] = (record, value)
        return value

    # -- keeping current ---------------------------------------------------------------------------

    def invalidate(self, passport_ids: Iterable[bytes]) -> None:
        """Forget these passports (their next read asks the chain): after a write, or an event."""
        with self._lock:
            for pid in passport_ids:
                self._drop(pid)

    def clear(self) -> None:
        """Forget everything (a reorg): every entry is read again."""
        with self._lock:
            self._forget_all()

    def apply_sync(self, synced_block: int, touched: Iterable[bytes], *, reorged: bool) -> None:
        """What a follower sync learnt: its confirmed block, the passports its new events name, reorgs."""
        with self._lock:
            if reorged:
                self._forget_all()
            for pid in touched:
                self._drop(pid)
            self._synced = synced_block
            provisional = [pid for pid, entry in self._entries.items() if entry.block > synced_block]
            for pid in provisional:
                self._drop(pid)

    def __len__(self) -> int:
        return len(self._entries)

    # -- internals (lock held) -----------------------------------------------------------------------

    def _drop(self, pid: bytes) -> None:
        self._generation[pid] = self._generation.get(pid, 0) + 1
        self._entries.pop(pid, None)
        self._derived.pop(pid, None)

    def _forget_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._derived.clear()
        self._generation.clear()


def passports_named(args: Mapping[str, Any]) -> list[bytes]:
    """The passport ids an event's arguments name: bytes32 values (a receipt's events) or their 0x-hex
    (the audit index's), the zero id left out."""
    found = []
    for name in _PASSPORT_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
            value = bytes.fromhex(value[2:])
        if isinstance(value, bytes | bytearray) and len(value) == 32 and any(value):
            found.append(bytes(value))
    return found
