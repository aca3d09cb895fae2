"""Versioned SQL per component and dialect (``migrations/<component>/NNNN_name.<dialect>.sql``).

Applied in order when a component opens (and by ``passport db migrate``), each once: a
``schema_migrations`` table in the component's schema records what ran. On PostgreSQL the whole run
holds a transaction-scoped advisory lock, so processes starting together apply each migration once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from passport.db._cursor import Dialect
from passport.db._database import Database
from passport.errors import StorageError


def _migrate_lock_key(component: str) -> str:
    return f"passport.{component}.migrate"


_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One versioned step of a component's schema."""

    version: int
    name: str
    sql: str


def migrations_of(component: str, dialect: Dialect) -> list[Migration]:
    """The component's migrations for ``dialect``, oldest first (none if it has no directory)."""
    root = resources.files("passport.db.migrations").joinpath(component)
    if not root.is_dir():
        return []
    found: list[Migration] = []
    for entry in root.iterdir():
        match = _FILE.match(entry.name)
        if match and match.group(3) == dialect:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StorageError(f"{component}: two {dialect} migrations share a version: {versions}")
    return found


def apply_migrations(db: Database) -> list[int]:
    """Apply the component's pending migrations in one transaction; the versions applied."""
    migrations = migrations_of(db.component, db.dialect)
    applied: list[int] = []
    with db.transaction() as cur:
        if db.dialect == "postgresql":
            # Serialise concurrent openers before CREATE SCHEMA (which races on pg_namespace).
            cur.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (_migrate_lock_key(db.component),)
            )
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{db.component}"')
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {int(v) for (v,) in cur.execute("SELECT version FROM schema_migrations").fetchall()}
        for migration in migrations:
            if migration.version in done:
                continue
            cur.script(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            applied.append(migration.version)
    return applied
