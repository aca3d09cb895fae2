"""``check_index``, ``rebuild_index`` and ``cross_check_custody`` against the real registry, with the index
file edited behind the follower's back (the way anyone with write access to it could)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from passport.audit import (
    INDEX_CUSTODY_CHECK,
    DifferenceKind,
    FollowerConfig,
    IndexFollower,
    SqliteAuditIndex,
    check_index,
    cross_check_custody,
    rebuild_index,
)
from passport.chain.web3_client import Web3ChainClient
from passport.model import LifecycleStatus
from passport.verify import CheckStatus
from tests.chain_backends import Actor, ChainBackend, digest, passport_id

pytestmark = pytest.mark.parametrize(
    "chain_backend", ["eth-tester", pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)

BATTERY = digest("integrity-battery")


@dataclass
class Indexed:
    ledger: ChainBackend
    chain: Web3ChainClient
    index: SqliteAuditIndex
    path: Path
    pid: bytes
    pid_hex: str

    def sql(self, statement: str, *params: object) -> None:
        """Edit the index file directly, through a connection of its own."""
        db = sqlite3.connect(self.path)
        try:
            with db:
                db.execute(statement, params)
        finally:
            db.close()

    def check(self):  # type: ignore[no-untyped-def]
        return check_index(self.index, self.chain, start_block=self.ledger.deploy_block)


@pytest.fixture
def indexed(ledger: ChainBackend, issuer: Actor, business: Actor, tmp_path: Path) -> Iterator[Indexed]:
    pid = passport_id("integrity")
    sig = issuer.sign(pid, BATTERY, 1, LifecycleStatus.ORIGINAL, digest("m1"))
    issuer.client.issue_passport(pid, BATTERY, digest("m1"), sig)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 3600)
    business.client.accept_custody(pid)
    business.client.offer_custody(pid, ledger.actors["issuer2"].address, ledger.now() + 3600)
    business.client.cancel_custody_offer(pid)
    chain = ledger.client(digest("integrity-reader"))
    path = tmp_path / "audit.sqlite"
    index = SqliteAuditIndex(path)
    IndexFollower(index, FollowerConfig(start_block=ledger.deploy_block)).sync(chain)
    try:
        yield Indexed(ledger, chain, index, path, pid, "0x" + pid.hex())
    finally:
        index.close()


def custody_keys(indexed: Indexed) -> list[tuple[int, int]]:
    return [event.key for event in indexed.index.custody_timeline(indexed.pid)]


def test_an_untouched_index_matches_the_chain(indexed: Indexed) -> None:
    report = indexed.check()
    assert report.ok, report.differences
    assert report.events_in_index == report.events_on_chain > 0
    assert report.cursor == report.checked_to_block
    cross = cross_check_custody(
        indexed.index, indexed.chain, indexed.pid, start_block=indexed.ledger.deploy_block
    )
    assert cross.check.name == INDEX_CUSTODY_CHECK
    assert cross.check.status is CheckStatus.PASS, cross.check.reason
    assert [e.name for e in cross.events] == [
        "CustodyOffered",
        "CustodyTransferred",
        "CustodyOffered",
        "CustodyOfferCancelled",
    ]


def test_an_edited_custody_row_is_reported_and_fails_the_cross_check(
    indexed: Indexed, stranger: Actor
) -> None:
    block, log_index = custody_keys(indexed)[1]  # the CustodyTransferred row
    [(args,)] = sqlite3.connect(indexed.path).execute(
        "SELECT args FROM events WHERE block_number = ? AND log_index = ?", (block, log_index)
    )
    forged = json.loads(args) | {"to": stranger.address}
    indexed.sql(
        "UPDATE events SET args = ? WHERE block_number = ? AND log_index = ?",
        json.dumps(forged, sort_keys=True, separators=(",", ":")),
        block,
        log_index,
    )
    report = indexed.check()
    assert not report.ok
    [diff] = report.differences
    assert (diff.table, diff.kind, diff.key) == (
        "events",
        DifferenceKind.ALTERED,
        f"block {block} log {log_index}",
    )
    assert diff.detail.startswith("args:")
    assert stranger.address in diff.detail

    cross = cross_check_custody(indexed.index, indexed.chain, indexed.pid)
    assert cross.check.status is CheckStatus.FAIL
    assert f"CustodyTransferred at block {block} log {log_index} was altered (args)" in cross.check.reason
    # What the timeline showed is the forged row: the check is about exactly what is displayed.
    assert cross.events[1].args["to"] == stranger.address


def test_a_deleted_event_is_reported_missing(indexed: Indexed) -> None:
    block, log_index = custody_keys(indexed)[3]  # the cancellation
    indexed.sql("DELETE FROM events WHERE block_number = ? AND log_index = ?", block, log_index)
    indexed.sql("DELETE FROM event_refs WHERE block_number = ? AND log_index = ?", block, log_index)
    report = indexed.check()
    [diff] = report.differences
    assert (diff.table, diff.kind) == ("events", DifferenceKind.MISSING)
    assert "CustodyOfferCancelled" in diff.detail
    cross = cross_check_custody(indexed.index, indexed.chain, indexed.pid)
    assert cross.check.status is CheckStatus.FAIL
    assert "CustodyOfferCancelled at" in cross.check.reason
    assert "missing from the index" in cross.check.reason


def test_an_invented_event_is_reported_extra(indexed: Indexed) -> None:
    block, log_index = custody_keys(indexed)[1]
    indexed.sql(
        "INSERT INTO events SELECT block_number, log_index + 100, block_hash, block_timestamp, tx_hash, "
        "address, name, passport_id, battery_id_hash, root, args FROM events "
        "WHERE block_number = ? AND log_index = ?",
        block,
        log_index,
    )
    indexed.sql(
        "INSERT INTO event_refs SELECT kind, value, block_number, log_index + 100 FROM event_refs "
        "WHERE block_number = ? AND log_index = ?",
        block,
        log_index,
    )
    [diff] = indexed.check().differences
    assert (diff.table, diff.kind, diff.key) == (
        "events",
        DifferenceKind.EXTRA,
        f"block {block} log {log_index + 100}",
    )
    cross = cross_check_custody(indexed.index, indexed.chain, indexed.pid)
    assert cross.check.status is CheckStatus.FAIL
    assert "is not on the chain" in cross.check.reason


def test_an_altered_cursor_or_block_hash_is_reported(indexed: Indexed) -> None:
    cursor = indexed.index.cursor()
    assert cursor is not None
    indexed.sql("UPDATE cursor SET block_hash = ?", "0x" + "ab" * 32)
    block = custody_keys(indexed)[0][0]
    indexed.sql("UPDATE blocks SET hash = ? WHERE number = ?", "0x" + "cd" * 32, block)
    found = {(d.table, d.kind, d.key) for d in indexed.check().differences}
    assert ("cursor", DifferenceKind.ALTERED, f"block {cursor.number}") in found
    assert ("blocks", DifferenceKind.ALTERED, f"block {block}") in found
    cross = cross_check_custody(indexed.index, indexed.chain, indexed.pid)
    assert cross.check.status is CheckStatus.FAIL
    assert "cursor block" in cross.check.reason


def test_a_cursor_moved_back_leaves_the_events_above_it_extra(indexed: Indexed) -> None:
    first = custody_keys(indexed)[0][0]
    indexed.sql(
        "UPDATE cursor SET block_number = ?, block_hash = ?",
        first,
        "0x" + indexed.chain.block_hash(first).hex(),
    )  # type: ignore[union-attr]
    differences = indexed.check().differences
    assert differences
    assert all(d.kind is DifferenceKind.EXTRA for d in differences)
    assert {d.table for d in differences} >= {"events"}


def test_rebuild_restores_equality_and_keeps_the_tampered_file(indexed: Indexed) -> None:
    indexed.sql("DELETE FROM events WHERE name = 'CustodyTransferred'")
    indexed.sql("UPDATE cursor SET block_hash = ?", "0x" + "ab" * 32)
    assert not indexed.check().ok
    indexed.index.close()
    result = rebuild_index(
        indexed.chain, indexed.path, FollowerConfig(start_block=indexed.ledger.deploy_block)
    )
    assert result.backup == indexed.path.with_name("audit.sqlite.bak")
    with SqliteAuditIndex(result.backup) as kept:
        assert not any(e.name == "CustodyTransferred" for e in kept.custody_timeline(indexed.pid))
    indexed.index = SqliteAuditIndex(indexed.path)
    report = indexed.check()
    assert report.ok, report.differences
    assert result.events == report.events_in_index
    cross = cross_check_custody(indexed.index, indexed.chain, indexed.pid)
    assert cross.check.status is CheckStatus.PASS
    assert [e.name for e in cross.events][1] == "CustodyTransferred"
