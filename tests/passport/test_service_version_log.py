"""``VersionLog``: pending → anchored rows, lookups by version *and* digest, durability across reopen."""

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


def test_lookup_needs_the_digest_the_ledger_holds(tmp_path: Path) -> None:
    # After a chain reset the same version can hold other content: both rows stay, keyed by digest.
    with VersionLog(tmp_path / "v.sqlite3") as log:
        log.record_pending(pending(digest=b"\x22" * 32))
        log.record_pending(pending(digest=b"\x55" * 32))
        assert log.get(31337, REGISTRY, PID, 1, b"\x66" * 32) is None
        assert log.get(31337, "0x" + "00" * 20, PID, 1, b"\x22" * 32) is None
        assert len(log.for_passport(31337, REGISTRY, PID)) == 2


def test_discard_removes_only_pending_rows(tmp_path: Path) -> None:
    with VersionLog(tmp_path / "v.sqlite3") as log:
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
