"""Subprocess bodies for the multi-process test on one PostgreSQL (``tests/oracle/test_scale_postgres.py``).

``ingest URL DATA_DIR FIRST LAST UPLOADS`` — an ingestion process: devices ``FIRST..LAST`` each send
``UPLOADS`` signed uploads through a ``GroupCommitter`` on the shared journal; prints ``ack DIGEST…``
for every upload only after its acknowledgement came back (after COMMIT), then ``done``.

``anchor URL DATA_DIR STORE_DIR RPC REGISTRY KEY KILL`` — an anchoring worker process (the real
``AnchoringWorker`` loop, which runs only while it holds the leader lease) against a real node and the
shared embedded store; prints ``leader`` when it takes the lease. ``KILL=1``: SIGKILL itself right
after its first ``send_anchor_batches`` returned (a transaction sent, its batches not yet marked).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.group_commit import GroupCommitter
from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from oracle.worker import AnchoringWorker
from passport.settings import Settings
from tests.builders import SigningDevice, charging, parking, safety
from tests.oracle.oracle_samples import journal_keyring


def _journal(url: str, data_dir: str) -> Journal:
    return Journal.open(Settings(environment="development", data_dir=Path(data_dir), database_url=url))


def ingest(url: str, data_dir: str, first: str, last: str, uploads: str) -> None:
    devices = [SigningDevice.numbered(n) for n in range(int(first), int(last) + 1)]
    with _journal(url, data_dir) as journal, GroupCommitter(Ingestor(journal)) as committer:
        for round_ in range(int(uploads)):
            futures: list[Future[Acknowledgement]] = []
            for n, device in enumerate(devices):
                readings = [
                    charging(energy_kwh=round(1 + (round_ * 7 + n) % 13 * 0.5, 2)),
                    safety(max_cell_temp_c=40 + (round_ + n) % 9),
                    parking(self_discharge_pct=0.1 + (round_ % 5) / 10),
                ]
                futures.append(committer.submit(device.upload(readings)))
            for future in futures:
                ack = future.result(timeout=120)
                assert ack.status == "accepted", ack
                print("ack", *(a.digest for a in ack.accepted), flush=True)
    print("done", flush=True)


class _KillAfterSend:
    """The chain client, SIGKILLing this process right after its first batch transaction was sent."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != "send_anchor_batches":
            return target

        def send(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return result

        return send


class _PrintLeadership(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if "is the anchoring leader" in record.getMessage():
            print("leader", flush=True)


def anchor(url: str, data_dir: str, store_dir: str, rpc: str, registry: str, key_hex: str, kill: str) -> None:
    from passport.chain.web3_client import Web3ChainClient
    from passport.store import EmbeddedStore

    logging.getLogger("oracle.worker").addHandler(_PrintLeadership())
    logging.getLogger("oracle.worker").setLevel(logging.INFO)
    settings = Settings(environment="development", poll_latency=0.005, tx_timeout=30)
    client: Any = Web3ChainClient.from_rpc(rpc, bytes.fromhex(key_hex), registry, settings=settings)
    if kill == "1":
        client = _KillAfterSend(client)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _journal(url, data_dir) as journal:
        policy = AnchoringPolicy(batch_size=40, max_batch_age_s=0.2)
        anchorer = Anchorer(
            journal, EmbeddedStore(Path(store_dir)), client, policy, keyring=journal_keyring(journal)
        )
        AnchoringWorker(anchorer, poll_s=0.05).run(stop)


if __name__ == "__main__":
    modes: dict[str, Callable[..., None]] = {"ingest": ingest, "anchor": anchor}
    modes[sys.argv[1]](*sys.argv[2:])
