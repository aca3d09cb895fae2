"""The fleet's devices sign their uploads in a worker process, a simulated day ahead of ingestion.

Signing a day's uploads (canonical readings, keccak, secp256k1) costs ~70 µs per upload and is pure
CPU, while the pilot's main process is busy ingesting, anchoring and issuing on one core: ~716k signed
uploads in a full year (issue #16). ``UploadSigner`` hands a day's uploads to a process pool as soon as
the day is generated and collects the signatures when the day is ingested, so the previous day's
ingestion runs meanwhile on the other core. What crosses the process boundary is small and plain (the
device's key, ids, sequence number and reading objects out; a 65-byte signature back); the main
process then builds each ``SignedUpload`` exactly as ``oracle.devices.sign_upload`` does.

Measured (README "Pilot simulation"): on this 2-core machine under load 3-5 (other work running) a
worker gave no gain, since the pool's result and feeder threads need the pilot's GIL-bound process; so
``PilotConfig.signing_workers`` defaults to 0 (signed in-process, a day ahead all the same).

The signature is the one ``DeviceKey.sign`` gives in-process: same body (``upload_body`` over
``canonical_readings``), same deterministic RFC 6979 nonce, so a run's uploads are byte-identical
whichever way they were signed.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from oracle.devices import DeviceKey, SignedUpload, canonical_readings, upload_body

#: Uploads per task sent to a worker: large enough that the pool's per-task overhead is noise.
CHUNK: Final = 1000


@dataclass(frozen=True, slots=True)
class SigningJob:
    """One upload to sign: what a device's firmware has when it signs."""

    private_key: bytes
    device_id: str
    battery_id: str
    seq: int
    readings: list[dict[str, Any]]


@lru_cache(maxsize=16384)
def _device_key(private_key: bytes) -> DeviceKey:
    # Deriving the address (a point multiplication) costs as much as a signature: once per device.
    return DeviceKey.from_private_key(private_key)


def sign_jobs(jobs: Sequence[SigningJob]) -> list[str]:
    """Each job's signature, as ``sign_upload`` computes it (runs in a worker process)."""
    return [
        _device_key(job.private_key).sign(
            upload_body(job.device_id, job.battery_id, job.seq, canonical_readings(job.readings))
        )
        for job in jobs
    ]


def _signed(jobs: Sequence[SigningJob], signatures: Sequence[str]) -> list[SignedUpload]:
    return [
        SignedUpload(
            device_id=job.device_id,
            battery_id=job.battery_id,
            seq=job.seq,
            readings=job.readings,
            signature=signature,
        )
        for job, signature in zip(jobs, signatures, strict=True)
    ]


PendingUploads = Callable[[], list[SignedUpload]]
"""Call to collect a submitted day's signed uploads (in the order submitted)."""


class UploadSigner:
    """Signs uploads in ``workers`` processes (0: in this process, when submitted); close when done."""

    def __init__(self, workers: int) -> None:
        if workers < 0:
            raise ValueError("workers must not be negative")
        # spawn, not fork: the pilot holds a node client, SQLite connections and threads.
        self._pool = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers else None
        )

    def submit(self, jobs: list[SigningJob]) -> PendingUploads:
        """Start signing ``jobs``; the returned callable waits for and returns the signed uploads."""
        if self._pool is None:
            done = _signed(jobs, sign_jobs(jobs))
            return lambda: done
        futures: list[Future[list[str]]] = [
            self._pool.submit(sign_jobs, jobs[start : start + CHUNK]) for start in range(0, len(jobs), CHUNK)
        ]

        def collect() -> list[SignedUpload]:
            return _signed(jobs, [signature for future in futures for signature in future.result()])

        return collect

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
