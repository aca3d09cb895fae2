"""IndexFollower against a scripted chain: confirmations, chunks, restarts, idempotence and reorgs."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.audit import (
    EventQuery,
    FollowerConfig,
    IndexBatch,
    IndexFollower,
    SqliteAuditIndex,
    rebuild,
)
from passport.audit.records import BlockRef
from passport.db import open_url
from passport.errors import AuditIndexError, ChainUnavailable, IndexChainMismatch
from passport.settings import Settings
from tests.conftest import fresh_database
from tests.passport.audit.audit_scripted_chain import ScriptedChain

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20


def pid(n: int) -> bytes:
    return b"\0" * 16 + n.to_bytes(16, "big")


def issued(n: int, issuer: str = ALICE) -> tuple[str, dict[str, Any]]:
    return (
        "PassportIssued",
        {"passportId": pid(n), "batteryIdHash": bytes([n]) * 32, "issuer": issuer, "version": 1},
    )


def offered(n: int, to: str = BOB) -> tuple[str, dict[str, Any]]:
    return ("CustodyOffered", {"passportId": pid(n), "from": ALICE, "to": to, "expiresAt": 99})


def all_keys(index: SqliteAuditIndex) -> list[tuple[int, int, str]]:
    return [(e.block_number, e.log_index, e.name) for e in index.iter_events(EventQuery(limit=1000))]


IndexOpener = Callable[..., SqliteAuditIndex]


@pytest.fixture
def open_index(
    tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest
) -> Iterator[IndexOpener]:
    """Opens the index called ``name`` on this test's backend: an SQLite file, or (PostgreSQL) the
    ``audit`` schema of one database per name. Each call is a new handle, as a restarted process has."""
    with ExitStack() as stack:
        urls: dict[str, str] = {}

        def opener(name: str = "audit.sqlite") -> SqliteAuditIndex:
            if database_url is None:
                return SqliteAuditIndex(tmp_path / name)
            if name not in urls:
                server = request.getfixturevalue("postgres_server")
                urls[name] = database_url if not urls else stack.enter_context(fresh_database(server))
            return SqliteAuditIndex(open_url(urls[name], "audit"))

        yield opener


def test_indexes_every_event_up_to_the_head(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine_empty(3)
    chain.mine(issued(2), offered(1))
    with open_index() as index:
        result = IndexFollower(index).sync(chain)
        assert (result.head, result.target, result.from_block, result.to_block) == (5, 5, 0, 5)
        assert result.events_added == 3
        assert result.reorgs == ()
        assert result.caught_up
        assert index.cursor() == BlockRef(5, chain.blocks[5].hash)
        assert all_keys(index) == [
            (1, 0, "PassportIssued"),
            (5, 0, "PassportIssued"),
            (5, 1, "CustodyOffered"),
        ]
        # Nothing new: a second sync reads nothing and adds nothing.
        again = IndexFollower(index).sync(chain)
        assert (again.from_block, again.events_added) == (None, 0)


def test_only_confirmed_blocks_are_indexed(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    chain.mine(issued(3))
    with open_index() as index:
        follower = IndexFollower(index, FollowerConfig(confirmations=2))
        result = follower.sync(chain)
        assert (result.target, result.cursor) == (1, BlockRef(1, chain.blocks[1].hash))
        assert [k[0] for k in all_keys(index)] == [1]
        chain.mine_empty(2)
        follower.sync(chain)
        assert [k[0] for k in all_keys(index)] == [1, 2, 3]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 2000])
def test_chunked_reads_give_the_same_index(tmp_path: Path, chunk_size: int, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    for n in range(1, 12):
        chain.mine(issued(n)) if n % 3 else chain.mine_empty(1)
    with open_index() as index:
        IndexFollower(index, FollowerConfig(chunk_size=chunk_size)).sync(chain)
        assert [k[0] for k in all_keys(index)] == [n for n in range(1, 12) if n % 3]
    assert chain.calls["events"] == -(-12 // chunk_size)


def test_max_blocks_bounds_one_sync(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    for n in range(1, 10):
        chain.mine(issued(n))
    with open_index() as index:
        follower = IndexFollower(index, FollowerConfig(start_block=1))
        assert follower.sync(chain, max_blocks=4).to_block == 4
        assert follower.sync(chain, max_blocks=4).to_block == 8
        assert follower.sync(chain, max_blocks=4).to_block == 9


def test_start_block_skips_earlier_history(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    with open_index() as index:
        IndexFollower(index, FollowerConfig(start_block=2)).sync(chain)
        assert [k[0] for k in all_keys(index)] == [2]


def test_survives_restart_and_continues_from_the_cursor(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    with open_index() as index:
        IndexFollower(index).sync(chain)
    chain.mine(issued(2))
    chain.mine(offered(2))
    with open_index() as reopened:
        assert reopened.cursor() == BlockRef(1, chain.blocks[1].hash)
        result = IndexFollower(reopened).sync(chain)
        assert (result.from_block, result.to_block, result.events_added) == (2, 3, 2)
        assert len(all_keys(reopened)) == 3


def test_reapplying_a_range_never_duplicates(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1), offered(1))
    with open_index() as index:
        IndexFollower(index).sync(chain)
        before = index.dump()
        # As if the process died after committing but the follower read the range again.
        batch = IndexBatch(events=chain.events(0, 1), blocks=[], cursor=BlockRef(1, chain.blocks[1].hash))
        assert index.apply(batch) == 0
        assert index.dump() == before


def test_refuses_an_index_of_another_ledger(tmp_path: Path, open_index: IndexOpener) -> None:
    with open_index() as index:
        IndexFollower(index).sync(ScriptedChain(chain_id=1))
        with pytest.raises(IndexChainMismatch):
            IndexFollower(index).sync(ScriptedChain(chain_id=2))
        with pytest.raises(IndexChainMismatch):
            IndexFollower(index).sync(ScriptedChain(chain_id=1, registry_address="0x" + "77" * 20))


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(AuditIndexError):
        FollowerConfig(chunk_size=0)
    with pytest.raises(AuditIndexError):
        FollowerConfig(confirmations=-1)


# -- reorgs -----------------------------------------------------------------------------------------


def test_reorg_of_the_tip_rolls_back_and_rereads(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    chain.mine(offered(2))
    with open_index() as index:
        follower = IndexFollower(index)
        follower.sync(chain)
        old_tip = index.cursor()
        chain.reorg(2)  # blocks 2 and 3 replaced: passport 2 is now issued to someone else, no offer
        chain.mine(issued(2, issuer=BOB), salt="fork")
        chain.mine_empty(2, salt="fork")
        result = follower.sync(chain)
        assert len(result.reorgs) == 1
        reorg = result.reorgs[0]
        assert (reorg.old_tip, reorg.fork_block, reorg.events_removed) == (old_tip, 1, 2)
        assert all_keys(index) == [(1, 0, "PassportIssued"), (2, 0, "PassportIssued")]
        assert index.query(EventQuery(actor=BOB)).items[0].block_hash == "0x" + chain.blocks[2].hash.hex()
        assert index.query(EventQuery(names=("CustodyOffered",))).items == ()
        assert index.cursor() == BlockRef(4, chain.blocks[4].hash)


def test_reorg_to_a_shorter_chain(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    chain.mine(issued(3))
    with open_index() as index:
        follower = IndexFollower(index)
        follower.sync(chain)
        chain.reorg(2)  # like evm_revert: the head goes back and nothing replaces it yet
        result = follower.sync(chain)
        assert result.reorgs[0].fork_block == 1
        assert result.head == 1
        assert [k[0] for k in all_keys(index)] == [1]
        assert index.cursor() == BlockRef(1, chain.blocks[1].hash)
        chain.mine(offered(1), salt="b")
        follower.sync(chain)
        assert all_keys(index) == [(1, 0, "PassportIssued"), (2, 0, "CustodyOffered")]


def test_reorg_below_every_stored_block_rereads_from_the_start(
    tmp_path: Path, open_index: IndexOpener
) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    with open_index() as index:
        follower = IndexFollower(index, FollowerConfig(start_block=1))
        follower.sync(chain)
        chain.reorg(2)
        chain.mine(issued(7), salt="x")
        result = follower.sync(chain)
        assert result.reorgs[0].fork_block == 0
        assert result.reorgs[0].events_removed == 2
        assert index.query(EventQuery()).items[0].passport_id == "0x" + pid(7).hex()


def test_fork_point_is_found_among_sparse_stored_blocks(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))  # block 1: stored (has events)
    chain.mine_empty(20)  # blocks 2..21 hold nothing; only range ends are kept
    with open_index() as index:
        follower = IndexFollower(index, FollowerConfig(chunk_size=5))
        follower.sync(chain)
        stored = [b.number for b in index.recent_blocks(10_000, 100)]
        assert stored == [21, 19, 14, 9, 4, 1]  # ranges [0, 4], [5, 9], …
        chain.reorg(8)  # fork after block 13: the newest stored block still canonical is 9
        chain.mine(offered(1), salt="f")
        result = follower.sync(chain)
        assert result.reorgs[0].fork_block == 9
        assert all_keys(index) == [(1, 0, "PassportIssued"), (14, 0, "CustodyOffered")]


def test_old_checkpoints_are_pruned_but_event_blocks_kept(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine_empty(30)
    with open_index() as index:
        IndexFollower(index, FollowerConfig(chunk_size=4, reorg_window=10)).sync(chain)
        assert [b.number for b in index.recent_blocks(10_000, 100)] == [
            31,
            27,
            23,
            1,
        ]  # ends of [0, 3] … [28, 31]


def test_reorg_during_a_read_is_not_stored(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    with open_index() as index:
        follower = IndexFollower(index)
        follower.sync(chain)
        chain.mine(issued(2))
        chain.mine(offered(2))

        def fork(c: ScriptedChain) -> None:
            c.reorg(2)
            c.mine(issued(3), salt="mid-read")
            c.mine_empty(1, salt="mid-read")

        chain.after_events = fork
        result = follower.sync(chain)
        # The first read saw the old branch; its end hash changed under it, so it was thrown away.
        assert result.reorgs == ()
        assert all_keys(index) == [(1, 0, "PassportIssued"), (2, 0, "PassportIssued")]
        assert index.query(EventQuery(names=("PassportIssued",), from_block=2)).items[0].passport_id == (
            "0x" + pid(3).hex()
        )


def test_a_chain_that_never_settles_fails_cleanly(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    counter = itertools.count()

    def churn(c: ScriptedChain) -> None:
        c.reorg(1)
        c.mine(issued(1), salt=str(next(counter)))
        c.after_events = churn

    chain.after_events = churn
    with open_index() as index, pytest.raises(AuditIndexError, match="reorganised"):
        IndexFollower(index, FollowerConfig(max_restarts=3)).sync(chain)


def test_reorg_inside_the_confirmation_depth_is_never_seen(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    chain.mine(issued(2))
    chain.mine(issued(3))
    with open_index() as index:
        follower = IndexFollower(index, FollowerConfig(confirmations=2))
        follower.sync(chain)
        chain.reorg(2)
        chain.mine(issued(9), salt="q")
        chain.mine_empty(1, salt="q")
        result = follower.sync(chain)
        assert result.reorgs == ()
        assert [e.passport_id for e in index.iter_events(EventQuery())] == ["0x" + pid(1).hex()]


def test_rebuild_equals_the_live_index_after_reorgs(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    live = open_index("live.sqlite")
    follower = IndexFollower(live, FollowerConfig(chunk_size=3))
    for n in range(1, 6):
        chain.mine(issued(n), offered(n))
        follower.sync(chain)
    chain.reorg(3)
    chain.mine(issued(10), salt="r")
    chain.mine_empty(2, salt="r")
    follower.sync(chain)
    chain.mine(offered(10, to=ALICE))
    follower.sync(chain)
    live.close()
    with open_index("live.sqlite") as live, rebuild(chain, tmp_path / "rebuilt.sqlite") as rebuilt:
        assert rebuilt.dump() == live.dump()
        assert rebuilt.cursor() == live.cursor()
        assert len(rebuilt.dump()["events"]) == 6


def test_rebuild_replaces_an_existing_file(tmp_path: Path) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    path = tmp_path / "audit.sqlite"
    with SqliteAuditIndex(path) as stale:
        IndexFollower(stale).sync(ScriptedChain())
        stale.apply(IndexBatch(events=chain.events(1, 1), blocks=[], cursor=BlockRef(1, b"\1" * 32)))
    (tmp_path / "audit.sqlite.rebuild").write_bytes(b"left over from a crash")
    with rebuild(chain, path) as index:
        assert index.cursor() == BlockRef(1, chain.blocks[1].hash)
        assert len(all_keys(index)) == 1
    assert not (tmp_path / "audit.sqlite.rebuild").exists()


# -- property: whatever the history, the followed index equals a fresh read of the final chain ------------

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("mine"), st.integers(0, 3)),
        st.tuples(st.just("empty"), st.integers(1, 4)),
        st.tuples(st.just("reorg"), st.integers(1, 6)),
        st.tuples(st.just("sync"), st.integers(0, 0)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, confirmations=st.integers(0, 2), chunk_size=st.integers(1, 5))
def test_followed_index_always_equals_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory, history: list[Step], confirmations: int, chunk_size: int
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    chain = ScriptedChain()
    config = FollowerConfig(confirmations=confirmations, chunk_size=chunk_size, reorg_window=3)
    serial = itertools.count(1)
    with SqliteAuditIndex(tmp / "live.sqlite") as live:
        follower = IndexFollower(live, config)
        for salt, (op, arg) in enumerate(history):
            if op == "mine":
                chain.mine(*(issued(next(serial)) for _ in range(arg)), salt=str(salt))
            elif op == "empty":
                chain.mine_empty(arg, salt=str(salt))
            elif op == "reorg" and arg < len(chain.blocks):
                chain.reorg(arg)
            elif op == "sync":
                follower.sync(chain)
        # A chain that shrank may sit below what was indexed while it was longer (still canonical, so
        # kept); grow it until both indexes aim at the same target.
        cursor = live.cursor()
        if cursor is not None:
            chain.mine_empty(max(0, cursor.number + confirmations - chain.block_number()), salt="end")
        follower.sync(chain)
        live.checkpoint()
        with rebuild(chain, tmp / "rebuilt.sqlite", config) as rebuilt:
            assert live.dump() == rebuilt.dump()
            assert live.cursor() == rebuilt.cursor()


# -- running as a service ------------------------------------------------------------------------------


def test_run_retries_a_flaky_node_until_stopped(tmp_path: Path, open_index: IndexOpener) -> None:
    chain = ScriptedChain()
    chain.mine(issued(1))
    stop = threading.Event()
    failures = iter([True, True, False])
    real_block_number = chain.block_number

    def flaky_block_number() -> int:
        if next(failures, False):
            raise ChainUnavailable("node restarting")
        stop.set()  # the sync in progress completes; the loop ends after it
        return real_block_number()

    chain.block_number = flaky_block_number  # type: ignore[method-assign]
    with open_index() as index:
        IndexFollower(index).run(chain, stop, interval=0.001)
        assert len(all_keys(index)) == 1


def test_run_stops_on_an_index_of_another_ledger(tmp_path: Path, open_index: IndexOpener) -> None:
    with open_index() as index:
        IndexFollower(index).sync(ScriptedChain(chain_id=1))
        with pytest.raises(IndexChainMismatch):
            IndexFollower(index).run(ScriptedChain(chain_id=2), threading.Event(), interval=0.001)


def test_readers_see_committed_ranges_while_the_follower_writes(
    tmp_path: Path, open_index: IndexOpener
) -> None:
    chain = ScriptedChain()
    for n in range(1, 41):
        chain.mine(issued(n))
    with open_index() as writer, open_index() as reader:
        follower = IndexFollower(writer, FollowerConfig(chunk_size=4))
        seen: list[tuple[int, int]] = []
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                cursor = reader.cursor()
                seen.append((-1 if cursor is None else cursor.number, len(all_keys(reader))))

        thread = threading.Thread(target=read)
        thread.start()
        follower.sync(chain)
        done.set()
        thread.join()
        assert len(all_keys(reader)) == 40
        # Every range commits with its cursor: whatever a reader saw, the events up to the cursor it read
        # were already there (block n holds passport n), and nothing ever went backwards.
        assert all(count >= cursor for cursor, count in seen)
        assert [count for _, count in seen] == sorted(count for _, count in seen)


def test_configuration_from_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, confirmations=3)
    assert FollowerConfig.from_settings(settings, start_block=7) == FollowerConfig(
        confirmations=3, start_block=7
    )
    assert settings.audit_index_path == tmp_path / "audit" / "index.sqlite"
    with SqliteAuditIndex(settings.audit_index_path) as index:
        assert index.cursor() is None
