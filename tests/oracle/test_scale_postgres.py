"""Proof of scale (issue #17): several oracle processes on one PostgreSQL and one chain.

Two ingestion processes journal signed uploads concurrently (disjoint devices, group commits), two
anchoring workers compete for the one leader lease, and the first leader is SIGKILLed right after it
sent an anchoring transaction (its batches not yet marked). The survivor takes the lease over,
reconciles the half-done batches with the chain, and finishes. Then: every acknowledged reading is in
exactly one confirmed batch, every batch root is anchored exactly once on chain, and two audit-index
followers sharing the PostgreSQL index (taking turns) leave it equal to a rebuild from the chain alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from oracle.journal import BatchRow, Journal
from passport.audit import FollowerConfig, IndexFollower, SqliteAuditIndex, rebuild
from passport.chain.protocol import ChainClient
from passport.db import open_url
from passport.settings import Settings
from tests.builders import SigningDevice
from tests.chain_backends import Actor, ChainBackend

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
DEVICES = 8
UPLOADS = 8  # per device: 8 x 8 uploads x 3 readings = 192 records


class _Proc:
    """A subprocess whose stdout lines are collected by a thread (so two can be watched at once)."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
        self.popen = subprocess.Popen(
            [sys.executable, str(HERE / "scale_worker.py"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.strip())

    def wait_for(self, line: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            if self.popen.poll() is not None and line not in self.lines:
                self._reader.join(timeout=5)
                if line in self.lines:
                    return
                err = self.popen.stderr.read() if self.popen.stderr else ""
                raise AssertionError(f"exited {self.popen.returncode} before {line!r}: {err[-3000:]}")
            assert time.monotonic() < deadline, f"no {line!r} within {timeout} s: {self.lines[-5:]}"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(timeout=5)


def assert_every_ack_confirmed(
    settings: Settings, acked: list[str], leader: _Proc, timeout: float
) -> list[BatchRow]:
    """Wait for ``leader`` to anchor all; each acknowledged reading is in exactly one confirmed batch."""
    with Journal.open(settings) as journal:
        deadline = time.monotonic() + timeout
        while journal.pending() or journal.has_batches(("open", "stored", "sent", "anchored")):
            assert leader.popen.poll() is None, leader.popen.stderr.read() if leader.popen.stderr else ""
            assert time.monotonic() < deadline, "the new leader did not finish anchoring"
            time.sleep(0.2)
        batches = journal.batches()
        assert {b.state for b in batches} == {"confirmed"}
        # A record has one batch_id: counting them and their batches' sizes proves "exactly one".
        assert journal.record_count() == len(acked)
        assert sum(b.record_count for b in batches) == len(acked)
        for digest in acked:
            assert journal.record_by_digest(bytes.fromhex(digest[2:])).state == "confirmed"
    return batches


def assert_each_root_anchored_once(chain: ChainClient, from_block: int, batches: list[BatchRow]) -> None:
    """Each batch's root is anchored exactly once on chain, and nothing else is."""
    events = chain.events(from_block, chain.block_number(), ["BatchAnchored"])
    roots = Counter(bytes(e.args["root"]) for e in events)
    assert set(roots.values()) == {1}
    assert set(roots) == {b.root for b in batches}


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.postgres
@pytest.mark.parametrize("chain_backend", ["anvil"], indirect=True)
def test_two_ingesters_two_anchorers_one_leader_killed(
    ledger: ChainBackend, oracle: Actor, postgres_url: str, tmp_path: Path
) -> None:
    assert ledger.url is not None
    settings = Settings(environment="development", data_dir=tmp_path, database_url=postgres_url)
    with Journal.open(settings) as journal:
        for n in range(DEVICES):
            SigningDevice.numbered(n).register(journal)
    store_dir = tmp_path / "store"
    anchor_args = [postgres_url, str(tmp_path), str(store_dir), ledger.url, ledger.registry_address]
    procs: list[_Proc] = []
    try:
        first = _Proc("anchor", *anchor_args, oracle.key.hex(), "1")
        procs.append(first)
        first.wait_for("leader", 60)
        second = _Proc("anchor", *anchor_args, oracle.key.hex(), "0")
        procs.append(second)
        half = DEVICES // 2
        ingesters = [
            _Proc("ingest", postgres_url, str(tmp_path), "0", str(half - 1), str(UPLOADS)),
            _Proc("ingest", postgres_url, str(tmp_path), str(half), str(DEVICES - 1), str(UPLOADS)),
        ]
        procs += ingesters
        for ingester in ingesters:
            ingester.wait_for("done", 120)
        assert first.popen.wait(timeout=60) == -signal.SIGKILL  # killed mid-batch, lease dropped
        second.wait_for("leader", 60)  # took over

        acked = [
            d for p in ingesters for line in p.lines if line.startswith("ack ") for d in line.split()[1:]
        ]
        assert len(acked) == DEVICES * UPLOADS * 3
        assert len(set(acked)) == len(acked)
        batches = assert_every_ack_confirmed(settings, acked, second, timeout=90)
        second.stop()
    finally:
        for proc in procs:
            proc.stop()

    chain = oracle.client
    assert_each_root_anchored_once(chain, ledger.deploy_block, batches)
    for batch in batches:
        anchor = chain.get_anchor(batch.root)
        assert anchor is not None
        assert anchor.record_count == batch.record_count

    # Two followers (as in two API processes) share the PostgreSQL index; it ends equal to the chain.
    config = FollowerConfig(start_block=ledger.deploy_block, chunk_size=7)
    indexes = [SqliteAuditIndex(open_url(postgres_url, "audit")) for _ in range(2)]
    try:
        errors: list[BaseException] = []

        def follow(index: SqliteAuditIndex) -> None:
            try:
                for _ in range(3):
                    IndexFollower(index, config).sync(chain)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=follow, args=(index,)) for index in indexes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors
        with rebuild(chain, tmp_path / "reference.sqlite", config) as reference:
            assert indexes[0].dump() == reference.dump()
            assert indexes[0].event_count() >= len(batches)
    finally:
        for index in indexes:
            index.close()
