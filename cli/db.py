"""``passport db migrate``: prepare the shared-state stores (PostgreSQL schemas or SQLite files).

Each store applies its own pending migrations when it opens, so this is optional; run it once before
starting several API and oracle processes against a new PostgreSQL database, so none of them starts
by waiting on another's migration.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import EXIT_UNREADABLE, die, reported
from cli.session import Session
from passport.db import SQLITE_FILES, migrate

app = typer.Typer(
    help="The shared-state database (PASSPORT_DATABASE_URL, or SQLite files).", no_args_is_help=True
)


@app.callback()
def db() -> None:
    """The shared-state database (a group even with one command, so it reads ``db migrate``)."""


@app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    component: Annotated[
        list[str] | None,
        typer.Option("--component", help=f"Only this store (repeatable): {', '.join(sorted(SQLITE_FILES))}."),
    ] = None,
) -> None:
    """Apply every pending schema migration, store by store, and say what was applied."""
    settings = Session.of(ctx).settings
    unknown = sorted(set(component or []) - set(SQLITE_FILES))
    if unknown:
        die(
            f"unknown component(s) {', '.join(unknown)}; known: {', '.join(sorted(SQLITE_FILES))}",
            EXIT_UNREADABLE,
        )
    with reported("cannot migrate the database"):
        applied = migrate(settings, component or None)
    where = "PostgreSQL" if settings.database_url else f"SQLite files under {settings.data_dir}"
    for name, versions in applied.items():
        done = ", ".join(str(v) for v in versions) if versions else "nothing (up to date)"
        typer.echo(f"{name}: applied {done}")
    typer.echo(f"migrated {len(applied)} store(s) in {where}")
