"""Throughput measurements (reported, never asserted: timings depend on the machine).

Run ``uv run pytest tests/oracle/test_benchmarks.py -m slow -s`` to see the figures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oracle.devices import SignedUpload
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.merkle import MerkleTree, verify_proof
from tests.builders import SigningDevice, charging

READINGS_PER_UPLOAD = 50


DEVICES = [SigningDevice.numbered(n) for n in range(8)]


def _uploads(devices: int, per_device: int) -> list[SignedUpload]:
    uploads = []
    for seq in range(1, per_device + 1):
        for n in range(devices):
            readings = [
                charging(energy_kwh=round(2 + (seq * 31 + i * 7 + n) % 97 * 0.1, 2))
                for i in range(READINGS_PER_UPLOAD)
            ]
            uploads.append(DEVICES[n].upload(readings, seq=seq))
    return uploads


@pytest.mark.slow
@pytest.mark.parametrize("group", [1, 10], ids=["commit-per-upload", "group-commit-10"])
def test_ingestion_throughput(tmp_path: Path, group: int) -> None:
    """Validate + verify signature + journal (fsynced), in records per second on one core."""
    uploads = _uploads(devices=8, per_device=25)  # 10,000 records
    with Journal(tmp_path / "bench.db") as journal:
        for device in DEVICES:
            device.register(journal)
        ingestor = Ingestor(journal)
        start = time.perf_counter()
        for i in range(0, len(uploads), group):
            acks = ingestor.ingest_many(uploads[i : i + group])
            assert all(a.status == "accepted" for a in acks)
        elapsed = time.perf_counter() - start
        records = journal.record_count()
    print(
        f"\ningestion ({READINGS_PER_UPLOAD} readings/upload, {group} upload(s)/commit): "
        f"{records / elapsed:,.0f} records/s ({records} records in {elapsed:.2f} s, pid {os.getpid()})"
    )


@pytest.mark.slow
@pytest.mark.parametrize("leaves", [1_000, 100_000])
def test_merkle_build_time(leaves: int) -> None:
    digests = [i.to_bytes(32, "big") for i in range(leaves)]
    start = time.perf_counter()
    tree = MerkleTree.from_digests(digests)
    built = time.perf_counter() - start
    start = time.perf_counter()
    proofs = [tree.proof(d) for d in digests[:1000]]
    proving = (time.perf_counter() - start) / 1000
    assert all(verify_proof(tree.root, d, p) for d, p in zip(digests, proofs, strict=False))
    print(f"\nmerkle {leaves:,} leaves: build {built * 1000:.1f} ms, proof {proving * 1e6:.1f} us each")
