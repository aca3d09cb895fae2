"""``SqliteAuditIndex``: the audit index in one SQLite file (WAL), safe to read while the follower writes,
or in the ``audit`` schema of a shared PostgreSQL database (``passport.db``) that several API processes
read while one follower at a time writes (``follower_turn``). Schema: ``passport/db/migrations/audit/``.

Layout:

- ``meta``: which ledger the index describes (chain id, registry address, start block) and the schema.
- ``cursor``: the last block fully indexed, by number and hash; moves in the same transaction as the
  rows it covers, so a crash leaves either the whole range or none of it.
- ``blocks``: every block holding an indexed event, plus recent checkpoints (ends of synced ranges);
  their hashes are what the follower compares with the chain to find a fork point.
- ``events``: one row per event, keyed by (block number, log index), with JSON arguments.
- ``event_refs``: every passport, battery-id hash, address and root an event names (an event can name
  several: a successor and its predecessor, a sender and a receiver), for indexed lookups.
- ``passports``: passport id to battery-id hash, learned from the events that carry both, so events that
  name only a passport (custody, updates) are still found by battery.

Every byte value is stored as lowercase ``0x``-hex text: the file is meant to be read by auditors with
the ``sqlite3`` shell (or ``psql``) as well as through this class.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from passport.audit._extract import event_row
from passport.audit.kinds import CUSTODY_EVENTS, VERSION_EVENTS
from passport.audit.protocol import IndexBatch, SourceIdentity
from passport.audit.records import (
    AuditEvent,
    BlockRef,
    EventPage,
    EventQuery,
    decode_page_token,
    encode_page_token,
    normalize_passport_id,
)
from passport.db import Cursor, Database, StorageError, open_database, open_sqlite
from passport.errors import AuditIndexError, IndexChainMismatch
from passport.settings import Settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
COMPONENT = "audit"
# NORMAL under WAL never corrupts the file and keeps the cursor with its rows; at worst a power cut
# loses the last steps, which the follower simply reads again (the index is derived).
SQLITE_PRAGMAS = ("synchronous=NORMAL",)
FOLLOWER_ROLE = "follower"

# A block seen again (a re-read range) keeps has_events if either sighting had events: the two-argument
# maximum is max() in SQLite and greatest() in PostgreSQL.
_UPSERT_BLOCK_HEAD = (
    "INSERT INTO blocks (number, hash, timestamp, has_events) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, "
    "timestamp = coalesce(excluded.timestamp, blocks.timestamp), "
)
_UPSERT_BLOCK = {
    "sqlite": _UPSERT_BLOCK_HEAD + "has_events = max(blocks.has_events, excluded.has_events)",
    "postgresql": _UPSERT_BLOCK_HEAD + "has_events = greatest(blocks.has_events, excluded.has_events)",
}

_EVENT_COLUMNS = (
    "e.block_number, e.log_index, e.block_hash, e.block_timestamp, e.tx_hash, e.address, e.name, "
    "e.passport_id, e.battery_id_hash, e.root, e.args"
)


def _event(row: Sequence[Any]) -> AuditEvent:
    return AuditEvent(
        block_number=row[0],
        log_index=row[1],
        block_hash=row[2],
        block_timestamp=row[3],
        tx_hash=row[4],
        address=row[5],
        name=row[6],
        passport_id=row[7],
        battery_id_hash=row[8],
        root=row[9],
        args=json.loads(row[10]),
    )


class SqliteAuditIndex:
    """The audit index in a SQLite file (``":memory:"`` works for throwaway indexes) or a PostgreSQL schema.

    SQLite: one connection, serialised by a lock: reads are short (one page at a time), so an API thread
    never waits long behind the follower, and WAL lets other processes read the file while it writes.
    PostgreSQL: pooled connections; any number of processes read, one follower writes at a time.
    """

    def __init__(self, store: Path | str | Database) -> None:
        """``store``: an SQLite path (opened here) or an open ``Database`` (which this closes)."""
        self._lock = threading.RLock()
        try:
            if isinstance(store, str | Path):
                store = open_sqlite(store, COMPONENT, pragmas=SQLITE_PRAGMAS)
            self._db: Database = store
            with self._db.transaction() as cur:
                self._check_schema(cur)
        except StorageError as exc:
            raise AuditIndexError(f"cannot open audit index {store}: {exc}") from exc
        raw_path = getattr(store, "path", None)
        #: The SQLite file (None in memory and on PostgreSQL).
        self.path: Path | None = (
            Path(raw_path) if raw_path is not None and str(raw_path) != ":memory:" else None
        )

    @classmethod
    def open(cls, settings: Settings) -> SqliteAuditIndex:
        """The index the settings name: ``settings.audit_index_path``, or PostgreSQL's ``audit`` schema."""
        try:
            db = open_database(settings, COMPONENT, settings.audit_index_path, pragmas=SQLITE_PRAGMAS)
        except StorageError as exc:
            raise AuditIndexError(f"cannot open the audit index: {exc}") from exc
        return cls(db)

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def __enter__(self) -> SqliteAuditIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def follower_turn(self) -> Iterator[None]:
        """Hold the follower role for one sync: processes sharing the index sync one at a time (each
        sync is idempotent, so taking turns is all that is needed for the index to stay exact)."""
        try:
            lease = self._db.leader(FOLLOWER_ROLE, wait=True)
        except StorageError as exc:
            raise AuditIndexError(f"cannot take the audit follower's turn: {exc}") from exc
        assert lease is not None  # waited for it
        try:
            yield
        finally:
            lease.release()

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and empty it (before copying the file)."""
        if self._db.dialect != "sqlite":
            return  # the server owns its WAL
        with self._lock:
            try:
                self._db.query("PRAGMA wal_checkpoint(TRUNCATE)")
            except StorageError as exc:
                raise AuditIndexError(f"cannot checkpoint the audit index: {exc}") from exc

    def _check_schema(self, cur: Cursor) -> None:
        row = cur.execute("SELECT value FROM meta WHERE key = ?", ("schema_version",)).fetchone()
        if row is None:
            cur.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                (str(SCHEMA_VERSION),),
            )
        elif int(row[0]) != SCHEMA_VERSION:
            raise AuditIndexError(
                f"audit index schema {row[0]} is not {SCHEMA_VERSION}: rebuild it from the chain"
            )

    def _meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return None if not rows else str(rows[0][0])

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.query(sql, params)
            except StorageError as exc:
                raise AuditIndexError(f"audit index query failed: {exc}") from exc

    # -- identity and cursor -------------------------------------------------------------------------

    def source(self) -> SourceIdentity | None:
        with self._lock:
            chain_id = self._meta("chain_id")
            registry = self._meta("registry_address")
            start = self._meta("start_block")
        if chain_id is None or registry is None or start is None:
            return None
        return SourceIdentity(int(chain_id), registry, int(start))

    def bind(self, identity: SourceIdentity) -> SourceIdentity:
        with self._lock:
            stored = self.source()
            if stored is None:
                with self._transaction() as cur:
                    cur.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        [
                            ("chain_id", str(identity.chain_id)),
                            ("registry_address", identity.registry_address),
                            ("start_block", str(identity.start_block)),
                        ],
                    )
                return identity
        if (stored.chain_id, stored.registry_address.lower()) != (
            identity.chain_id,
            identity.registry_address.lower(),
        ):
            raise IndexChainMismatch(
                f"audit index {self._db!r} describes registry {stored.registry_address} on chain "
                f"{stored.chain_id}, not {identity.registry_address} on chain {identity.chain_id}"
            )
        return stored

    def cursor(self) -> BlockRef | None:
        rows = self._read("SELECT block_number, block_hash FROM cursor WHERE id = 1")
        return None if not rows else BlockRef(rows[0][0], bytes.fromhex(rows[0][1][2:]))

    def recent_blocks(self, at_or_below: int, limit: int) -> list[BlockRef]:
        rows = self._read(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC LIMIT ?",
            (at_or_below, limit),
        )
        return [BlockRef(number, bytes.fromhex(hash_[2:])) for number, hash_ in rows]

    # -- writing -------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        """One write transaction (SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so two
        followers on one file fail fast instead of deadlocking on a lock upgrade halfway through a
        batch); storage failures leave as ``AuditIndexError``."""
        try:
            with self._db.transaction() as cur:
                yield cur
        except StorageError as exc:
            raise AuditIndexError(f"audit index write failed: {exc}") from exc

    def apply(self, batch: IndexBatch) -> int:
        rows = [event_row(event) for event in batch.events]
        timestamps = {block.number: block.timestamp for block in batch.blocks}
        upsert_block = _UPSERT_BLOCK[self._db.dialect]
        with self._lock, self._transaction() as db:
            for block in batch.blocks:
                # A block seen again (a re-read range) keeps has_events if either sighting had events.
                db.execute(
                    upsert_block,
                    (block.number, "0x" + block.hash.hex(), block.timestamp, int(block.has_events)),
                )
            added = 0
            for row in rows:
                cur = db.execute(
                    "INSERT INTO events (block_number, log_index, block_hash, block_timestamp, tx_hash, "
                    "address, name, passport_id, battery_id_hash, root, args) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        row.block_number,
                        row.log_index,
                        row.block_hash,
                        timestamps.get(row.block_number),
                        row.tx_hash,
                        row.address,
                        row.name,
                        row.passport_id,
                        row.battery_id_hash,
                        row.root,
                        row.args_json,
                    ),
                )
                if cur.rowcount == 0:
                    continue  # already indexed: re-syncing a range must not duplicate anything
                added += 1
                refs = set(row.refs)
                passports = [value for kind, value in refs if kind == "passport"]
                if row.battery_id_hash is not None and row.passport_id is not None:
                    db.execute(
                        "INSERT INTO passports (passport_id, battery_id_hash, block_number) "
                        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (row.passport_id, row.battery_id_hash, row.block_number),
                    )
                for passport in passports:
                    # Custody and update events carry only the passport id; tie them to the battery
                    # learned from the passport's issue, so "everything about battery X" is one lookup.
                    found = db.execute(
                        "SELECT battery_id_hash FROM passports WHERE passport_id = ?", (passport,)
                    ).fetchone()
                    if found is not None:
                        refs.add(("battery", found[0]))
                db.executemany(
                    "INSERT INTO event_refs (kind, value, block_number, log_index) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(kind, value, row.block_number, row.log_index) for kind, value in sorted(refs)],
                )
            db.execute(
                "INSERT INTO cursor (id, block_number, block_hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, "
                "block_hash = excluded.block_hash",
                (batch.cursor.number, "0x" + batch.cursor.hash.hex()),
            )
            if batch.prune_checkpoints_below is not None:
                db.execute(
                    "DELETE FROM blocks WHERE has_events = 0 AND number < ? AND number <> ?",
                    (batch.prune_checkpoints_below, batch.cursor.number),
                )
        return added

    def rollback(self, to: BlockRef | None) -> int:
        above = -1 if to is None else to.number
        with self._lock, self._transaction() as db:
            removed = db.execute("DELETE FROM events WHERE block_number > ?", (above,)).rowcount
            db.execute("DELETE FROM event_refs WHERE block_number > ?", (above,))
            db.execute("DELETE FROM passports WHERE block_number > ?", (above,))
            db.execute("DELETE FROM blocks WHERE number > ?", (above,))
            if to is None:
                db.execute("DELETE FROM cursor")
            else:
                db.execute(
                    "INSERT INTO cursor (id, block_number, block_hash) VALUES (1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, "
                    "block_hash = excluded.block_hash",
                    (to.number, "0x" + to.hash.hex()),
                )
        log.info("audit index rolled back above block %d: %d events dropped", above, removed)
        return int(removed)

    # -- reading -------------------------------------------------------------------------------------

    def query(self, query: EventQuery) -> EventPage:
        sql, params = _select(query)
        rows = self._read(sql, params)
        items = tuple(_event(row) for row in rows[: query.limit])
        next_token = None
        if len(rows) > query.limit:
            next_token = encode_page_token(items[-1].key)
        return EventPage(items=items, next_token=next_token)

    def iter_events(self, query: EventQuery) -> Iterator[AuditEvent]:
        # Page by page, releasing the lock between pages: an export of a million events never blocks
        # the follower or other readers for long, and never holds them all in memory.
        page_query = query
        while True:
            page = self.query(page_query)
            yield from page.items
            if page.next_token is None:
                return
            page_query = page_query.model_copy(update={"after": page.next_token})

    def custody_timeline(self, passport_id: str | bytes | uuid.UUID) -> list[AuditEvent]:
        return list(
            self.iter_events(
                EventQuery(
                    passport_id=normalize_passport_id(passport_id),
                    names=CUSTODY_EVENTS,
                    limit=500,
                )
            )
        )

    def version_history(self, passport_id: str | bytes | uuid.UUID) -> list[AuditEvent]:
        return list(
            self.iter_events(
                EventQuery(
                    passport_id=normalize_passport_id(passport_id),
                    names=VERSION_EVENTS,
                    limit=500,
                )
            )
        )

    def checkpoints(self) -> list[BlockRef]:
        """Stored blocks without events (ends of synced ranges, kept as fork-point candidates)."""
        rows = self._read("SELECT number, hash FROM blocks WHERE has_events = 0 ORDER BY number")
        return [BlockRef(number, bytes.fromhex(hash_[2:])) for number, hash_ in rows]

    def event_count(self) -> int:
        """How many events the index holds."""
        return int(self._read("SELECT count(*) FROM events")[0][0])

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every derived row (events, references, passports, event blocks), for comparing two indexes.

        Checkpoint blocks are left out: which ones exist depends on when syncs ran, not on the chain.
        """
        with self._lock, self._db.read() as cur:
            return {
                "events": cur.execute("SELECT * FROM events ORDER BY 1, 2").fetchall(),
                "event_refs": cur.execute("SELECT * FROM event_refs ORDER BY 3, 4, 1, 2").fetchall(),
                "passports": cur.execute("SELECT * FROM passports ORDER BY 1").fetchall(),
                "blocks": cur.execute(
                    "SELECT number, hash, timestamp FROM blocks WHERE has_events = 1 ORDER BY 1"
                ).fetchall(),
            }


# Block timestamps never decrease along the chain, so a time range is also a block range: bounding the
# block number (found with one probe of the time index) lets a scan start and stop in the right place
# instead of testing every event's time.
_FIRST_BLOCK_AT_OR_AFTER_TIME = (
    "(SELECT t.block_number FROM events t WHERE t.block_timestamp >= ? "
    "ORDER BY t.block_timestamp, t.block_number LIMIT 1)"
)
_LAST_BLOCK_AT_OR_BEFORE_TIME = (
    "(SELECT t.block_number FROM events t WHERE t.block_timestamp <= ? "
    "ORDER BY t.block_timestamp DESC, t.block_number DESC LIMIT 1)"
)


def _select(query: EventQuery) -> tuple[str, list[Any]]:
    """The SQL for one page of ``query``: filters, keyset position, order and limit + 1 (to see a next)."""
    refs = [
        (kind, value)
        for kind, value in (
            ("passport", query.passport_id),
            ("battery", query.battery_id_hash),
            ("actor", query.actor),
            ("root", query.root),
        )
        if value is not None
    ]
    where: list[str] = []
    params: list[Any] = []
    if refs:
        # Drive the scan from the most selective index we have (a reference), join the event rows, and
        # check any further references per candidate.
        first_kind, first_value = refs[0]
        from_sql = (
            "event_refs r JOIN events e ON e.block_number = r.block_number AND e.log_index = r.log_index"
        )
        where.append("r.kind = ? AND r.value = ?")
        params += [first_kind, first_value]
        key = ("r.block_number", "r.log_index")
        for kind, value in refs[1:]:
            where.append(
                "EXISTS (SELECT 1 FROM event_refs x WHERE x.kind = ? AND x.value = ? "
                "AND x.block_number = e.block_number AND x.log_index = e.log_index)"
            )
            params += [kind, value]
    else:
        from_sql = "events e"
        key = ("e.block_number", "e.log_index")
    if query.names:
        where.append(f"e.name IN ({', '.join('?' * len(query.names))})")
        params += list(query.names)
    if query.from_block is not None:
        where.append(f"{key[0]} >= ?")
        params.append(query.from_block)
    if query.to_block is not None:
        where.append(f"{key[0]} <= ?")
        params.append(query.to_block)
    if query.from_time is not None:
        where.append(f"{key[0]} >= {_FIRST_BLOCK_AT_OR_AFTER_TIME} AND e.block_timestamp >= ?")
        params += [query.from_time, query.from_time]
    if query.to_time is not None:
        where.append(f"{key[0]} <= {_LAST_BLOCK_AT_OR_BEFORE_TIME} AND e.block_timestamp <= ?")
        params += [query.to_time, query.to_time]
    direction = "DESC" if query.order == "desc" else "ASC"
    if query.after is not None:
        block, log_index = decode_page_token(query.after)
        where.append(f"({key[0]}, {key[1]}) {'<' if query.order == 'desc' else '>'} (?, ?)")
        params += [block, log_index]
    # Only fixed fragments from this function are interpolated; every value is a bound parameter.
    sql = f"SELECT {_EVENT_COLUMNS} FROM {from_sql}"  # noqa: S608
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {key[0]} {direction}, {key[1]} {direction} LIMIT ?"
    params.append(query.limit + 1)
    return sql, params
