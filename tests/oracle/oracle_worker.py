"""Subprocess bodies for the SIGKILL tests (run as ``python oracle_worker.py MODE ...``).

``write JOURNAL`` — ingest uploads from device 0 forever, printing ``seq digest…`` for each upload only
after its acknowledgement came back (i.e. after the commit), until killed.

``anchor JOURNAL CHAIN STORE KILL_AT WHEN`` — run the anchoring pipeline to completion against the
file-backed ledger/store doubles, SIGKILLing itself right ``before``/``after`` the ``KILL_AT``-th call
to the ledger or the store (0 = never); prints the calls made when it finishes.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from tests.builders import SigningDevice, charging
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import journal_keyring


def write(journal_path: str) -> None:
    with Journal(journal_path) as journal:
        ingestor = Ingestor(journal)
        device = SigningDevice.numbered(0)
        device.seq = (journal.device("dev-000").last_seq if journal.device("dev-000") else 0) or 0  # type: ignore[union-attr]
        while True:
            seq = device.seq + 1
            readings = [charging(energy_kwh=round(1 + (seq * 7 + i) % 13 * 0.5, 2)) for i in range(5)]
            ack = ingestor.ingest(device.upload(readings))
            assert ack.status == "accepted", ack
            print(seq, *(a.digest for a in ack.accepted), flush=True)


class Killing:
    """Proxy that SIGKILLs the process around the ``at``-th call to any wrapped dependency."""

    def __init__(self, inner: Any, counter: list[int], at: int, after: bool) -> None:
        self._inner, self._counter, self._at, self._after = inner, counter, at, after

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter[0] += 1
            if self._counter[0] == self._at and not self._after:
                os.kill(os.getpid(), signal.SIGKILL)
            result = target(*args, **kwargs)
            if self._counter[0] == self._at and self._after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return call


def anchor(journal_path: str, chain_path: str, store_path: str, kill_at: str, when: str) -> None:
    counter = [0]
    after = when == "after"
    chain = Killing(FakeChain(path=Path(chain_path)), counter, int(kill_at), after)
    store = Killing(FakeStore(path=Path(store_path)), counter, int(kill_at), after)
    with Journal(journal_path) as journal:
        worker = Anchorer(
            journal, store, chain, AnchoringPolicy(batch_size=4), keyring=journal_keyring(journal)
        )
        report = worker.drain()
        assert report.error is None, report
    print("calls", counter[0], flush=True)


def anchor_rpc(
    journal_path: str, store_dir: str, url: str, registry: str, key_hex: str, kill_at: str, when: str
) -> None:
    """Like ``anchor``, against a real node (``Web3ChainClient``) and the embedded store."""
    from passport.chain.web3_client import Web3ChainClient
    from passport.settings import Settings
    from passport.store import EmbeddedStore

    settings = Settings(environment="development", poll_latency=0.005, tx_timeout=30)
    counter = [0]
    after = when == "after"
    client = Web3ChainClient.from_rpc(url, bytes.fromhex(key_hex), registry, settings=settings)
    chain = Killing(client, counter, int(kill_at), after)
    store = Killing(EmbeddedStore(Path(store_dir)), counter, int(kill_at), after)
    with Journal(journal_path) as journal:
        worker = Anchorer(
            journal, store, chain, AnchoringPolicy(batch_size=4), keyring=journal_keyring(journal)
        )
        report = worker.drain()
        assert report.error is None, report
    print("calls", counter[0], flush=True)


if __name__ == "__main__":
    modes: dict[str, Callable[..., None]] = {"write": write, "anchor": anchor, "anchor-rpc": anchor_rpc}
    modes[sys.argv[1]](*sys.argv[2:])
