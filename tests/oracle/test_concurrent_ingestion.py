"""Several ingesters on one journal (each with its own connections, as separate processes have).

On SQLite ``BEGIN IMMEDIATE`` serialises them; on PostgreSQL the device rows are locked per group.
Either way each sequence number of a device is accepted once, a retransmission gets the original
acknowledgement back as ``duplicate``, and sealing in one process while another ingests loses nothing.
"""

from __future__ import annotations

import threading

from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from tests.builders import SigningDevice, charging
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import anchorer

UPLOADS = 30


def test_two_ingesters_race_on_every_sequence_number(journal: Journal) -> None:
    device = SigningDevice.numbered(0).register(journal)
    uploads = [
        device.upload([charging(energy_kwh=1 + n % 7), charging(energy_kwh=2)]) for n in range(UPLOADS)
    ]
    handles = [journal, journal.reopen()]
    acks: list[list[Acknowledgement]] = [[], []]

    def send(i: int) -> None:
        ingestor = Ingestor(handles[i])
        for upload in uploads:  # both send every upload: one accepts it, the other sees a duplicate
            acks[i].append(ingestor.ingest(upload))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    handles[1].close()
    for n in range(UPLOADS):
        pair = sorted((acks[0][n].status, acks[1][n].status))
        assert pair == ["accepted", "duplicate"], (n, pair)
        assert acks[0][n].accepted == acks[1][n].accepted  # the same record ids and digests
    assert journal.device(device.device_id).last_seq == UPLOADS  # type: ignore[union-attr]
    assert journal.record_count() == 2 * UPLOADS


def test_sealing_while_another_process_ingests_loses_nothing(journal: Journal) -> None:
    devices = [SigningDevice.numbered(n).register(journal) for n in range(4)]
    ingesting = journal.reopen()
    accepted: list[int] = []

    def ingest() -> None:
        ingestor = Ingestor(ingesting)
        for round_ in range(10):
            for device in devices:
                ack = ingestor.ingest(device.upload([charging(energy_kwh=1 + round_), charging()]))
                accepted.extend(a.record_id for a in ack.accepted)

    thread = threading.Thread(target=ingest)
    thread.start()
    chain, store = FakeChain(), FakeStore()
    pipeline = anchorer(journal, store, chain, batch_size=7)
    while thread.is_alive():
        pipeline.run_once()
    thread.join()
    ingesting.close()
    assert pipeline.drain().error is None
    batches = journal.batches()
    assert {b.state for b in batches} == {"confirmed"}
    assert sum(b.record_count for b in batches) == len(accepted) == journal.record_count() == 80
    assert {journal.record(i).state for i in accepted} == {"confirmed"}
