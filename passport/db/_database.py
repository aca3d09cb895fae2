"""``Database``: the port every store writes through, and how one is opened from the settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from passport.db._cursor import Cursor, Dialect
from passport.errors import ConfigError

if TYPE_CHECKING:
    from passport.settings import Settings

Isolation = Literal["read committed", "repeatable read", "serializable"]
_COMPONENT = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

__all__ = [
    "Cursor",
    "Database",
    "Dialect",
    "Isolation",
    "LeaderLease",
    "open_database",
    "open_sqlite",
    "open_url",
]


class LeaderLease(Protocol):
    """Proof that this process is the one leader of a named role (anchoring, the audit follower).

    Released when ``release()`` is called or the process dies (the OS drops the file lock; PostgreSQL
    drops the session's advisory lock with its connection), so another process can take over.
    """

    name: str

    def held(self) -> bool:
        """Whether the lease is still ours (False once its connection or lock was lost)."""
        ...

    def release(self) -> None: ...


class Database(Protocol):
    """One component's tables: an SQLite file, or a schema of a PostgreSQL database."""

    dialect: Dialect
    component: str

    def transaction(self, *, isolation: Isolation = "read committed") -> AbstractContextManager[Cursor]:
        """One write transaction, committed when the block exits normally (rolled back on an exception).

        Nested uses in the same thread join the outer transaction. SQLite: ``BEGIN IMMEDIATE`` (writers
        serialise on the file); PostgreSQL: ``BEGIN`` at ``isolation``.
        """
        ...

    def read(self) -> AbstractContextManager[Cursor]:
        """A read-only snapshot over several statements (joins an open transaction of this thread)."""
        ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """One read statement's rows (one statement is its own snapshot on both backends)."""
        ...

    def leader(self, name: str, *, wait: bool = False) -> LeaderLease | None:
        """Become the one leader of ``name`` now, or None if another process is (``wait``: block
        until the current leader releases it or dies, then take it)."""
        ...

    def reopen(self) -> Database:
        """Another handle on the same store with its own connections (as another process opens it)."""
        ...

    def close(self) -> None: ...


def validate_component(component: str) -> str:
    if not _COMPONENT.match(component):
        raise ConfigError(f"database component {component!r} must match {_COMPONENT.pattern}")
    return component


def open_sqlite(
    path: str | Path,
    component: str,
    *,
    pragmas: Sequence[str] = (),
    migrate: bool = True,
) -> Database:
    """The component's tables in one SQLite file (WAL, ``synchronous=FULL``), migrations applied."""
    from passport.db._migrations import apply_migrations
    from passport.db._sqlite import SqliteDatabase

    db = SqliteDatabase(Path(path), validate_component(component), pragmas=pragmas)
    if migrate:
        try:
            apply_migrations(db)
        except BaseException:
            db.close()
            raise
    return db


def open_url(url: str, component: str, *, pool_size: int = 8, migrate: bool = True) -> Database:
    """The component's schema in the PostgreSQL database at ``url``, migrations applied."""
    from passport.db._migrations import apply_migrations
    from passport.db._postgres import PostgresDatabase

    db = PostgresDatabase(url, validate_component(component), pool_size=pool_size)
    if migrate:
        try:
            apply_migrations(db)
        except BaseException:
            db.close()
            raise
    return db


def open_database(
    settings: Settings,
    component: str,
    sqlite_path: Path,
    *,
    pragmas: Sequence[str] = (),
    migrate: bool = True,
) -> Database:
    """The component's store: PostgreSQL when ``settings.database_url`` is set, else ``sqlite_path``.

    ``sqlite_path`` is the component's own file named in ``passport.settings`` (as before this layer
    existed); ``pragmas`` apply to SQLite only.
    """
    if settings.database_url:
        return open_url(
            settings.database_url, component, pool_size=settings.database_pool_size, migrate=migrate
        )
    return open_sqlite(sqlite_path, component, pragmas=pragmas, migrate=migrate)
