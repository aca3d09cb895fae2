"""One anchoring leader at a time across workers sharing a journal (SQLite flock / PostgreSQL advisory
lock): the other worker never touches the chain until the leader stops, then takes over."""

from __future__ import annotations

import threading
import time
from typing import Any

from oracle.worker import AnchoringWorker
from passport.store.protocol import ContentStore
from tests.builders import charging
from tests.oracle.oracle_doubles import FakeChain
from tests.oracle.oracle_samples import Fleet, anchorer


class _Recording:
    """The shared chain, noting every call one worker makes to it."""

    def __init__(self, inner: FakeChain, calls: list[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(name)
            return target(*args, **kwargs)

        return call


def _ingest_and_wait_anchored(fleet: Fleet, round_: int) -> None:
    for n in range(2):
        fleet.ingestor.ingest(fleet.upload(n, [charging(energy_kwh=1 + round_ + n)]))
    deadline = time.monotonic() + 60
    while fleet.journal.pending() or fleet.journal.has_batches(("open", "stored", "sent", "anchored")):
        assert time.monotonic() < deadline, "nothing anchored the new readings"
        time.sleep(0.02)


def test_the_second_worker_waits_then_takes_over(fleet: Fleet, store: ContentStore) -> None:
    chain = FakeChain()
    calls: dict[str, list[str]] = {"a": [], "b": []}
    other = fleet.journal.reopen()
    workers = {
        "a": AnchoringWorker(
            anchorer(fleet.journal, store, _Recording(chain, calls["a"]), max_batch_age_s=0.01), poll_s=0.01
        ),
        "b": AnchoringWorker(
            anchorer(other, store, _Recording(chain, calls["b"]), max_batch_age_s=0.01), poll_s=0.01
        ),
    }
    stops = {name: threading.Event() for name in workers}
    threads = {name: threading.Thread(target=w.run, args=(stops[name],)) for name, w in workers.items()}
    try:
        threads["a"].start()
        _ingest_and_wait_anchored(fleet, 0)
        assert calls["a"]
        threads["b"].start()
        for round_ in (1, 2):
            _ingest_and_wait_anchored(fleet, round_)
        assert calls["b"] == []  # not the leader: it never read or wrote the chain
        stops["a"].set()
        threads["a"].join(timeout=30)
        seen = len(calls["a"])
        _ingest_and_wait_anchored(fleet, 3)  # only the second worker is left to do it
        assert "anchor_batch" in calls["b"] or "send_anchor_batches" in calls["b"]
        assert len(calls["a"]) == seen
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            if thread.is_alive():
                thread.join(timeout=30)
        other.close()
    assert {b.state for b in fleet.journal.batches()} == {"confirmed"}
