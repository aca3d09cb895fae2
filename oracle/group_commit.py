"""Group commit across concurrent uploads: many uploads per fsync, each acknowledged after its commit.

``Ingestor.ingest`` commits (and fsyncs) once per upload, so a server that takes uploads one request
at a time pays one fsync per upload whatever its load. ``GroupCommitter`` puts a queue in front of the
ingestor: request threads ``submit`` an upload and wait on its future; one committer thread takes
whatever has queued up (at most ``max_group`` uploads) and hands it to ``Ingestor.ingest_many``, which
checks and journals them in one transaction and one fsync. Each future resolves only after that commit
returned, so "acknowledged = durable" holds exactly as for ``Ingestor.ingest``; under load the fsync is
shared by every upload that arrived while the previous one ran, and a lone upload waits for nothing
(there is no timer: the group is what is queued when the committer comes round).

A failure of the whole group (the journal cannot commit) is set on every future of the group: none of
them was acknowledged, and their devices retransmit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, Final

from oracle.devices import SignedUpload
from oracle.errors import OracleError
from oracle.ingestion import Acknowledgement, Ingestor

log = logging.getLogger(__name__)

#: Uploads per commit at most (bounds the transaction's size and the wait of the group's first upload).
DEFAULT_MAX_GROUP: Final = 256

_Item = tuple[Mapping[str, Any] | SignedUpload, "Future[Acknowledgement]"]


class GroupCommitterClosed(OracleError):
    """Raised by ``submit`` after ``close``: the upload was not taken (nothing journaled)."""


class GroupCommitter:
    """A committer thread in front of an ``Ingestor`` (see the module docstring)."""

    def __init__(self, ingestor: Ingestor, *, max_group: int = DEFAULT_MAX_GROUP) -> None:
        if max_group < 1:
            raise ValueError(f"max_group must be at least 1, got {max_group}")
        self.ingestor = ingestor
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.commits = 0  # groups committed (for the benchmark's uploads-per-fsync figure)
        self.uploads = 0
        self._thread = threading.Thread(target=self._run, name="oracle-group-commit", daemon=True)
        self._thread.start()

    def submit(self, upload: Mapping[str, Any] | SignedUpload) -> Future[Acknowledgement]:
        """Queue ``upload``; the future gives its acknowledgement once its group has committed."""
        future: Future[Acknowledgement] = Future()
        with self._lock:
            if self._closed:
                raise GroupCommitterClosed("the group committer is closed; the upload was not taken")
            self._queue.put((upload, future))
        return future

    def ingest(
        self, upload: Mapping[str, Any] | SignedUpload, timeout: float | None = None
    ) -> Acknowledgement:
        """``submit`` and wait: what a request thread calls instead of ``Ingestor.ingest``."""
        return self.submit(upload).result(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, then stop the committer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Item]) -> None:
        live = [(upload, future) for upload, future in group if future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            acks = self.ingestor.ingest_many([upload for upload, _ in live])
        except BaseException as exc:  # nothing of the group was acknowledged: every caller hears it
            log.error("group commit of %d upload(s) failed: %s", len(live), exc)
            for _, future in live:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.commits += 1
        self.uploads += len(live)
        for (_, future), ack in zip(live, acks, strict=True):
            future.set_result(ack)
