"""Device uploads ingested in a child process, so ingestion never holds the API worker's GIL.

Issue #16: with ingestion (signature recovery, per-reading validation, canonical JSON, the journal
write) in the API worker, public reads and uploads share one interpreter lock and each slows the other.
``IngestProcess`` is owned by the API worker (started and stopped by the application's lifespan): it
spawns one child running the oracle's ``Ingestor`` behind a ``GroupCommitter`` on its own connection to
the journal, hands it each upload's raw JSON body over a pipe and gets the acknowledgement's JSON back
only after the child's group commit returned — so "acknowledged = durable" holds exactly as in-process.

Wire format (``multiprocessing`` connection, one message per upload): request ``id (8 bytes) + body``,
reply ``id + b"A" + acknowledgement JSON`` (accepted or duplicate), ``id + b"R" + acknowledgement JSON``
(the upload was rejected whole) or ``id + b"E" + error text`` (the group could not commit:
nothing of it was acknowledged). An empty request asks the child to commit what is queued and exit.

If the child dies, every upload waiting on it fails with ``IngestUnavailable`` (a 503: the device
retransmits, and the journal's sequence/digest check turns a retransmission of an upload that did commit
into a ``duplicate`` with its original acknowledgement), and a supervisor thread starts a new child.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from api.ingest_child import ACK, ID_BYTES, REFUSED, serve
from api.services import ServiceUnavailable
from passport.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a (re)started child may take to import and open the journal before it counts as failed.
START_TIMEOUT: Final = 60.0
#: Pause before restarting a child that died (a child that cannot start must not spin the CPU).
RESTART_DELAY: Final = 0.5


class IngestUnavailable(ServiceUnavailable):
    """The ingestion process is not running (starting, restarting after a crash, or stopped): the upload
    was not acknowledged, so the device sends it again."""


@dataclass(frozen=True, slots=True)
class IngestReply:
    """A committed upload's acknowledgement as the child serialised it, and whether it was refused."""

    ack_json: bytes
    rejected: bool


class IngestProcess:
    """The API worker's handle on its ingestion child (see the module docstring)."""

    def __init__(self, settings: Settings, *, journal_path: Path | None = None) -> None:
        """``journal_path``: the SQLite journal the API's services opened (None: the one ``settings``
        names, which is also how PostgreSQL's is found)."""
        self._settings = settings
        self._journal_path = journal_path
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._lock = threading.Lock()
        self._pending: dict[bytes, Future[IngestReply]] = {}
        self._ids = itertools.count(1)
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The current child's process id (None while none runs)."""
        process = self._process
        return process.pid if process is not None and self._ready.is_set() else None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Spawn the child and wait until it has the journal open; ``IngestUnavailable`` if it cannot."""
        self._supervisor = threading.Thread(target=self._supervise, name="ingest-process", daemon=True)
        self._supervisor.start()
        if not self._ready.wait(timeout):
            self.close()
            raise IngestUnavailable("the ingestion process did not start")

    def submit(self, body: bytes) -> Future[IngestReply]:
        """Send one upload's raw JSON body; the future gives the acknowledgement's JSON after its commit."""
        future: Future[IngestReply] = Future()
        with self._lock:
            conn = self._conn
            if conn is None or not self._ready.is_set():
                raise IngestUnavailable("the ingestion process is not running; send the upload again")
            key = next(self._ids).to_bytes(ID_BYTES, "big")
            self._pending[key] = future
            try:
                conn.send_bytes(key + body)
            except OSError:
                self._pending.pop(key, None)
                raise IngestUnavailable("the ingestion process went away; send the upload again") from None
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Ask the child to commit what is queued and exit (killed after ``timeout``); stop supervising."""
        self._closing.set()
        with self._lock:
            conn, process = self._conn, self._process
            if conn is not None:
                with contextlib.suppress(OSError):  # already gone: nothing to ask
                    conn.send_bytes(b"")
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                log.error("the ingestion process did not stop in %.0f s; killing it", timeout)
                process.kill()
                process.join()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout)

    # -- the supervisor thread: start the child, route its replies, restart it when it dies ---------

    def _supervise(self) -> None:
        while not self._closing.is_set():
            try:
                conn = self._spawn()
            except (OSError, EOFError) as exc:
                log.error("cannot start the ingestion process: %s", exc)
                self._closing.wait(RESTART_DELAY)
                continue
            self._route_replies(conn)
            self._ready.clear()
            with self._lock:
                self._conn = None
                failed, self._pending = self._pending, {}
            for future in failed.values():
                future.set_exception(IngestUnavailable("the ingestion process stopped before committing"))
            conn.close()
            if self._process is not None:
                self._process.join(5)
            if not self._closing.is_set():
                self.restarts += 1
                log.error("the ingestion process exited (%s); restarting it", self._exitcode())
                time.sleep(RESTART_DELAY)

    def _spawn(self) -> Connection:
        parent, child = self._context.Pipe()
        args = (child, self._settings, self._journal_path)
        process = self._context.Process(target=serve, args=args, name="passport-ingest", daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT) or parent.recv_bytes() != b"ready":
            process.kill()
            process.join()
            parent.close()
            raise OSError(f"the ingestion process did not become ready (exit code {process.exitcode})")
        with self._lock:
            self._process, self._conn = process, parent
        self._ready.set()
        return parent

    def _route_replies(self, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                return
            key, kind, payload = message[:ID_BYTES], message[ID_BYTES : ID_BYTES + 1], message[9:]
            with self._lock:
                future = self._pending.pop(key, None)
            if future is None:
                continue
            if kind in (ACK, REFUSED):
                future.set_result(IngestReply(payload, rejected=kind == REFUSED))
            else:
                future.set_exception(IngestUnavailable(f"the upload was not committed: {payload.decode()}"))

    def _exitcode(self) -> int | None:
        return None if self._process is None else self._process.exitcode
