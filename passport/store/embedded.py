"""``EmbeddedStore``: the default ``ContentStore``, a content-addressed directory on local disk.

Why whole files rather than IPFS blocks: the store's unit is a document, read and written whole; one
file per CID makes a write one atomic rename and a read one ``open``. The blocks an IPFS node would hold
are a function of the bytes (``passport.store.unixfs``), so they are rebuilt when exporting a CAR.

Layout under ``root``::

    content/<shard>/<cid>   one file per CID, the exact bytes; <shard> is the CID's next-to-last two
                            characters (like IPFS's flatfs), so no directory grows past 1,024 entries
    tmp/<pid>-<random>.tmp  writes in progress; never read, removed once their writer is gone

Durability: a put writes a temp file, fsyncs it, renames it into place and fsyncs the directory, so after
a crash a CID's file is either absent or complete; a leftover temp file is never served. Every read is
re-hashed against the CID, so a file damaged later (disk, hand edits) raises ``ContentIntegrityError``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from passport.errors import ContentIntegrityError, ContentNotFound, StoreError
from passport.processes import pid_alive
from passport.store.car import write_car
from passport.store.cid import is_cid, parse_cid
from passport.store.unixfs import Block, file_cid, iter_file_blocks

log = logging.getLogger(__name__)

# A temp file older than this is abandoned even if a process with its PID exists (PIDs are reused).
STALE_TEMP_SECONDS: Final = 3600.0


def _fsync_dir(path: Path) -> None:
    # A rename or a new entry is durable only once the directory holding it is flushed too.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_file_system(path: Path) -> None:
    # syncfs(2) flushes one file system (data and metadata); os.sync() all of them, where it is missing.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None:
            os.sync()
        elif syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise StoreError(f"cannot flush the content store at {path}: {os.strerror(errno)}")
    finally:
        os.close(fd)


class EmbeddedStore:
    """Content-addressed files under ``root``; the same CIDs as an IPFS node; safe across threads."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        """Open (creating if needed) the store at ``root``.

        ``durable=False`` skips the fsyncs: for throwaway stores in tests, never for real data.
        """
        self.root = Path(root)
        self._content = self.root / "content"
        self._tmp = self.root / "tmp"
        self._durable = durable
        self._deferring = threading.local()  # see deferred_sync
        try:
            self._content.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the content store at {self.root}: {exc}") from exc
        self.remove_stale_temp_files()

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.root)!r})"

    # -- ContentStore -------------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        cid = str(file_cid(data))
        path = self._path(cid)
        if path.is_file():
            try:
                self.get(cid)
            except (ContentIntegrityError, ContentNotFound):
                log.warning("replacing damaged content for %s", cid)
            else:
                return cid
        self._write_atomically(path, data)
        return cid

    def get(self, cid: str) -> bytes:
        parsed = parse_cid(cid)
        try:
            data = self._path(cid).read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(f"no content for {cid} in {self.root}") from None
        except OSError as exc:
            raise StoreError(f"cannot read {cid} from {self.root}: {exc}") from exc
        if file_cid(data) != parsed:
            raise ContentIntegrityError(f"the stored bytes for {cid} do not hash to it ({len(data)} bytes)")
        return data

    def has(self, cid: str) -> bool:
        parse_cid(cid)
        return self._path(cid).is_file()

    def pin(self, cid: str) -> None:
        # Nothing is ever collected here, so pinning only confirms the content is held (as a node does).
        if not self.has(cid):
            raise ContentNotFound(f"cannot pin {cid}: no content for it in {self.root}")

    def size(self, cid: str) -> int:
        parse_cid(cid)
        try:
            return self._path(cid).stat().st_size
        except FileNotFoundError:
            raise ContentNotFound(f"no content for {cid} in {self.root}") from None

    # -- beyond the protocol ------------------------------------------------------------------------

    def cids(self) -> Iterator[str]:
        """Every CID held, in no particular order."""
        for shard in self._content.iterdir():
            if not shard.is_dir():
                continue
            for entry in shard.iterdir():
                # Only files this store wrote: canonical CIDs in their own shard.
                if is_cid(entry.name) and entry.name[-3:-1] == shard.name:
                    yield entry.name

    def blocks(self, cid: str) -> Iterator[Block]:
        """The IPFS blocks of ``cid``'s DAG (leaves first, root last), rebuilt from the verified bytes."""
        return iter_file_blocks(self.get(cid))

    def export_car(self, path: Path, roots: Iterable[str] | None = None) -> list[str]:
        """Write the DAGs of ``roots`` (default: everything held) to a CARv1 file; return the roots.

        ``ipfs dag import`` on any node then holds (and pins) the same CIDs. The file is written next to
        ``path`` and renamed into place, so a reader never sees half an archive.
        """
        wanted = sorted(set(self.cids() if roots is None else roots))
        parsed = [parse_cid(cid) for cid in wanted]
        missing = [cid for cid in wanted if not self.has(cid)]
        if missing:
            raise ContentNotFound(f"cannot export {len(missing)} CIDs not held, e.g. {missing[0]}")
        path = Path(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                write_car(out, parsed, (block for cid in wanted for block in self.blocks(cid)))
                out.flush()
                if self._durable:
                    os.fsync(out.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return wanted

    def remove_stale_temp_files(self) -> int:
        """Delete temp files whose writer has exited (a crash mid-write); return how many."""
        removed = 0
        now = time.time()
        for entry in self._tmp.iterdir():
            pid_text = entry.name.split("-", 1)[0]
            try:
                writer_gone = not pid_text.isdigit() or not pid_alive(int(pid_text))
                if writer_gone or now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # its writer finished (renamed it) or another process cleaned it
        if removed:
            log.info("removed %d abandoned temp files from %s", removed, self._tmp)
        return removed

    # -- internals ----------------------------------------------------------------------------------

    def _path(self, cid: str) -> Path:
        return self._content / cid[-3:-1] / cid

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Puts made by this thread inside the block skip their per-file fsyncs (three per new object);
        leaving the block flushes the whole store's file system once (``syncfs``), so everything put
        inside is durable when the block ends, as it would be after each put. For batches: 40 passports
        are ~480 fsyncs one at a time. A crash inside the block may leave torn files, which ``put``
        replaces and ``get`` refuses (their bytes do not hash to their CID). Other threads' puts keep
        their own fsyncs. Without ``durable`` the block changes nothing.
        """
        if not self._durable or getattr(self._deferring, "active", False):
            yield
            return
        self._deferring.active = True
        try:
            yield
        finally:
            self._deferring.active = False
        _sync_file_system(self.root)

    def _write_atomically(self, path: Path, data: bytes) -> None:
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"{os.getpid()}-", suffix=".tmp")
        except OSError as exc:
            raise StoreError(f"cannot write to the content store at {self.root}: {exc}") from exc
        deferred = getattr(self._deferring, "active", False)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                if self._durable and not deferred:
                    os.fsync(out.fileno())
            shard = path.parent
            if not shard.is_dir():
                shard.mkdir(exist_ok=True)
                if self._durable and not deferred:
                    _fsync_dir(self._content)
            # Same file system (both under root), so the rename is atomic: readers see all or nothing.
            os.replace(tmp_name, path)
            if self._durable and not deferred:
                _fsync_dir(shard)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            if isinstance(exc, OSError):
                raise StoreError(f"cannot write {path.name} to {self.root}: {exc}") from exc
            raise
