"""Group commit: uploads queued while a commit runs share the next one; each ack only after its commit."""

from __future__ import annotations

import threading

import pytest

from oracle.errors import JournalError
from oracle.group_commit import GroupCommitter, GroupCommitterClosed
from oracle.ingestion import Ingestor
from tests.builders import charging, parking
from tests.oracle.oracle_samples import Fleet


def _readings(seq: int) -> list[dict[str, object]]:
    return [charging(energy_kwh=1 + seq), parking(self_discharge_pct=0.1 * seq)]


def test_queued_uploads_share_one_commit_and_are_acked_after_it(fleet: Fleet) -> None:
    uploads = [fleet.upload(n % 4, _readings(n), seq=n // 4 + 1) for n in range(12)]
    with GroupCommitter(Ingestor(fleet.journal)) as committer:
        # Hold the journal: the committer takes the first upload and blocks in it; the rest queue up.
        with fleet.journal.transaction():
            fleet.journal.lock_devices([u.device_id for u in uploads])  # PostgreSQL: hold their rows
            futures = [committer.submit(u) for u in uploads]
            threading.Event().wait(0.2)
            assert not any(f.done() for f in futures)  # nothing acknowledged before its commit
        acks = [f.result(timeout=30) for f in futures]
        assert [a.status for a in acks] == ["accepted"] * 12
        assert committer.uploads == 12
        # The first may have been taken alone before the rest queued; the others shared one commit.
        assert committer.commits <= 2
    # Durable: a second connection sees every acknowledged record.
    with fleet.journal.reopen() as other:
        assert other.record_count() == 24
        for ack in acks:
            for accepted in ack.accepted:
                assert other.record(accepted.record_id).digest.hex() == accepted.digest[2:]


def test_a_retransmission_in_the_same_group_is_a_duplicate(fleet: Fleet) -> None:
    upload = fleet.upload(0, _readings(1), seq=1)
    with GroupCommitter(Ingestor(fleet.journal)) as committer, fleet.journal.transaction():
        first, second = committer.submit(upload), committer.submit(upload)
    assert first.result(timeout=30).status == "accepted"
    again = second.result(timeout=30)
    assert again.status == "duplicate"
    assert again.accepted == first.result().accepted


def test_a_failed_commit_fails_every_upload_of_its_group(fleet: Fleet) -> None:
    committer = GroupCommitter(Ingestor(fleet.journal))
    fleet.journal.close()  # the journal cannot be written: nothing may be acknowledged
    futures = [committer.submit(fleet.upload(n, _readings(1), seq=1)) for n in range(3)]
    for future in futures:
        with pytest.raises(JournalError):
            future.result(timeout=30)
    committer.close()
    with pytest.raises(GroupCommitterClosed):
        committer.submit(fleet.upload(0, _readings(2), seq=2))


def test_rejections_travel_back_per_upload(fleet: Fleet) -> None:
    good = fleet.upload(0, _readings(1), seq=1)
    replay = fleet.upload(1, _readings(1), seq=1)
    with GroupCommitter(Ingestor(fleet.journal), max_group=1) as committer:
        assert committer.ingest(good).status == "accepted"
        assert committer.ingest(replay).status == "accepted"
        stale = fleet.upload(1, _readings(3), seq=1)
        rejected = committer.ingest(stale)
    assert (rejected.status, rejected.code) == ("rejected", "replay")
