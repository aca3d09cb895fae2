"""The shared-state layer: one ``Database`` port over an embedded SQLite file or a PostgreSQL schema.

Stores (the oracle journal, the audit index, API keys, …) write SQL once, with ``?`` placeholders, and
run it through ``Database.transaction()`` / ``Database.read()``; ``open_database`` picks the backend
from ``Settings.database_url`` (None = SQLite files under the data dir, exactly as before) and applies
the component's versioned migrations. psycopg is imported here and nowhere else.
"""

from passport.db._components import SQLITE_FILES, migrate
from passport.db._database import (
    Cursor,
    Database,
    Dialect,
    LeaderLease,
    open_database,
    open_sqlite,
    open_url,
)
from passport.db._migrations import Migration, apply_migrations, migrations_of
from passport.errors import StorageError, StorageIntegrityError, StorageUnavailable

__all__ = [
    "SQLITE_FILES",
    "Cursor",
    "Database",
    "Dialect",
    "LeaderLease",
    "Migration",
    "StorageError",
    "StorageIntegrityError",
    "StorageUnavailable",
    "apply_migrations",
    "migrate",
    "migrations_of",
    "open_database",
    "open_sqlite",
    "open_url",
]
