"""Two ``Services`` on one data directory (as two API processes on one host would be): only the holder of
the audit-follower lease writes the index; the other reads its own writes through the index the leader
keeps, never syncing itself, and takes the lease over once the leader lets go.
(Two real processes on PostgreSQL: ``test_api_workers.py``.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from api.services import Services
from passport.audit import IndexFollower
from passport.audit.records import SyncResult
from passport.chain.protocol import ChainClient
from tests.api.api_stack import ApiStack, build_services, serve
from tests.chain_backends import ChainBackend, running_backend


class CountingFollower(IndexFollower):
    """The real follower, counting the syncs (the writes to the index) it is asked for."""

    syncs = 0

    def sync(self, chain: ChainClient, *, max_blocks: int | None = None) -> SyncResult:  # type: ignore[override]
        self.syncs += 1
        return super().sync(chain, max_blocks=max_blocks)


def _leased(services: Services) -> Services:
    services.follower_lease = partial(services.api_keys.database.leader, "audit-follower")
    counting = CountingFollower(services.audit, services._follower.config)
    services._follower = counting
    return services


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[ChainBackend]:
    with running_backend("eth-tester", tmp_path / "chain") as backend:
        yield backend


def test_only_the_lease_holder_writes_the_index_and_the_other_reads_its_own_writes(
    backend: ChainBackend, tmp_path: Path
) -> None:
    leader = _leased(build_services(backend, tmp_path / "data"))
    other = _leased(build_services(backend, tmp_path / "data"))
    leader.start()
    other.start()
    try:
        assert (leader.follows_index, other.follows_index) == (True, False)
        with serve(other) as base_url:
            stack = ApiStack(backend, other, base_url)
            stack.keys["issuer"] = other.api_keys.issue_key("issuer")
            pid = str(stack.issue().passport_id)
            # A request on the non-leader reads its own write: it waits for the leader's tick.
            other.sync_index()
            assert [e.name for e in other.audit.version_history(pid)] == ["PassportIssued"]
            seen = other._seen
            assert seen is not None
            assert seen == leader.audit.cursor()
            # The cursor block is stored: the next catch-up applies only newer events (no false reorg).
            assert other.audit.recent_blocks(seen.number, 1) == [seen]
            assert isinstance(other._follower, CountingFollower)
            assert other._follower.syncs == 0

            # The leader stops (or dies): the other takes the lease at its next tick and writes itself.
            leader.stop()
            deadline = time.monotonic() + 10
            while not other.follows_index:
                assert time.monotonic() < deadline, "the lease was not taken over"
                time.sleep(0.05)
            second = str(stack.issue().passport_id)
            other.sync_index()
            assert [e.name for e in other.audit.version_history(second)] == ["PassportIssued"]
            assert other._follower.syncs > 0
            stack.http.close()
    finally:
        other.close()
        leader.close()
