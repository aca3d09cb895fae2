"""Two ``Services`` on one data directory (as two API processes on one host would be): only the holder of
the audit-follower lease polls the chain into the index on every tick; the other syncs only when a
request needs its own write indexed, learns from the index what the leader wrote, and takes the lease
over once the leader lets go. (Two real servers on PostgreSQL: ``test_api_workers.py``.)"""

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


def stack_key(services: Services) -> str:
    return services.api_keys.issue_key("issuer")


def _leased(services: Services) -> Services:
    services.follower_lease = partial(services.api_keys.database.leader, "audit-follower")
    counting = CountingFollower(services.audit, services._follower.config)
    services._follower = counting
    return services


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[ChainBackend]:
    with running_backend("eth-tester", tmp_path / "chain") as backend:
        yield backend


def test_only_the_lease_holder_polls_and_the_other_syncs_on_demand_and_takes_over(
    backend: ChainBackend, tmp_path: Path
) -> None:
    leader = _leased(build_services(backend, tmp_path / "data"))
    other = _leased(build_services(backend, tmp_path / "data"))
    leader.start()
    other.start()
    try:
        assert (leader.follows_index, other.follows_index) == (True, False)
        assert isinstance(leader._follower, CountingFollower)
        assert isinstance(other._follower, CountingFollower)
        with serve(other) as base_url, serve(leader) as leader_url:
            stack = ApiStack(backend, other, base_url)
            through_leader = ApiStack(backend, leader, leader_url, keys={"issuer": stack_key(leader)})
            stack.keys["issuer"] = other.api_keys.issue_key("issuer")
            stack.keys["auditor"] = other.api_keys.issue_key("auditor")
            # Ticks go by: the leader syncs on each, the other not at all (it only reads the index).
            leader_syncs, other_syncs = leader._follower.syncs, other._follower.syncs
            time.sleep(1.0)
            assert leader._follower.syncs > leader_syncs
            assert other._follower.syncs == other_syncs

            # What the leader indexes reaches the other's read model without a sync of its own.
            first = str(through_leader.issue().passport_id)
            deadline = time.monotonic() + 10
            while other._seen != leader.audit.cursor() or not other.audit.version_history(first):
                assert time.monotonic() < deadline, "the other never saw the leader's writes"
                time.sleep(0.05)
            seen = other._seen
            assert seen is not None
            # The cursor block is stored: the next look applies only newer events (no false reorg).
            assert other.audit.recent_blocks(seen.number, 1) == [seen]
            assert other._follower.syncs == other_syncs

            # A request on the other that needs its own write indexed syncs at once (taking turns).
            pid = str(stack.issue().passport_id)
            events = stack.call("GET", "/audit/events", "auditor", params={"passport_id": pid})
            assert events.status_code == 200, events.text
            assert [e["name"] for e in events.json()["items"]] == ["PassportIssued"]
            assert other._follower.syncs > other_syncs

            # The leader stops (or dies): the other takes the lease at its next tick.
            leader.stop()
            deadline = time.monotonic() + 10
            while not other.follows_index:
                assert time.monotonic() < deadline, "the lease was not taken over"
                time.sleep(0.05)
            syncs = other._follower.syncs
            time.sleep(1.0)
            assert other._follower.syncs > syncs
            stack.http.close()
            through_leader.http.close()
    finally:
        other.close()
        leader.close()
