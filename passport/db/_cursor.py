"""The one cursor both backends hand out: ``?`` placeholders, tuple rows, translated errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

from passport.errors import StorageError

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[object]


class _RawCursor(Protocol):
    """What ``sqlite3.Cursor`` and ``psycopg.Cursor`` have in common (DB-API 2)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@functools.lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """``?`` placeholders -> ``%s`` (psycopg's), and literal ``%`` doubled; quoted text is left alone
    except for ``%``, which psycopg parses everywhere in a query that has parameters."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class Cursor:
    """A statement runner inside one ``Database.transaction()`` or ``Database.read()``.

    ``execute`` returns the cursor itself so ``cur.execute(...).fetchone()`` reads as it does on
    sqlite3. Every driver error leaves this class as a ``StorageError`` (``StorageIntegrityError`` for
    constraint violations), so stores never see sqlite3 or psycopg exceptions.
    """

    def __init__(
        self,
        raw: Any,
        dialect: Dialect,
        translate_error: Callable[[Exception], StorageError],
        driver_errors: tuple[type[Exception], ...],
    ) -> None:
        self._raw = raw
        self.dialect: Dialect = dialect
        self._translate_error = translate_error
        self._driver_errors = driver_errors

    def _sql(self, sql: str, has_params: bool) -> str:
        if self.dialect == "postgresql" and has_params:
            return to_pyformat(sql)
        return sql

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        try:
            if self.dialect == "postgresql" and not params:
                self._raw.execute(sql)
            else:
                self._raw.execute(self._sql(sql, True), tuple(params))
        except self._driver_errors as exc:
            raise self._translate_error(exc) from exc
        return self

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        batch = [tuple(r) for r in rows]
        if not batch:
            return self
        try:
            self._raw.executemany(self._sql(sql, True), batch)
        except self._driver_errors as exc:
            raise self._translate_error(exc) from exc
        return self

    def insert(self, sql: str, params: Params = (), *, returning: str = "id") -> int:
        """Run one ``INSERT`` and return the generated ``returning`` column (``lastrowid`` on both)."""
        row = self.execute(f"{sql} RETURNING {returning}", params).fetchone()
        if row is None:
            raise StorageError("INSERT … RETURNING produced no row")
        return int(row[0])

    def script(self, sql: str) -> None:
        """Run several ``;``-separated statements without parameters (migrations)."""
        for statement in split_statements(sql) if self.dialect == "sqlite" else [sql]:
            self.execute(statement)

    def fetchone(self) -> tuple[Any, ...] | None:
        try:
            row = self._raw.fetchone()
        except self._driver_errors as exc:
            raise self._translate_error(exc) from exc
        return None if row is None else tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self._raw.fetchall()]
        except self._driver_errors as exc:
            raise self._translate_error(exc) from exc

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._raw.rowcount)


def split_statements(script: str) -> list[str]:
    """A SQLite script cut into complete statements (``executescript`` would COMMIT first)."""
    import sqlite3

    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise StorageError(f"incomplete SQL statement at the end of a script: {buffer.strip()[:80]!r}")
    return statements
