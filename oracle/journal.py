"""The durable journal, the oracle's only state: an SQLite file (WAL, ``synchronous=FULL``) on one
machine, or the ``journal`` schema of a shared PostgreSQL database (``passport.db``) when ingestion runs
in several processes.

What lives here and why:

* ``devices`` — the device registry (device id → key address, battery id, last accepted sequence).
* ``uploads`` — every accepted upload's signed canonical body and signature, so an auditor can re-check
  the device's own signature over what was journaled; plus the acknowledgement that was returned, so a
  retransmitted upload gets the identical answer.
* ``records`` — one row per accepted reading: the record's canonical bytes, its digest, kind, battery,
  device and sequence, and the batch it was put in (``NULL`` while pending).
* ``rejections`` — readings that failed validation, with their reasons (nothing is dropped silently).
* ``batches`` — the anchoring state machine ``open → stored → sent → anchored → confirmed``; each
  transition is one committed transaction, so after a crash the pipeline resumes from the last state.

Durability rule: a caller acknowledges an upload only after ``transaction()`` has returned, i.e. after
``COMMIT`` — SQLite fsyncs the WAL on every commit (``synchronous=FULL``), PostgreSQL flushes its WAL
(``synchronous_commit=on``), so an acknowledged reading survives a process kill or power loss.

On SQLite one ``Journal`` holds one connection guarded by a lock (the API's threads may share it);
other processes open their own on the same file and ``BEGIN IMMEDIATE`` serialises writers. On
PostgreSQL each thread's transaction takes a pooled connection; ingestion processes serialise per
device (``lock_devices``: the device rows, locked in id order so two groups never deadlock), record
ids come from a sequence, and sealing claims records by id list, so the pipeline's invariants hold
with M ingestion processes and one anchoring leader (``leader``).

Schema: ``passport/db/migrations/journal/`` (one file per version and dialect).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_utils.address import is_address, to_checksum_address

from oracle.devices import DeviceRecord, upload_body, validate_device_id
from oracle.errors import BatchStateError, DeviceAlreadyRegistered, JournalError, RecordNotFound
from passport.db import Cursor, Database, LeaderLease, StorageError, open_database, open_sqlite
from passport.ids import validate_battery_id
from passport.model import AnchorKind
from passport.settings import Settings

BatchState = Literal["open", "stored", "sent", "anchored", "confirmed"]
RecordState = Literal["pending", "open", "stored", "sent", "anchored", "confirmed"]
BATCH_STATES: tuple[BatchState, ...] = ("open", "stored", "sent", "anchored", "confirmed")

COMPONENT = "journal"
CACHE_KIB = 64 * 1024  # SQLite page cache per connection
MMAP_BYTES = 256 * 1024 * 1024  # read-only memory map of the database file
# Speed only, no durability traded: the page cache and read-only memory map keep the B-trees (the
# UNIQUE index on random record digests touches a random leaf per record) in memory once the journal
# outgrows SQLite's 2 MiB default, and temp b-trees for sorts stay off disk. Writes still go through
# the WAL and its fsync on every COMMIT.
SQLITE_PRAGMAS = (f"cache_size={-CACHE_KIB}", "temp_store=MEMORY", f"mmap_size={MMAP_BYTES}")


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A validated reading about to be journaled (``canonical`` is the full record envelope)."""

    idx: int
    kind: AnchorKind
    observed_at: float
    canonical: bytes
    digest: bytes


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A journaled record and where it stands in anchoring."""

    id: int
    upload_id: int
    idx: int
    device_id: str
    seq: int
    battery_id: str
    kind: AnchorKind
    observed_at: float
    received_at: float
    canonical: bytes
    digest: bytes
    batch_id: int | None
    state: RecordState


@dataclass(frozen=True, slots=True)
class BatchHead:
    """One anchoring batch and its progress through the state machine, without its document."""

    id: int
    kind: AnchorKind
    state: BatchState
    created_at: float
    record_count: int
    root: bytes
    cid: str | None
    cid_digest: bytes | None
    tx_hash: bytes | None
    block_number: int | None
    block_hash: bytes | None
    confirmed_at: float | None
    attempts: int
    last_error: str | None
    reorgs: int
    updated_at: float


@dataclass(frozen=True, slots=True)
class BatchRow(BatchHead):
    """One anchoring batch with its document (the sealed bytes that go into the content store)."""

    document: bytes


@dataclass(frozen=True, slots=True)
class Gap:
    """Sequence numbers a device skipped: ``first..last`` were never received."""

    device_id: str
    first: int
    last: int
    detected_at: float


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """An accepted upload as journaled: the exact bytes and signature the device produced."""

    id: int
    device_id: str
    seq: int
    body: bytes
    body_digest: bytes
    signature: bytes
    received_at: float
    gap_before: int
    ack: str


# Fixed query heads; callers append constant WHERE/ORDER clauses and pass every value as a parameter.
_SELECT_RECORDS = (
    "SELECT r.id, r.upload_id, r.idx, r.device_id, r.seq, r.battery_id, r.kind, r.observed_at, "
    "r.received_at, r.canonical, r.digest, r.batch_id, COALESCE(b.state, 'pending') "
    "FROM records r LEFT JOIN batches b ON b.id = r.batch_id "
)
_SELECT_BATCH_HEADS = (
    "SELECT id, kind, state, created_at, record_count, root, cid, cid_digest, tx_hash, "
    "block_number, block_hash, confirmed_at, attempts, last_error, reorgs, updated_at FROM batches "
)
_SELECT_BATCHES = (
    "SELECT id, kind, state, created_at, record_count, root, cid, cid_digest, tx_hash, "
    "block_number, block_hash, confirmed_at, attempts, last_error, reorgs, updated_at, document FROM batches "
)


_SEAL_ATTEMPTS = 5


class _SealRaced(Exception):
    """Another connection sealed some of the records read for a batch (rolls the attempt back)."""


def _reading_of(canonical: bytes, seq: int) -> bytes:
    """The reading's bytes inside a record envelope (``oracle.ingestion.record_bytes``)."""
    start = canonical.index(b',"reading":') + len(b',"reading":')
    suffix = b',"seq":' + str(seq).encode() + b"}"
    if not canonical.endswith(suffix):
        raise JournalError("journaled record is not in its envelope")
    return canonical[start : -len(suffix)]


def _splice_body(
    device_id: str,
    battery_id: str,
    seq: int,
    indexes: Sequence[int],
    canonicals: Sequence[bytes],
    rejections: Sequence[tuple[int, bytes, str]],
) -> bytes:
    """An upload's signed body, rebuilt from its journaled records and rejections (in index order)."""
    readings = {i: _reading_of(c, seq) for i, c in zip(indexes, canonicals, strict=True)}
    readings.update((i, bytes(r)) for i, r, _ in rejections)
    return upload_body(device_id, battery_id, seq, [readings[i] for i in sorted(readings)])


def _record(row: tuple[Any, ...]) -> RecordRow:
    r = row
    return RecordRow(
        r[0], r[1], r[2], r[3], r[4], r[5], AnchorKind(r[6]), r[7], r[8], r[9], r[10], r[11], r[12]
    )


def _batch(row: tuple[Any, ...]) -> BatchRow:
    return BatchRow(row[0], AnchorKind(row[1]), *row[2:])


def _batch_head(row: tuple[Any, ...]) -> BatchHead:
    return BatchHead(row[0], AnchorKind(row[1]), *row[2:])


class Journal:
    """The oracle's durable journal on one ``passport.db`` store (see the module docstring)."""

    def __init__(self, store: str | Path | Database, *, clock: Callable[[], float] = time.time) -> None:
        """``store``: an SQLite file path (opened here) or an open ``Database`` (which this closes)."""
        self._clock = clock
        self._tx = threading.local()
        try:
            if isinstance(store, str | Path):
                store = open_sqlite(store, COMPONENT, pragmas=SQLITE_PRAGMAS)
        except StorageError as exc:
            raise JournalError(f"cannot open journal {store}: {exc}") from exc
        self._db: Database = store
        #: The SQLite file (None on PostgreSQL).
        self.path: Path | None = getattr(store, "path", None) if store.dialect == "sqlite" else None

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], float] = time.time) -> Journal:
        """The journal the settings name: ``settings.journal_path``, or PostgreSQL's ``journal`` schema."""
        try:
            db = open_database(settings, COMPONENT, settings.journal_path, pragmas=SQLITE_PRAGMAS)
        except StorageError as exc:
            raise JournalError(f"cannot open the journal: {exc}") from exc
        return cls(db, clock=clock)

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @property
    def location(self) -> str:
        """Where the journal lives: the SQLite file, or the PostgreSQL store (for logs and tests)."""
        return repr(self._db)

    def reopen(self) -> Journal:
        """Another ``Journal`` on the same store, with its own connections (as another process opens it)."""
        try:
            return Journal(self._db.reopen(), clock=self._clock)
        except StorageError as exc:
            raise JournalError(f"cannot reopen the journal: {exc}") from exc

    def leader(self, name: str) -> LeaderLease | None:
        """Become the one ``name`` leader (sealing and anchoring) across processes, or None."""
        try:
            return self._db.leader(name)
        except StorageError as exc:
            raise JournalError(f"cannot take the {name} lease: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def now(self) -> float:
        return self._clock()

    @property
    def _depth(self) -> int:
        return int(getattr(self._tx, "depth", 0))

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One write transaction; nested uses (same thread) join the outer one.

        When the outermost ``with`` block exits normally the data is committed and durable; on an
        exception everything since ``BEGIN`` is rolled back. Storage failures leave as ``JournalError``.
        """
        depth = self._depth
        if depth:
            self._tx.depth = depth + 1
            try:
                yield self._tx.cursor
            finally:
                self._tx.depth = depth
            return
        try:
            with self._db.transaction() as cursor:
                self._tx.depth, self._tx.cursor = 1, cursor
                try:
                    yield cursor
                finally:
                    self._tx.depth, self._tx.cursor = 0, None
        except StorageError as exc:
            raise JournalError(f"journal transaction failed: {exc}") from exc

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.query(sql, params)
        except StorageError as exc:
            raise JournalError(f"journal read failed: {exc}") from exc

    def lock_devices(self, device_ids: Sequence[str]) -> None:
        """Inside ``transaction()``: hold these devices' rows until COMMIT (PostgreSQL), so two ingestion
        processes never both accept one device's next sequence number. Sorted, so concurrent groups lock
        in one order and cannot deadlock. SQLite's ``BEGIN IMMEDIATE`` already serialises all writers."""
        if not self._depth:
            raise JournalError("lock_devices must run inside Journal.transaction()")
        if self._db.dialect == "postgresql" and device_ids:
            self._tx.cursor.execute(
                "SELECT device_id FROM devices WHERE device_id = ANY(?) ORDER BY device_id FOR UPDATE",
                (sorted(set(device_ids)),),
            ).fetchall()

    # -- devices -----------------------------------------------------------------------------------

    def register_device(self, device_id: str, address: str, battery_id: str) -> DeviceRecord:
        """Register a device for one battery; idempotent for the same key and battery.

        Re-registering with another key or battery raises ``DeviceAlreadyRegistered``: a device that
        moves to another battery (or is re-keyed) gets a new device id, so every accepted upload stays
        attributable to exactly one key and one battery.
        """
        validate_device_id(device_id)
        validate_battery_id(battery_id)
        if not is_address(address):
            raise ValueError(f"invalid device address {address!r}")
        checksummed = to_checksum_address(address)
        with self.transaction() as conn:
            existing = self.device(device_id)
            if existing is not None:
                if existing.address != checksummed or existing.battery_id != battery_id:
                    raise DeviceAlreadyRegistered(
                        f"device {device_id} is registered as {existing.address} for {existing.battery_id}"
                    )
                return existing
            conn.execute(
                "INSERT INTO devices (device_id, address, battery_id, registered_at) VALUES (?, ?, ?, ?)",
                (device_id, checksummed, battery_id, self.now()),
            )
        device = self.device(device_id)
        assert device is not None  # just inserted inside the same lock
        return device

    def deactivate_device(self, device_id: str) -> None:
        """Stop accepting uploads from ``device_id`` (lost or compromised key); its history stays."""
        with self.transaction() as conn:
            conn.execute("UPDATE devices SET active = 0 WHERE device_id = ?", (device_id,))

    def device(self, device_id: str) -> DeviceRecord | None:
        rows = self._query(
            "SELECT device_id, address, battery_id, registered_at, active, last_seq FROM devices "
            "WHERE device_id = ?",
            (device_id,),
        )
        if not rows:
            return None
        d = rows[0]
        return DeviceRecord(str(d[0]), str(d[1]), str(d[2]), float(d[3]), bool(d[4]), int(d[5]))

    def devices(self) -> list[DeviceRecord]:
        ids = self._query("SELECT device_id FROM devices ORDER BY device_id")
        return [d for (device_id,) in ids if (d := self.device(str(device_id))) is not None]

    # -- uploads and records (called by oracle.ingestion inside one transaction) -----------------------

    def upload_at(self, device_id: str, seq: int) -> StoredUpload | None:
        """The accepted upload ``device_id``#``seq``, its signed body spliced back from its readings."""
        try:
            with self._db.read() as cur:  # one snapshot: the upload and its readings together
                rows = cur.execute(
                    "SELECT id, device_id, seq, body, body_digest, signature, received_at, gap_before, ack "
                    "FROM uploads WHERE device_id = ? AND seq = ?",
                    (device_id, seq),
                ).fetchall()
                if not rows:
                    return None
                upload = StoredUpload(*rows[0])
                if upload.body:
                    return upload  # journaled whole (by a version that kept bodies)
                records = cur.execute(
                    "SELECT idx, battery_id, canonical FROM records WHERE upload_id = ? ORDER BY idx",
                    (upload.id,),
                ).fetchall()
                rejected = cur.execute(
                    "SELECT idx, reading, problems FROM rejections WHERE upload_id = ? ORDER BY idx",
                    (upload.id,),
                ).fetchall()
        except StorageError as exc:
            raise JournalError(f"journal read failed: {exc}") from exc
        battery_id = str(records[0][1]) if records else self._battery_of(device_id)
        body = _splice_body(
            device_id,
            battery_id,
            seq,
            [int(i) for i, _, _ in records],
            [bytes(c) for _, _, c in records],
            [(int(i), bytes(r), str(p)) for i, r, p in rejected],
        )
        return dataclasses.replace(upload, body=body)

    def _battery_of(self, device_id: str) -> str:
        rows = self._query("SELECT battery_id FROM devices WHERE device_id = ?", (device_id,))
        if not rows:
            raise JournalError(f"upload of unknown device {device_id}")
        return str(rows[0][0])

    def insert_upload(
        self,
        device_id: str,
        seq: int,
        battery_id: str,
        body: bytes,
        body_digest: bytes,
        signature: bytes,
        gap_before: int,
        records: Sequence[NewRecord],
        rejections: Sequence[tuple[int, bytes, str]],
        make_ack: Callable[[list[int], float], str],
    ) -> str:
        """Journal one accepted upload, its records and rejections, and advance the device's sequence.

        ``make_ack(record_ids, received_at)`` builds the acknowledgement (stored with the upload so a
        retransmission gets the same answer). Must run inside ``transaction()``; returns the ack.
        """
        if not self._depth:
            raise JournalError("insert_upload must run inside Journal.transaction()")
        conn: Cursor = self._tx.cursor
        received_at = self.now()
        ids = self._new_record_ids(conn, len(records))
        # The ack is built before the upload row is written (the record ids are fixed first), so the
        # row is written once, not inserted and then updated.
        ack = make_ack(ids, received_at)
        # The body is NOT stored: every reading's bytes are already in ``records`` (accepted) or
        # ``rejections`` (refused), and ``upload_at`` splices the exact signed body back from them.
        # A body whose readings are not each journaled once (none today) is kept whole.
        indexes = sorted([r.idx for r in records] + [i for i, _, _ in rejections])
        kept = b"" if indexes and indexes == list(range(len(indexes))) else body
        upload_id = conn.insert(
            "INSERT INTO uploads (device_id, seq, body_digest, body, signature, received_at, gap_before, "
            "ack) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (device_id, seq, body_digest, kept, signature, received_at, gap_before, ack),
        )
        conn.executemany(
            "INSERT INTO records (id, upload_id, idx, device_id, seq, battery_id, kind, observed_at, "
            "received_at, canonical, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    ids[n],
                    upload_id,
                    r.idx,
                    device_id,
                    seq,
                    battery_id,
                    int(r.kind),
                    r.observed_at,
                    received_at,
                    r.canonical,
                    r.digest,
                )
                for n, r in enumerate(records)
            ],
        )
        if rejections:
            conn.executemany(
                "INSERT INTO rejections (upload_id, idx, reading, problems) VALUES (?, ?, ?, ?)",
                [(upload_id, idx, reading, problems) for idx, reading, problems in rejections],
            )
        conn.execute("UPDATE devices SET last_seq = ? WHERE device_id = ?", (seq, device_id))
        return ack

    def _new_record_ids(self, conn: Cursor, count: int) -> list[int]:
        """Ids for ``count`` new records. SQLite: ``MAX(id)`` + 1… under the one write lock, so ids grow
        in commit order (sealing claims by id range). PostgreSQL: reserved from the sequence, which
        concurrent ingestion processes share (ids need not commit in order; sealing claims by id list)."""
        if not count:
            return []
        if conn.dialect == "postgresql":
            rows = conn.execute("SELECT nextval('records_id_seq') FROM generate_series(1, ?)", (count,))
            return sorted(int(r[0]) for r in rows.fetchall())
        first = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM records").fetchone()[0]) + 1  # type: ignore[index]
        return [first + n for n in range(count)]

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """Every sequence gap recorded (optionally for one device), oldest first."""
        sql = "SELECT device_id, seq, gap_before, received_at FROM uploads WHERE gap_before > 0"
        params: tuple[object, ...] = ()
        if device_id is not None:
            sql += " AND device_id = ?"
            params = (device_id,)
        rows = self._query(sql + " ORDER BY id", params)
        return [Gap(str(d), int(s) - int(g), int(s) - 1, float(t)) for d, s, g, t in rows]

    def rejections(self, device_id: str, seq: int) -> list[tuple[int, bytes, str]]:
        """``(index, reading bytes, problems JSON)`` for each rejected reading of one upload."""
        rows = self._query(
            "SELECT j.idx, j.reading, j.problems FROM rejections j JOIN uploads u ON u.id = j.upload_id "
            "WHERE u.device_id = ? AND u.seq = ? ORDER BY j.idx",
            (device_id, seq),
        )
        return [(int(i), bytes(r), str(p)) for i, r, p in rows]

    def record(self, record_id: int) -> RecordRow:
        rows = self._query(_SELECT_RECORDS + "WHERE r.id = ?", (record_id,))
        if not rows:
            raise RecordNotFound(f"no journaled record {record_id}")
        return _record(rows[0])

    def record_by_digest(self, digest: bytes) -> RecordRow:
        rows = self._query(_SELECT_RECORDS + "WHERE r.digest = ?", (digest,))
        if not rows:
            raise RecordNotFound(f"no journaled record with digest 0x{digest.hex()}")
        return _record(rows[0])

    def records_of_battery(self, battery_id: str, kind: AnchorKind | None = None) -> list[RecordRow]:
        """A battery's journaled records (anchored or not), oldest observation first."""
        sql = _SELECT_RECORDS + "WHERE r.battery_id = ?"
        params: list[object] = [battery_id]
        if kind is not None:
            sql += " AND r.kind = ?"
            params.append(int(kind))
        return [_record(row) for row in self._query(sql + " ORDER BY r.observed_at, r.id", params)]

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only statement (fixed SQL, values as parameters) for a module built on the
        journal (``oracle.device_registry``); ``JournalError`` if it fails."""
        return self._query(sql, params)

    def ping(self) -> None:
        """Read one page of the journal; ``JournalError`` if it cannot be read (readiness probes)."""
        self._query("SELECT 1 FROM records LIMIT 1")

    def record_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM records")[0][0])

    # -- batches -----------------------------------------------------------------------------------

    def pending(self) -> dict[AnchorKind, tuple[int, float]]:
        """Per kind: how many records wait for a batch, and when the oldest of them was received."""
        rows = self._query(
            "SELECT kind, COUNT(*), MIN(received_at) FROM records WHERE batch_id IS NULL GROUP BY kind"
        )
        return {AnchorKind(k): (int(n), float(t)) for k, n, t in rows}

    def open_batch(
        self,
        kind: AnchorKind,
        max_records: int,
        build: Callable[[list[RecordRow], float], tuple[bytes, bytes]],
    ) -> BatchRow | None:
        """Seal up to ``max_records`` pending records of ``kind`` (oldest first) into a new batch.

        ``build(records, created_at)`` returns ``(merkle root, bytes to store)``, the sealed batch
        document; it is kept here so a restarted pipeline stores exactly the same bytes (and so gets the
        same CID): sealing is randomised, so it must never be redone for a batch.
        Returns None when nothing is pending.
        """
        for _ in range(_SEAL_ATTEMPTS):
            # Read and build OUTSIDE the write lock (the Merkle tree, the document and its encryption
            # are the slow part), so ingestion's commits are not held up behind them; then claim the
            # records by id range in one short write transaction, which re-checks they are still
            # pending. Records committed after this read have larger ids than any read here (ids come
            # from MAX(id) under the write lock), so the range holds exactly the records read, unless
            # another sealer took some: then nothing is written and this seals again from a new read.
            rows = self._query(
                _SELECT_RECORDS + "WHERE r.batch_id IS NULL AND r.kind = ? ORDER BY r.id LIMIT ?",
                (int(kind), max_records),
            )
            if not rows:
                return None
            records = [_record(row) for row in rows]
            created_at = self.now()
            root, document = build(records, created_at)
            try:
                with self.transaction() as conn:
                    batch_id = conn.insert(
                        "INSERT INTO batches (kind, state, created_at, record_count, root, document, "
                        "updated_at) VALUES (?, 'open', ?, ?, ?, ?, ?)",
                        (int(kind), created_at, len(records), root, document, created_at),
                    )
                    # One statement over the pending index, not one per record: by id range on SQLite
                    # (ids grow in commit order there), by id list on PostgreSQL (they need not).
                    if conn.dialect == "postgresql":
                        claimed = conn.execute(
                            "UPDATE records SET batch_id = ? WHERE batch_id IS NULL AND kind = ? "
                            "AND id = ANY(?)",
                            (batch_id, int(kind), [r.id for r in records]),
                        ).rowcount
                    else:
                        claimed = conn.execute(
                            "UPDATE records SET batch_id = ? WHERE batch_id IS NULL AND kind = ? "
                            "AND id BETWEEN ? AND ?",
                            (batch_id, int(kind), records[0].id, records[-1].id),
                        ).rowcount
                    if claimed != len(records):
                        raise _SealRaced
                    conn.executemany(
                        "INSERT INTO batch_batteries (battery_id, batch_id) VALUES (?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [(battery, batch_id) for battery in sorted({r.battery_id for r in records})],
                    )
            except _SealRaced:
                continue  # rolled back: nothing of this attempt is journaled
            return self.batch(batch_id)
        raise JournalError(f"could not seal a {kind.name} batch: other sealers kept taking its records")

    def batch(self, batch_id: int) -> BatchRow:
        rows = self._query(_SELECT_BATCHES + "WHERE id = ?", (batch_id,))
        if not rows:
            raise RecordNotFound(f"no batch {batch_id}")
        return _batch(rows[0])

    def batches(self, states: Sequence[BatchState] = BATCH_STATES) -> list[BatchRow]:
        marks = ",".join("?" for _ in states)
        rows = self._query(_SELECT_BATCHES + f"WHERE state IN ({marks}) ORDER BY id", states)
        return [_batch(row) for row in rows]

    def batch_heads(
        self, states: Sequence[BatchState] = BATCH_STATES, *, min_block: int | None = None
    ) -> list[BatchHead]:
        """Batches in ``states`` without their documents, oldest first.

        With ``min_block``, only those anchored at or above that height (batches without a block never
        match): the anchoring worker asks this on every run, and it must not read the whole history.
        """
        marks = ",".join("?" for _ in states)
        sql = _SELECT_BATCH_HEADS + f"WHERE state IN ({marks})"
        params: list[object] = [*states]
        if min_block is not None:
            sql += " AND block_number >= ?"
            params.append(min_block)
        return [_batch_head(row) for row in self._query(sql + " ORDER BY id", params)]

    def has_batches(self, states: Sequence[BatchState]) -> bool:
        """Whether any batch is in one of ``states``."""
        marks = ",".join("?" for _ in states)
        sql = f"SELECT EXISTS (SELECT 1 FROM batches WHERE state IN ({marks}))"  # noqa: S608 — fixed SQL
        return bool(self._query(sql, states)[0][0])

    def batch_document(self, batch_id: int) -> bytes:
        """The (sealed) batch document's bytes, as fixed when the batch was sealed."""
        rows = self._query("SELECT document FROM batches WHERE id = ?", (batch_id,))
        if not rows:
            raise RecordNotFound(f"no batch {batch_id}")
        return bytes(rows[0][0])

    def reseal_open_batch(self, batch_id: int, document: bytes) -> BatchRow:
        """Replace the document of a batch still ``open`` (never stored), e.g. to seal one kept in clear.

        Committed before the document is stored, so a restart stores these bytes, never the old ones.
        """
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE batches SET document = ?, updated_at = ? WHERE id = ? AND state = 'open'",
                (document, self.now(), batch_id),
            )
            if cursor.rowcount != 1:
                raise BatchStateError(f"batch {batch_id} is not open: its stored document cannot change")
        return self.batch(batch_id)

    def batch_records(self, batch_id: int) -> list[RecordRow]:
        rows = self._query(_SELECT_RECORDS + "WHERE r.batch_id = ? ORDER BY r.id", (batch_id,))
        return [_record(row) for row in rows]

    def batches_of_battery(self, battery_id: str) -> list[BatchRow]:
        rows = self._query(
            _SELECT_BATCHES
            + "JOIN batch_batteries bb ON bb.batch_id = id WHERE bb.battery_id = ? ORDER BY id",
            (battery_id,),
        )
        return [_batch(row) for row in rows]

    def _transition(
        self, batch_id: int, allowed: Sequence[BatchState], sets: str, params: Sequence[object]
    ) -> BatchRow:
        marks = ",".join("?" for _ in allowed)
        with self.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE batches SET {sets}, attempts = 0, last_error = NULL, updated_at = ? "  # noqa: S608 — fixed SQL
                f"WHERE id = ? AND state IN ({marks})",
                (*params, self.now(), batch_id, *allowed),
            )
            if cursor.rowcount != 1:
                state = conn.execute("SELECT state FROM batches WHERE id = ?", (batch_id,)).fetchone()
                raise BatchStateError(
                    f"batch {batch_id} is {state[0] if state else 'missing'}, expected one of {list(allowed)}"
                )
        return self.batch(batch_id)

    def mark_stored(self, batch_id: int, cid: str, cid_digest: bytes) -> BatchRow:
        """open → stored: the batch document is in the content store under ``cid``."""
        return self._transition(
            batch_id, ("open",), "state = 'stored', cid = ?, cid_digest = ?", (cid, cid_digest)
        )

    def mark_sent(
        self, batch_id: int, tx_hash: bytes | None, block_number: int, block_hash: bytes
    ) -> BatchRow:
        """stored → sent: the anchoring transaction is mined (``tx_hash`` None if recovered without it)."""
        return self._transition(
            batch_id,
            ("stored",),
            "state = 'sent', tx_hash = ?, block_number = ?, block_hash = ?",
            (tx_hash, block_number, block_hash),
        )

    def mark_anchored(
        self, batch_id: int, block_number: int, block_hash: bytes, tx_hash: bytes | None
    ) -> BatchRow:
        """sent → anchored: the registry's ``getAnchor(root)`` was read back and matches the batch."""
        return self._transition(
            batch_id,
            ("sent",),
            "state = 'anchored', block_number = ?, block_hash = ?, tx_hash = COALESCE(?, tx_hash)",
            (block_number, block_hash, tx_hash),
        )

    def mark_anchored_many(
        self, batch_ids: Sequence[int], tx_hash: bytes, block_number: int, block_hash: bytes
    ) -> None:
        """stored → anchored for the batches one mined ``anchorBatches`` transaction anchored.

        The receipt (status 1, one ``BatchAnchored`` per root, decoded from the registry's address) is the
        read-back: it shows the registry recorded each root in that block. One committed transaction for
        all of them; ``BatchStateError`` (nothing changed) if any is not ``stored``.
        """
        now = self.now()
        with self.transaction() as conn:
            for batch_id in batch_ids:
                cursor = conn.execute(
                    "UPDATE batches SET state = 'anchored', tx_hash = ?, block_number = ?, block_hash = ?, "
                    "attempts = 0, last_error = NULL, updated_at = ? WHERE id = ? AND state = 'stored'",
                    (tx_hash, block_number, block_hash, now, batch_id),
                )
                if cursor.rowcount != 1:
                    raise BatchStateError(f"batch {batch_id} is not stored: it cannot be marked anchored")

    def mark_confirmed_many(self, batch_ids: Sequence[int]) -> None:
        """anchored → confirmed for several batches in one committed transaction (all or none)."""
        now = self.now()
        with self.transaction() as conn:
            for batch_id in batch_ids:
                cursor = conn.execute(
                    "UPDATE batches SET state = 'confirmed', confirmed_at = ?, attempts = 0, "
                    "last_error = NULL, "
                    "updated_at = ? WHERE id = ? AND state = 'anchored'",
                    (now, now, batch_id),
                )
                if cursor.rowcount != 1:
                    raise BatchStateError(f"batch {batch_id} is not anchored: it cannot be confirmed")

    def mark_confirmed(self, batch_id: int) -> BatchRow:
        """anchored → confirmed: the anchor's block is buried under the configured confirmation depth."""
        return self._transition(
            batch_id, ("anchored",), "state = 'confirmed', confirmed_at = ?", (self.now(),)
        )

    def mark_dropped(self, batch_id: int) -> BatchRow:
        """sent/anchored/confirmed → stored: a reorg dropped the anchor, so it must be sent again."""
        return self._transition(
            batch_id,
            ("sent", "anchored", "confirmed"),
            "state = 'stored', tx_hash = NULL, block_number = NULL, block_hash = NULL, confirmed_at = NULL, "
            "reorgs = reorgs + 1",
            (),
        )

    def record_failure(self, batch_id: int, error: str) -> None:
        """Note a failed attempt on a batch (its state is unchanged; the pipeline will retry)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                (error[:1000], self.now(), batch_id),
            )
