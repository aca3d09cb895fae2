"""``passport did show|rotate``: the did:web documents of the keystore's participants."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import echo_json, reported
from cli.session import Session

app = typer.Typer(help="did:web identifiers of this installation's participants.", no_args_is_help=True)

Participant = Annotated[str, typer.Argument(help="A keystore participant (e.g. issuer).")]


def _account(ctx: typer.Context, participant: str) -> str:
    ledger = Session.of(ctx).ledger()
    with reported():
        return ledger.keystore.address(participant)


@app.command("show")
def show(ctx: typer.Context, participant: Participant = "issuer") -> None:
    """Print the participant's DID document (as served at its did:web URL)."""
    account = _account(ctx, participant)
    credentials = Session.of(ctx).credentials()
    with reported():
        echo_json(credentials.did_document(account))


@app.command("rotate")
def rotate(ctx: typer.Context, participant: Participant) -> None:
    """Give the participant a new credential key; credentials signed with older keys stay valid."""
    account = _account(ctx, participant)
    credentials = Session.of(ctx).credentials()
    with reported():
        credentials.keys.rotate(account)
        echo_json(credentials.did_document(account))
