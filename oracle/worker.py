"""The oracle's anchoring worker: the anchoring pipeline run on its own until it is stopped.

``AnchoringWorker.from_settings`` wires it the one way every edge does: the ledger through
``passport.ledger.open_ledger`` acting as the keystore's ``oracle`` participant (the holder of
ORACLE_ROLE, the only role that may anchor), the journal at ``Settings.journal_path``, the content
store ``settings`` name and the key ring under ``Settings.keys_dir`` (its ``telemetry`` KEK seals the
batch documents; the worker needs no other key of the ring). ``run(stop)`` loops in the caller's
thread (``passport worker run``); ``start()``/``stop()`` run the same loop in a background thread
(the local stack, ``make run``).

The worker shares only files with the API (the journal, whose SQLite WAL mode serialises the
connections, and the content store, whose writes are atomic renames), so it can run in the API's
process, beside it, or on another machine that sees the same data directory.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from oracle.anchoring import Anchorer, AnchoringPolicy, RunReport
from oracle.journal import Journal
from passport.db import LeaderLease
from passport.envelope import KeyRing
from passport.ledger import open_ledger
from passport.settings import Settings
from passport.store import open_store

log = logging.getLogger(__name__)

#: The keystore participant the worker acts as.
ORACLE: Final = "oracle"
#: How long ``stop()`` waits for a run in progress (a transaction being mined) to finish.
STOP_TIMEOUT_S: Final = 30.0
LEADER_ROLE: Final = "anchoring"  # the lease name: one sealing and anchoring leader per journal


class AnchoringWorker:
    """Runs ``Anchorer.run_once`` until stopped: waits ``poll_s`` when idle, the backoff after a failure.

    ``AnchorMismatch`` (the ledger holds a root with other metadata: no retry can fix it, an operator
    must look) propagates out of ``run`` and stops the loop; transient failures never do.
    """

    def __init__(
        self,
        anchorer: Anchorer,
        *,
        poll_s: float = 1.0,
        account: str | None = None,
        owns_journal: bool = False,
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll interval must be positive, got {poll_s}")
        self.anchorer = anchorer
        self.poll_s = poll_s
        self.account = account
        self._owns_journal = owns_journal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, policy: AnchoringPolicy | None = None, poll_s: float = 1.0
    ) -> AnchoringWorker:
        """The worker for the ledger, journal and store ``settings`` point at, acting as ``oracle``.

        Raises ``DeploymentError``/``ChainUnavailable``/``KeystoreError`` (``PassportError``) when the
        ledger cannot be opened or the keystore holds no ``oracle`` key.
        """
        chain = open_ledger(settings).client(ORACLE)
        store = open_store(settings)
        journal = Journal.open(settings)
        anchorer = Anchorer(
            journal,
            store,
            chain,
            policy or AnchoringPolicy.from_settings(settings),
            keyring=KeyRing.from_settings(settings),
        )
        return cls(anchorer, poll_s=poll_s, account=chain.account, owns_journal=True)

    @property
    def policy(self) -> AnchoringPolicy:
        return self.anchorer.policy

    # -- in the caller's thread ---------------------------------------------------------------------

    def run_once(self) -> RunReport:
        """One pass: seal the batches that are due and push every batch as far as it goes now."""
        report = self.anchorer.run_once()
        if report.sealed or report.advanced or report.dropped:
            log.info(
                "anchoring: %d sealed, %d steps, %d confirmed, %d dropped by reorgs",
                report.sealed, report.advanced, report.confirmed, report.dropped,
            )  # fmt: skip
        return report

    def drain(self) -> RunReport:
        """Seal everything pending, regardless of age, and anchor it (a one-shot run)."""
        return self.anchorer.drain()

    def run(self, stop: threading.Event) -> None:
        """Run passes until ``stop`` is set, waiting ``poll_s`` when idle and the backoff after a failure."""
        log.info("anchoring worker running as %s", self.account or "the given chain client")
        lease: LeaderLease | None = None
        try:
            while not stop.is_set():
                # One leader seals and anchors at a time, whichever process (API, ``passport worker``)
                # and host it runs in: the others wait and take over when its lease drops (it died,
                # or its database session did). The state machine reconciles a half-sent batch with
                # the chain, so the new leader never anchors a root twice.
                if lease is None or not lease.held():
                    lease = self.anchorer.journal.leader(LEADER_ROLE)
                    if lease is None:
                        stop.wait(self.poll_s)
                        continue
                    log.info("anchoring worker is the anchoring leader")
                report = self.run_once()
                if report.retry_in is not None:
                    stop.wait(report.retry_in)
                elif report.idle:
                    stop.wait(self.poll_s)
        finally:
            if lease is not None:
                lease.release()
        log.info("anchoring worker stopped")

    # -- in a background thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a daemon thread until ``stop()``."""
        if self._thread is not None:
            raise RuntimeError("the anchoring worker is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_logged, name="oracle-anchoring-worker", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run_logged(self) -> None:
        try:
            self.run(self._stop)
        except Exception:
            # Only AnchorMismatch (or a bug) gets here: transient failures are retried inside run().
            # Ingestion goes on regardless; what is journaled is anchored after a restart.
            log.exception("the anchoring worker stopped; readings are still journaled")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the thread and close the journal this worker opened."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)
            if thread.is_alive():
                # Still inside a transaction wait: leave the journal open under it; the process exits.
                log.warning("the anchoring worker did not stop within %.0f s", timeout)
                return
        self.close()

    def close(self) -> None:
        """Close the journal if this worker opened it (``from_settings``)."""
        if self._owns_journal:
            self._owns_journal = False
            self.anchorer.journal.close()

    def __enter__(self) -> AnchoringWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
