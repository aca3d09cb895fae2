"""Every store on the layer: its component (PostgreSQL schema) and its SQLite file under the data dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from passport.db._database import open_database
from passport.db._migrations import apply_migrations
from passport.settings import Settings

#: component -> its embedded file (``Settings`` names every data_dir path). A store moved onto the
#: layer adds its line here, so ``passport db migrate`` prepares it too.
SQLITE_FILES: dict[str, Callable[[Settings], Path]] = {
    "journal": lambda s: s.journal_path,
    "audit": lambda s: s.audit_index_path,
    "keys": lambda s: s.api_keys_path,
    "ownership": lambda s: s.ownership_path,
    "versions": lambda s: s.version_log_path,
    "market": lambda s: s.market_db_path,
    "alerts": lambda s: s.warnings_path,
    "credentials": lambda s: s.credential_status_path,
}


def migrate(settings: Settings, components: list[str] | None = None) -> dict[str, list[int]]:
    """Apply every pending migration of ``components`` (default: all); the versions applied to each."""
    applied: dict[str, list[int]] = {}
    for component in components or sorted(SQLITE_FILES):
        if component not in SQLITE_FILES:
            raise KeyError(component)
        db = open_database(settings, component, SQLITE_FILES[component](settings), migrate=False)
        try:
            applied[component] = apply_migrations(db)
        finally:
            db.close()
    return applied
