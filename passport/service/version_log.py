"""``VersionLog``: the passport service's durable record of every version it signed and anchored.

The ledger keeps each version's manifest digest, but not the EIP-712 signature nor the receipt of the
transaction that wrote it, and a verification bundle needs both. So the service writes one row per
version here, in two steps:

1. **pending**, before the transaction is sent: the signature, signer and manifest are known then, and
   ``sent_from_block`` (the head before sending) bounds where the transaction can land;
2. **anchored**, once the receipt is in: transaction hash, block number and block hash.

A crash between the two leaves a pending row, which ``PassportService.bundle`` completes later by finding
the transaction among the ledger's events from ``sent_from_block`` on. A transaction the ledger refused
(a revert) has its pending row removed.

Rows are keyed by chain, registry, passport, version *and* manifest digest: a development chain that is
reset (or a test snapshot reverted) can see the same passport version written again with other content,
and the old row must neither be overwritten blindly nor be mistaken for the new one. Readers always look a
version up together with the digest the ledger holds for it.

One SQLite file in WAL mode (readers do not block the writer), or the ``versions`` schema of PostgreSQL
when ``PASSPORT_DATABASE_URL`` is set (migrations in ``passport/db/migrations/versions``); byte values
are lowercase ``0x``-hex text so the file can be read with the ``sqlite3`` shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from passport.chain.records import TxReceipt
from passport.db import Database, StorageError, open_database, open_sqlite
from passport.errors import VersionLogError
from passport.model import LifecycleStatus
from passport.settings import Settings

SCHEMA_VERSION: Final = 1
#: The database component (PostgreSQL schema, migrations folder) of the version log.
COMPONENT: Final = "versions"

_COLUMNS = (
    "chain_id, registry, passport_id, version, manifest_digest, manifest_cid, status, predecessor, "
    "signature, signer, sent_from_block, tx_hash, block_number, block_hash, recorded_at"
)
# Built from the constant column list only; every value goes through a ``?`` parameter.
_KEY_COLUMNS = "chain_id, registry, passport_id, version, manifest_digest"
_INSERT = (
    f"INSERT INTO versions ({_COLUMNS}) VALUES ({', '.join('?' * 15)}) "  # noqa: S608
    f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET "
    + ", ".join(
        f"{column} = excluded.{column}"
        for column in _COLUMNS.replace(" ", "").split(",")
        if column not in _KEY_COLUMNS.replace(" ", "").split(",")
    )
)
_KEY = "chain_id = ? AND registry = ? AND passport_id = ? AND version = ? AND manifest_digest = ?"
_ANCHOR = f"UPDATE versions SET tx_hash = ?, block_number = ?, block_hash = ? WHERE {_KEY}"  # noqa: S608
_DISCARD = f"DELETE FROM versions WHERE {_KEY} AND tx_hash IS NULL"  # noqa: S608
_SELECT = f"SELECT {_COLUMNS} FROM versions WHERE chain_id = ? AND registry = ? AND passport_id = ?"  # noqa: S608


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@dataclass(frozen=True, slots=True)
class Anchor:
    """The transaction that wrote a version: from its receipt, or found later among the ledger's events."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes

    @classmethod
    def of(cls, receipt: TxReceipt) -> Anchor:
        return cls(receipt.tx_hash, receipt.block_number, receipt.block_hash)


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One passport version as this service wrote it; the receipt fields are None while pending."""

    chain_id: int
    registry: str
    passport_id: bytes
    version: int
    manifest_digest: bytes
    manifest_cid: str
    status: LifecycleStatus
    predecessor: bytes
    signature: bytes
    signer: str
    sent_from_block: int
    tx_hash: bytes | None = None
    block_number: int | None = None
    block_hash: bytes | None = None
    recorded_at: datetime | None = None

    @property
    def anchor(self) -> Anchor | None:
        """The transaction that wrote this version, once recorded; None while pending."""
        if self.tx_hash is None or self.block_number is None or self.block_hash is None:
            return None
        return Anchor(self.tx_hash, self.block_number, self.block_hash)

    def with_anchor(self, anchor: Anchor) -> VersionRecord:
        return VersionRecord(
            chain_id=self.chain_id,
            registry=self.registry,
            passport_id=self.passport_id,
            version=self.version,
            manifest_digest=self.manifest_digest,
            manifest_cid=self.manifest_cid,
            status=self.status,
            predecessor=self.predecessor,
            signature=self.signature,
            signer=self.signer,
            sent_from_block=self.sent_from_block,
            tx_hash=anchor.tx_hash,
            block_number=anchor.block_number,
            block_hash=anchor.block_hash,
            recorded_at=self.recorded_at,
        )


def _record(row: tuple[Any, ...]) -> VersionRecord:
    (
        chain_id,
        registry,
        passport_id,
        version,
        manifest_digest,
        manifest_cid,
        status,
        predecessor,
        signature,
        signer,
        sent_from_block,
        tx_hash,
        block_number,
        block_hash,
        recorded_at,
    ) = row
    return VersionRecord(
        chain_id=int(chain_id),
        registry=str(registry),
        passport_id=_unhex(passport_id),
        version=int(version),
        manifest_digest=_unhex(manifest_digest),
        manifest_cid=str(manifest_cid),
        status=LifecycleStatus(status),
        predecessor=_unhex(predecessor),
        signature=_unhex(signature),
        signer=str(signer),
        sent_from_block=int(sent_from_block),
        tx_hash=None if tx_hash is None else _unhex(tx_hash),
        block_number=None if block_number is None else int(block_number),
        block_hash=None if block_hash is None else _unhex(block_hash),
        recorded_at=datetime.fromisoformat(recorded_at),
    )


class VersionLog:
    """The version log: one SQLite file, or a PostgreSQL schema; safe to share between threads."""

    def __init__(self, database: Database | Path | str) -> None:
        """``database``: an open database (its ``versions`` migrations applied), or a SQLite file path."""
        #: The SQLite file (None on PostgreSQL).
        self.path = Path(database) if isinstance(database, Path | str) else None
        self._where = str(self.path) if self.path is not None else f"{database!r}"
        try:
            # synchronous=FULL (the layer's default): a row is on disk before the transaction it describes
            # is sent.
            self._db = open_sqlite(database, COMPONENT) if isinstance(database, Path | str) else database
            found = self._db.query("SELECT value FROM meta WHERE key = 'schema'")
            if not found:
                with self._db.transaction() as cur:
                    cur.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT DO NOTHING",
                        (str(SCHEMA_VERSION),),
                    )
            elif found[0][0] != str(SCHEMA_VERSION):
                self._db.close()
                raise VersionLogError(
                    f"{self._where} has version log schema {found[0][0]}; this code reads {SCHEMA_VERSION}"
                )
        except StorageError as exc:
            raise VersionLogError(f"cannot open the version log {self._where}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> VersionLog:
        """The log at ``Settings.version_log_path``, or in PostgreSQL when ``database_url`` is set."""
        if settings.database_url is None:
            return cls(settings.version_log_path)
        try:
            return cls(open_database(settings, COMPONENT, settings.version_log_path))
        except StorageError as exc:
            raise VersionLogError(f"cannot open the version log: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------------

    def record_pending(self, record: VersionRecord) -> None:
        """Store ``record`` before its transaction is sent (replacing a row for the same content)."""
        self._write(_INSERT, self._row(record))

    def record_pending_many(self, records: Sequence[VersionRecord]) -> None:
        """``record_pending`` for every record, in one transaction (one fsync for a batch)."""
        self._write_many(_INSERT, [self._row(record) for record in records])

    def record_anchor_many(self, records: Sequence[VersionRecord], anchor: Anchor) -> None:
        """``record_anchor`` for every record of one transaction, in one transaction."""
        self._write_many(
            _ANCHOR,
            [
                (_hex(anchor.tx_hash), anchor.block_number, _hex(anchor.block_hash), *self._key(r))
                for r in records
            ],
        )

    def record_anchors(self, anchored: Sequence[tuple[VersionRecord, Anchor]]) -> None:
        """``record_anchor`` for each record with its own transaction, in one SQLite transaction."""
        self._write_many(
            _ANCHOR,
            [
                (_hex(anchor.tx_hash), anchor.block_number, _hex(anchor.block_hash), *self._key(r))
                for r, anchor in anchored
            ],
        )

    def discard_many(self, records: Sequence[VersionRecord]) -> None:
        """``discard`` for every record of a refused batch, in one transaction."""
        self._write_many(_DISCARD, [self._key(record) for record in records])

    @staticmethod
    def _row(record: VersionRecord) -> tuple[object, ...]:
        return (
            record.chain_id,
            record.registry,
            _hex(record.passport_id),
            record.version,
            _hex(record.manifest_digest),
            record.manifest_cid,
            int(record.status),
            _hex(record.predecessor),
            _hex(record.signature),
            record.signer,
            record.sent_from_block,
            None if record.tx_hash is None else _hex(record.tx_hash),
            record.block_number,
            None if record.block_hash is None else _hex(record.block_hash),
            datetime.now(UTC).isoformat(),
        )

    def record_anchor(self, record: VersionRecord, anchor: Anchor) -> None:
        """Mark ``record`` as anchored by the transaction ``anchor`` names."""
        self._write(
            _ANCHOR,
            (
                _hex(anchor.tx_hash),
                anchor.block_number,
                _hex(anchor.block_hash),
                *self._key(record),
            ),
        )

    def discard(self, record: VersionRecord) -> None:
        """Forget a pending record whose transaction the ledger refused."""
        self._write(_DISCARD, self._key(record))

    # -- reading ------------------------------------------------------------------------------------

    def get(
        self, chain_id: int, registry: str, passport_id: bytes, version: int, manifest_digest: bytes
    ) -> VersionRecord | None:
        """The record of exactly this version and content, or None."""
        rows = self._read(
            _SELECT + " AND version = ? AND manifest_digest = ?",
            (chain_id, registry, _hex(passport_id), version, _hex(manifest_digest)),
        )
        return _record(rows[0]) if rows else None

    def for_passport(self, chain_id: int, registry: str, passport_id: bytes) -> list[VersionRecord]:
        """Every record of a passport on one ledger, by version (several per version after a reset)."""
        rows = self._read(
            _SELECT + " ORDER BY version, recorded_at",
            (chain_id, registry, _hex(passport_id)),
        )
        return [_record(row) for row in rows]

    # -- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _key(record: VersionRecord) -> tuple[int, str, str, int, str]:
        return (
            record.chain_id,
            record.registry,
            _hex(record.passport_id),
            record.version,
            _hex(record.manifest_digest),
        )

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._write_many(sql, [params])

    def _write_many(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        try:
            with self._db.transaction() as cur:
                cur.executemany(sql, rows)
        except StorageError as exc:
            raise VersionLogError(f"cannot write the version log {self._where}: {exc}") from exc

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.query(sql, params)
        except StorageError as exc:
            raise VersionLogError(f"cannot read the version log {self._where}: {exc}") from exc
