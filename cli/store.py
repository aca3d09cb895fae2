"""``passport store repair``: make both copies of a mirrored content store whole.

With ``PASSPORT_STORE_BACKEND=mirrored`` every put goes to the embedded directory and the IPFS node,
and reads repair the directory one CID at a time. After either side was lost (a wiped data directory, a
node replaced by an empty one), this copies everything at once: each CID the directory holds goes to the
node, and each ``--cid`` named (e.g. the manifests the ledger anchors) is fetched back into the directory.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import EXIT_INVALID, die, reported
from cli.session import Session
from passport.store import MirroredStore, open_store

app = typer.Typer(help="The content store (PASSPORT_STORE_BACKEND).", no_args_is_help=True)


@app.callback()
def store() -> None:
    """The content store (a group even with one command, so it reads ``store repair``)."""


@app.command("repair")
def repair_command(
    ctx: typer.Context,
    cid: Annotated[
        list[str] | None, typer.Option("--cid", help="Also restore this CID into the directory (repeatable).")
    ] = None,
) -> None:
    """Copy what only one side of the mirrored store holds to the other, and say how much moved."""
    settings = Session.of(ctx).settings
    if settings.store_backend != "mirrored":
        die(
            f"store repair needs PASSPORT_STORE_BACKEND=mirrored (it is {settings.store_backend})",
            EXIT_INVALID,
        )
    mirrored = open_store(settings)
    assert isinstance(mirrored, MirroredStore)
    try:
        with reported("cannot repair the content store"):
            report = mirrored.repair(cid or [])
    finally:
        mirrored.close()
    typer.echo(
        f"checked {report.checked} CID(s): {report.to_node} copied to the node, "
        f"{report.to_embedded} restored to the directory"
    )
