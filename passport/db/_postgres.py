"""The shared backend: one schema per component in a PostgreSQL database, a connection pool per process.

Connections run in autocommit and this module issues ``BEGIN``/``COMMIT`` itself, so a transaction spans
exactly the ``with`` block (as on SQLite). A caller acknowledges only after ``transaction()`` returned,
i.e. after PostgreSQL's COMMIT, which with the server's default ``synchronous_commit=on`` has flushed
the WAL: an acknowledged write survives a crash of this process or of the server.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from passport.db._cursor import Cursor, Dialect
from passport.db._database import Isolation, LeaderLease
from passport.errors import StorageError, StorageIntegrityError, StorageUnavailable

_DRIVER_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)
_BEGIN: dict[str, str] = {
    "read committed": "BEGIN ISOLATION LEVEL READ COMMITTED",
    "repeatable read": "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "serializable": "BEGIN ISOLATION LEVEL SERIALIZABLE",
}


def translate_pg_error(exc: Exception) -> StorageError:
    if isinstance(exc, psycopg.errors.IntegrityError):
        return StorageIntegrityError(str(exc))
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.SerializationFailure):
        return StorageUnavailable(str(exc))
    return StorageError(str(exc))


def lock_key(schema: str, name: str) -> str:
    """The text an advisory lock is keyed on (hashed by ``hashtextextended`` in the server)."""
    return f"passport.{schema}.{name}"


class _AdvisoryLease:
    """Leadership on PostgreSQL: a session advisory lock held on a connection of its own.

    The server drops the lock with the session, so a leader killed mid-batch (SIGKILL, lost host) frees
    it as soon as its connection dies and another process can take over.
    """

    def __init__(self, name: str, conn: psycopg.Connection[Any]) -> None:
        self.name = name
        self._conn: psycopg.Connection[Any] | None = conn

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # ends the session, which drops its advisory locks
            finally:
                self._conn = None


class PostgresDatabase:
    """One component's schema (``search_path`` set per connection) in a shared PostgreSQL database."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, component: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.component = component
        self.schema = component
        self._local = threading.local()
        self._pool_size = pool_size
        self._conn_kwargs: dict[str, Any] = {
            "autocommit": True,
            "options": f"-c search_path={component}",
        }
        try:
            self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                kwargs=self._conn_kwargs,
                open=False,
                name=f"passport-{component}",
                timeout=30,
            )
            self._pool.open(wait=True, timeout=30)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise StorageUnavailable(f"cannot reach PostgreSQL for {component}: {exc}") from exc

    def _new_cursor(self, conn: psycopg.Connection[Any]) -> Cursor:
        return Cursor(conn.cursor(), "postgresql", translate_pg_error, _DRIVER_ERRORS)

    @contextmanager
    def _session(self, begin: str) -> Iterator[Cursor]:
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield self._local.cursor
            finally:
                self._local.depth = depth
            return
        try:
            with self._pool.connection() as conn:
                self._run(conn, begin)
                cursor = self._new_cursor(conn)
                self._local.depth, self._local.cursor = 1, cursor
                try:
                    yield cursor
                except BaseException:
                    self._local.depth, self._local.cursor = 0, None
                    # The caller's error is the one to report; a lost connection rolls back by itself
                    # (and the pool discards it).
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(b"ROLLBACK")
                    raise
                self._local.depth, self._local.cursor = 0, None
                self._run(conn, "COMMIT")
        except psycopg.Error as exc:  # taking or returning the connection (pool closed, timed out, lost)
            raise translate_pg_error(exc) from exc

    @staticmethod
    def _run(conn: psycopg.Connection[Any], statement: str) -> None:
        try:
            conn.execute(statement.encode())
        except psycopg.Error as exc:
            raise translate_pg_error(exc) from exc

    def transaction(self, *, isolation: Isolation = "read committed") -> Any:
        return self._session(_BEGIN[isolation])

    def read(self) -> Any:
        return self._session("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if getattr(self._local, "depth", 0):
            cursor: Cursor = self._local.cursor
            return cursor.execute(sql, params).fetchall()
        try:
            with self._pool.connection() as conn:
                return self._new_cursor(conn).execute(sql, params).fetchall()
        except psycopg.Error as exc:  # taking or returning the connection (pool closed, timed out, lost)
            raise translate_pg_error(exc) from exc

    def leader(self, name: str, *, wait: bool = False) -> LeaderLease | None:
        try:
            conn = psycopg.connect(self.url, **self._conn_kwargs)
        except psycopg.Error as exc:
            raise translate_pg_error(exc) from exc
        try:
            if wait:
                conn.execute(
                    "SELECT pg_advisory_lock(hashtextextended(%s, 0))", (lock_key(self.schema, name),)
                )
                row: tuple[Any, ...] | None = (True,)
            else:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (lock_key(self.schema, name),)
                ).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise translate_pg_error(exc) from exc
        if not (row and row[0]):
            conn.close()
            return None
        return _AdvisoryLease(name, conn)

    def reopen(self) -> PostgresDatabase:
        return PostgresDatabase(self.url, self.component, pool_size=self._pool_size)

    def close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        # The URL without its password (if any), so the repr can go into logs.
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        where = f"{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"
        return f"PostgresDatabase({where!r}, schema={self.schema!r})"
