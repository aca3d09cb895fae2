"""``passport owner``: claim codes and owner links (the API's ``/passports/{id}/claim-codes``,
``/owners/claims``), on the API's own stores under the data dir.

``claim-code`` issues a one-time code for a battery (to print with the vehicle's papers); ``claim``
redeems it for an owner participant (created if new; ``--api-key-file`` also issues its API key into a
0600 file); ``unlink`` ends the link (a sale); ``sign-in-link`` makes a one-time link for the owner's
phone; ``batteries`` lists an owner's links.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import arguments
from cli.arguments import PassportArg
from cli.devices import _write_secret
from cli.output import EXIT_INVALID, JsonOption, die, echo_json, emit, reported
from cli.session import Session

if TYPE_CHECKING:
    from api.auth import ApiKeyStore
    from api.ownership import OwnerLink, OwnershipStore
    from passport.chain.records import PassportRecord

app = typer.Typer(help="Owners: claim codes, claims, unlinking, phone sign-in links.", no_args_is_help=True)

CLAIM_CODE_TTL_S = 365 * 86400.0
SIGN_IN_LINK_TTL_S = 15 * 60.0


@contextmanager
def stores(ctx: typer.Context) -> Iterator[tuple[ApiKeyStore, OwnershipStore]]:
    """The API's key store and ownership store under the settings' data dir."""
    from api.auth import ApiKeyStore
    from api.ownership import OwnershipStore

    settings = Session.of(ctx).settings
    keys = ApiKeyStore.from_settings(settings)
    ownership = OwnershipStore.from_settings(settings)
    try:
        yield keys, ownership
    except Exception as exc:
        from api.errors import ApiError

        if isinstance(exc, ApiError):
            die(exc.detail, EXIT_INVALID)
        raise
    finally:
        ownership.close()
        keys.close()


def ledger_record(ctx: typer.Context, pid: uuid.UUID) -> PassportRecord:
    """The passport's on-chain record; exits 1 if the ledger has none."""
    from passport.ids import passport_id_bytes32

    with reported():
        record = Session.of(ctx).client(None).get_passport(passport_id_bytes32(pid))
    if record is None:
        die(f"no passport {pid} on the ledger", EXIT_INVALID)
    return record


def battery_of(ctx: typer.Context, ownership: OwnershipStore, pid: uuid.UUID) -> str:
    """The passport's battery id: from its owner links, else from its public tier."""
    from passport.model import AccessTier

    links = ownership.links(passport_id=str(pid), current=False)
    if links:
        return links[-1].battery_id
    with reported("cannot read the passport"):
        view = Session.of(ctx).passports(None).fetch(pid, frozenset({AccessTier.PUBLIC})).view
    battery = view.get("general.battery_id")
    if not isinstance(battery, str):
        die(f"passport {pid} names no battery id", EXIT_INVALID)
    return battery


def _when(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def link_fields(link: OwnerLink) -> dict[str, Any]:
    return {
        "participant": link.participant,
        "passport_id": link.passport_id,
        "battery_id": link.battery_id,
        "custodian": link.custodian,
        "linked_at": _when(link.linked_at),
        "unlinked_at": _when(link.unlinked_at),
        "reason": link.reason,
    }


@app.command("claim-code")
def owner_claim_code_command(
    ctx: typer.Context,
    passport: PassportArg,
    by: Annotated[str, typer.Option("--by", help="The issuer issuing it (kept with the code).")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Issue a one-time claim code for the battery's owner (voids an unused earlier one)."""
    pid = arguments.passport_id(passport)
    ledger_record(ctx, pid)
    with stores(ctx) as (_, ownership):
        code, expires = ownership.issue_claim(str(pid), battery_of(ctx, ownership, pid), by, CLAIM_CODE_TTL_S)
    emit({"passport_id": str(pid), "claim_code": code, "expires_at": _when(expires)}, json_output)


@app.command("claim")
def owner_claim_command(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The claim code (dashes and case do not matter).")],
    name: Annotated[str, typer.Option("--name", help="The owner participant (created if new).")],
    key_file: Annotated[
        Path | None,
        typer.Option("--api-key-file", help="Also issue the owner an API key, written here (0600)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Redeem a claim code: ``--name`` becomes the battery's owner and the code is burned."""
    from api.auth import ApiRole
    from api.owners import link_owner
    from passport.ids import parse_passport_id

    with stores(ctx) as (keys, ownership):
        existing = keys.participant(name)
        if existing is not None and not existing.has(ApiRole.OWNER):
            die(f"participant {name!r} exists without the owner role", EXIT_INVALID)
        passport_id, _ = ownership.claim_target(code)
        record = ledger_record(ctx, parse_passport_id(passport_id))
        if existing is None:
            keys.upsert_participant(name, [ApiRole.OWNER])
        link = link_owner(ownership, keys, name, code, record.custodian)
        result = link_fields(link)
        if key_file is not None:
            _write_secret(key_file, keys.issue_key(name))
            result["api_key_file"] = str(key_file)
    emit(result, json_output)


@app.command("unlink")
def owner_unlink_command(
    ctx: typer.Context,
    passport: PassportArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. 'sold').")] = "unlinked by the operator",
    json_output: JsonOption = False,
) -> None:
    """End the battery's current owner link (a sale)."""
    pid = arguments.passport_id(passport)
    with stores(ctx) as (keys, ownership):
        ended = ownership.unlink(str(pid), reason)
        for link in ended:
            keys.unlink_battery(link.participant, link.battery_id)
    if json_output:
        echo_json([link_fields(link) for link in ended])
        return
    typer.echo(f"{len(ended)} owner link(s) ended")


@app.command("sign-in-link")
def owner_sign_in_link_command(
    ctx: typer.Context,
    passport: PassportArg,
    name: Annotated[str, typer.Option("--name", help="The owner participant.")],
    json_output: JsonOption = False,
) -> None:
    """A one-time link (15 minutes) that signs the owner in on the passport page, e.g. on a phone."""
    pid = arguments.passport_id(passport)
    with stores(ctx) as (_, ownership):
        if not ownership.links(participant=name, passport_id=str(pid)):
            die(f"{name!r} is not the current owner of passport {pid}", EXIT_INVALID)
        token, expires = ownership.issue_sign_in_link(name, str(pid), SIGN_IN_LINK_TTL_S)
    base = Session.of(ctx).settings.public_base_url.rstrip("/")
    emit({"url": f"{base}/p/{pid}/sign-in?token={token}", "expires_at": _when(expires)}, json_output)


@app.command("batteries")
def owner_batteries_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The owner participant.")],
    json_output: JsonOption = False,
) -> None:
    """An owner's links, current and ended."""
    with stores(ctx) as (_, ownership):
        links = [link_fields(link) for link in ownership.links(participant=name, current=False)]
    if json_output:
        echo_json(links)
        return
    for link in links:
        state = "current" if link["unlinked_at"] is None else f"ended ({link['reason']})"
        typer.echo(f"{link['passport_id']}  {link['battery_id']:<24} {state}")
