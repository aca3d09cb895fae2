"""The embedded backend: one SQLite file per component, one connection per ``Database``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from passport.db._cursor import Cursor, Dialect
from passport.db._database import Isolation, LeaderLease
from passport.errors import StorageError, StorageIntegrityError, StorageUnavailable

_DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)


def translate_sqlite_error(exc: Exception) -> StorageError:
    if isinstance(exc, sqlite3.IntegrityError):
        return StorageIntegrityError(str(exc))
    return StorageError(str(exc))


class _FileLease:
    """Leadership on SQLite: an exclusive ``flock`` on a file beside the database (dropped on exit)."""

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd: int | None = fd

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class SqliteDatabase:
    """One SQLite file in WAL mode with ``synchronous=FULL``: every COMMIT fsyncs the WAL, so what a
    caller acknowledged after ``transaction()`` returned survives a kill or a power loss.

    One connection guarded by a lock (the API's threads may share it); other processes open their own
    on the same file: WAL gives them consistent reads while one writer commits, and ``BEGIN IMMEDIATE``
    plus a busy timeout serialises writers.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, component: str, *, pragmas: Sequence[str] = ()) -> None:
        self.path = path
        self.component = component
        self._lock = threading.RLock()
        self._depth = 0
        self._cursor: Cursor | None = None
        self._pragmas = tuple(pragmas)
        self._memory = str(path) == ":memory:"  # a throwaway database (tests, a reference index)
        try:
            if not self._memory:
                path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction spans exactly
            # what the code says (the sqlite3 module's implicit transactions would not).
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal" and not self._memory:
                raise StorageUnavailable(f"{path}: SQLite refused WAL mode (got {mode!r})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            for pragma in pragmas:
                self._conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StorageUnavailable(f"cannot open {path}: {exc}") from exc
        except StorageUnavailable:
            self._conn.close()
            raise

    def _new_cursor(self) -> Cursor:
        try:
            raw = self._conn.cursor()
        except sqlite3.Error as exc:  # e.g. used after close()
            raise translate_sqlite_error(exc) from exc
        return Cursor(raw, "sqlite", translate_sqlite_error, _DRIVER_ERRORS)

    @contextmanager
    def transaction(self, *, isolation: Isolation = "read committed") -> Iterator[Cursor]:
        # SQLite transactions are serializable whatever is asked: one writer at a time.
        del isolation
        with self._lock:
            if self._depth:
                assert self._cursor is not None
                self._depth += 1
                try:
                    yield self._cursor
                finally:
                    self._depth -= 1
                return
            self._begin("BEGIN IMMEDIATE")
            self._depth = 1
            self._cursor = self._new_cursor()
            try:
                yield self._cursor
            except BaseException:
                self._end("ROLLBACK")
                raise
            else:
                self._end("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self._lock:
            if self._depth:
                assert self._cursor is not None
                yield self._cursor
                return
            # A deferred BEGIN: the snapshot starts at the first read and holds until COMMIT.
            self._begin("BEGIN")
            self._depth = 1
            self._cursor = self._new_cursor()
            try:
                yield self._cursor
            finally:
                self._end("COMMIT")

    def _begin(self, statement: str) -> None:
        try:
            self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc) from exc

    def _end(self, statement: str) -> None:
        self._depth = 0
        self._cursor = None
        try:
            self._conn.execute(statement)
        except sqlite3.Error as exc:
            if statement == "COMMIT":
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                    self._conn.execute("ROLLBACK")
            raise translate_sqlite_error(exc) from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self._cursor if self._depth else self._new_cursor()
            assert cursor is not None
            return cursor.execute(sql, params).fetchall()

    def leader(self, name: str, *, wait: bool = False) -> LeaderLease | None:
        if self._memory:
            return _FileLease(name, os.open(os.devnull, os.O_RDONLY))  # no other process can see it
        lock_path = self.path.with_name(f"{self.path.name}.{name}.leader")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return _FileLease(name, fd)

    def reopen(self) -> SqliteDatabase:
        return SqliteDatabase(self.path, self.component, pragmas=self._pragmas)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r}, component={self.component!r})"
