"""``VersionLog``: pending → anchored rows, lookups by version *and* digest, durability across reopen; on
SQLite and PostgreSQL (``database_url``) alike, plus what is particular to the SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from passport.chain.records import TxReceipt
from passport.errors import VersionLogError
from passport.ids import ZERO32
from passport.model import LifecycleStatus
from passport.service import Anchor, VersionLog, VersionRecord
from passport.settings import Settings

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PID = b"\x00" * 16 + b"\x11" * 16


def pending(version: int = 1, digest: bytes = b"\x22" * 32) -> VersionRecord:
    return VersionRecord(
        chain_id=31337,
        registry=REGISTRY,
        passport_id=PID,
        version=version,
        manifest_digest=digest,
        manifest_cid="bafkreitest",
        status=LifecycleStatus.ORIGINAL,
        predecessor=ZERO32,
        signature=b"\x01" * 65,
        signer="0x" + "ab" * 20,
        sent_from_block=7,
    )


RECEIPT = TxReceipt(tx_hash=b"\x33" * 32, block_number=8, block_hash=b"\x44" * 32, gas_used=21_000)


def test_pending_then_anchored_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite3"
    with VersionLog(path) as log:
        log.record_pending(pending())
        stored = log.get(31337, REGISTRY, PID, 1, b"\x22" * 32)
        assert stored is not None
        assert stored.anchor is None
        log.record_anchor(stored, Anchor.of(RECEIPT))

    with VersionLog(path) as log:
        [record] = log.for_passport(31337, REGISTRY, PID)
    assert record.anchor == Anchor(b"\x33" * 32, 8, b"\x44" * 32)
    assert (record.signature, record.status, record.sent_from_block) == (
        b"\x01" * 65,
        LifecycleStatus.ORIGINAL,
        7,
    )
    assert record.recorded_at is not None
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def test_pending_then_anchored_survives_reopen_on_either_backend(settings: Settings) -> None:
    with VersionLog.from_settings(settings) as log:
        log.record_pending_many([pending(1), pending(2)])
        stored = log.get(31337, REGISTRY, PID, 2, b"\x22" * 32)
        assert stored is not None
        assert stored.anchor is None
        log.record_anchor_many([pending(1), stored], Anchor.of(RECEIPT))
        log.record_pending(pending(3))
        log.discard_many([pending(3)])
    with VersionLog.from_settings(settings) as log:
        records = log.for_passport(31337, REGISTRY, PID)
    assert [(r.version, r.anchor) for r in records] == [(1, Anchor.of(RECEIPT)), (2, Anchor.of(RECEIPT))]
    assert records[0].signature == b"\x01" * 65
    assert records[0].status is LifecycleStatus.ORIGINAL


def test_recording_the_same_content_again_replaces_its_row(settings: Settings) -> None:
    with VersionLog.from_settings(settings) as log:
        log.record_pending(pending())
        log.record_anchor(pending(), Anchor.of(RECEIPT))
        # A retried send of the same version and content: the row is pending again, not duplicated.
        log.record_pending(pending())
        [record] = log.for_passport(31337, REGISTRY, PID)
        assert record.anchor is None


def test_lookup_needs_the_digest_the_ledger_holds(settings: Settings) -> None:
    # After a chain reset the same version can hold other content: both rows stay, keyed by digest.
    with VersionLog.from_settings(settings) as log:
        log.record_pending(pending(digest=b"\x22" * 32))
        log.record_pending(pending(digest=b"\x55" * 32))
        assert log.get(31337, REGISTRY, PID, 1, b"\x66" * 32) is None
        assert log.get(31337, "0x" + "00" * 20, PID, 1, b"\x22" * 32) is None
        assert len(log.for_passport(31337, REGISTRY, PID)) == 2


def test_discard_removes_only_pending_rows(settings: Settings) -> None:
    with VersionLog.from_settings(settings) as log:
        anchored, refused = pending(1), pending(2)
        log.record_pending(anchored)
        log.record_anchor(anchored, Anchor.of(RECEIPT))
        log.record_pending(refused)
        log.discard(refused)
        log.discard(anchored)  # anchored: kept
        assert [r.version for r in log.for_passport(31337, REGISTRY, PID)] == [1]


def test_from_settings_lives_under_data_dir(tmp_path: Path) -> None:
    with VersionLog.from_settings(Settings(data_dir=tmp_path / "data")) as log:
        assert log.path == tmp_path / "data" / "versions.sqlite3"
        assert log.path.exists()


def test_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    VersionLog(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(VersionLogError, match="schema 99"):
        VersionLog(path)


def test_unopenable_file_is_a_version_log_error(tmp_path: Path) -> None:
    (tmp_path / "v.sqlite3").mkdir()
    with pytest.raises(VersionLogError):
        VersionLog(tmp_path / "v.sqlite3")
