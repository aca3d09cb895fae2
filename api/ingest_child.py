"""The ingestion child's side of ``api.ingest_process`` (a module of its own so that the spawned child
imports only the oracle's ingestion, not the API and the chain client stack).

Wire format: see ``api.ingest_process``.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from oracle.group_commit import GroupCommitter
from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from passport.settings import Settings

ID_BYTES: Final = 8  # then one byte of reply kind, then the payload (``message[9:]``)
ACK: Final = b"A"  # accepted or duplicate
REFUSED: Final = b"R"  # the whole upload was rejected (the ack says why)
ERROR: Final = b"E"


def serve(conn: Connection, settings: Settings, journal_path: Path | None = None) -> None:
    """The child: journal + ingestor + group committer; answers each request after its commit."""
    journal = Journal(journal_path) if journal_path is not None else Journal.open(settings)
    committer = GroupCommitter(Ingestor(journal))
    send_lock = threading.Lock()

    def reply(key: bytes, future: Future[Acknowledgement]) -> None:
        try:
            ack = future.result()
            payload = (REFUSED if ack.status == "rejected" else ACK) + ack.model_dump_json().encode()
        except Exception as exc:  # the group did not commit: nothing of it was acknowledged
            payload = ERROR + f"{type(exc).__name__}: {exc}".encode()
        with send_lock:
            conn.send_bytes(key + payload)

    conn.send_bytes(b"ready")
    try:
        while True:
            message = conn.recv_bytes()
            if not message:
                break
            key, body = message[:ID_BYTES], message[ID_BYTES:]
            try:
                upload = json.loads(body)
            except ValueError as exc:  # the API validated it first; answer rather than die regardless
                with send_lock:
                    conn.send_bytes(key + ERROR + f"not JSON: {exc}".encode())
                continue
            committer.submit(upload).add_done_callback(partial(reply, key))
    except EOFError:  # the API worker went away: commit what is queued, then exit
        pass
    finally:
        committer.close()
        journal.close()
        conn.close()
