"""The API worker's ingestion process: acks after the child's commit, duplicates, refusals, crashes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.ingest_process import IngestProcess, IngestUnavailable
from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from passport.settings import Settings
from tests.builders import charging, parking
from tests.oracle.oracle_samples import Fleet


def _readings(seq: int) -> list[dict[str, object]]:
    return [charging(energy_kwh=1 + seq), parking(self_discharge_pct=0.1 * seq)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(data_dir=tmp_path)


@pytest.fixture
def fleet(settings: Settings) -> Iterator[Fleet]:
    with Journal.open(settings) as journal:
        fleet = Fleet(journal, Ingestor(journal))
        for n in range(2):
            fleet.device(n).register(journal)
        yield fleet


@pytest.fixture
def ingest(settings: Settings, fleet: Fleet) -> Iterator[IngestProcess]:
    process = IngestProcess(settings)
    process.start()
    yield process
    process.close()


def _send(ingest: IngestProcess, body: bytes) -> tuple[Acknowledgement, bool]:
    reply = ingest.submit(body).result(timeout=60)
    return Acknowledgement.model_validate_json(reply.ack_json), reply.rejected


def test_the_child_acknowledges_after_its_commit_duplicates_and_refuses(
    ingest: IngestProcess, fleet: Fleet
) -> None:
    body = fleet.upload(0, _readings(1), seq=1).model_dump_json().encode()
    ack, rejected = _send(ingest, body)
    assert (ack.status, rejected, len(ack.accepted)) == ("accepted", False, 2)
    # Durable before the reply: this process's own connection sees every acknowledged record.
    for accepted in ack.accepted:
        assert fleet.journal.record(accepted.record_id).digest.hex() == accepted.digest[2:]
    again, _ = _send(ingest, body)  # the device lost our ack and retransmits
    assert again.status == "duplicate"
    assert (again.accepted, again.upload_digest) == (ack.accepted, ack.upload_digest)
    stale, rejected = _send(ingest, fleet.upload(0, _readings(2), seq=1).model_dump_json().encode())
    assert (stale.status, stale.code, rejected) == ("rejected", "replay", True)


def test_a_killed_child_answers_unavailable_then_is_restarted_and_loses_nothing(
    ingest: IngestProcess, fleet: Fleet
) -> None:
    first, _ = _send(ingest, fleet.upload(1, _readings(1), seq=1).model_dump_json().encode())
    pid = ingest.pid
    assert pid is not None
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    refused = False
    while ingest.pid in (None, pid) and time.monotonic() < deadline:
        try:
            ingest.submit(b"{}").result(timeout=60)
        except IngestUnavailable:
            refused = True
        time.sleep(0.05)
    assert refused, "an upload sent while the child was down must be refused (503), not lost"
    assert ingest.restarts == 1
    assert ingest.pid not in (None, pid)
    # What was acknowledged before the crash is journaled; the restarted child continues the sequence.
    assert fleet.journal.record(first.accepted[0].record_id).digest.hex() == first.accepted[0].digest[2:]
    retransmitted, _ = _send(ingest, fleet.upload(1, _readings(1), seq=1).model_dump_json().encode())
    assert retransmitted.status == "duplicate"
    nxt, _ = _send(ingest, fleet.upload(1, _readings(2), seq=2).model_dump_json().encode())
    assert nxt.status == "accepted"


def test_close_commits_and_stops_the_child(settings: Settings, fleet: Fleet) -> None:
    process = IngestProcess(settings)
    process.start()
    future = process.submit(fleet.upload(0, _readings(1), seq=1).model_dump_json().encode())
    process.close()
    assert Acknowledgement.model_validate_json(future.result(timeout=60).ack_json).status == "accepted"
    with pytest.raises(IngestUnavailable):
        process.submit(b"{}")
