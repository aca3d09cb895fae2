"""The journal's fast paths keep its guarantees: sealing outside the write lock, bodies spliced back."""

from __future__ import annotations

from oracle.devices import recover_signer
from oracle.journal import RecordRow
from passport.model import AnchorKind
from tests.builders import charging, parking
from tests.oracle.oracle_samples import Fleet


def _fill(fleet: Fleet, uploads: int) -> None:
    for seq in range(1, uploads + 1):
        ack = fleet.ingestor.ingest(fleet.upload(0, [charging(energy_kwh=1 + seq), parking()], seq=seq))
        assert ack.status == "accepted"


def _build(records: list[RecordRow], created_at: float) -> tuple[bytes, bytes]:
    return bytes([len(records)]) * 32, b"doc-%d" % records[0].id


def test_a_seal_raced_by_another_sealer_writes_nothing_and_seals_again(fleet: Fleet) -> None:
    _fill(fleet, 3)  # 3 charging records pending
    with fleet.journal.reopen() as other:

        def racing_build(records: list[RecordRow], created_at: float) -> tuple[bytes, bytes]:
            # While this sealer builds its document, another connection seals two of the records.
            if not other.batches():
                assert other.open_batch(AnchorKind.CHARGING, 2, _build) is not None
            return _build(records, created_at)

        batch = fleet.journal.open_batch(AnchorKind.CHARGING, 10, racing_build)
    assert batch is not None
    assert batch.record_count == 1  # only what was still pending after the race
    batches = fleet.journal.batches()
    assert [b.record_count for b in batches] == [2, 1]
    # Every record is in exactly one batch, none is lost or sealed twice.
    ids = [r.id for b in batches for r in fleet.journal.batch_records(b.id)]
    assert sorted(ids) == sorted(set(ids))
    assert len(ids) == 3
    assert AnchorKind.CHARGING not in fleet.journal.pending()


def test_the_signed_body_is_spliced_back_exactly(fleet: Fleet) -> None:
    bad = {**parking(), "temp_min_c": 80, "temp_max_c": 10}  # rejected, journaled as a rejection
    upload = fleet.upload(1, [charging(), bad, parking()], seq=1)
    ack = fleet.ingestor.ingest(upload)
    assert [a.index for a in ack.accepted] == [0, 2]
    assert [r.index for r in ack.rejected] == [1]
    stored = fleet.journal.upload_at(fleet.device_id(1), 1)
    assert stored is not None
    # Not stored twice: the row keeps no body, and the one spliced from the readings is what was signed.
    raw = fleet.journal._query("SELECT length(body) FROM uploads WHERE id = ?", (stored.id,))
    assert raw == [(0,)]
    assert recover_signer(stored.body, stored.signature) == fleet.device(1).address
