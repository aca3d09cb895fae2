"""``passport share``: consented sharing of a battery's data (the API's ``/passports/{id}/shares``) and
the access log of its restricted data (``/passports/{id}/access-log``).

``grant --by NAME`` acts as the battery's current owner (a redeemed claim) or as its custodian (a
keystore participant whose account holds custody); a bearer grant prints its link (and ``--qr FILE``
writes it as an SVG QR code).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import arguments
from cli.arguments import PassportArg
from cli.output import EXIT_INVALID, JsonOption, die, echo_json, emit
from cli.owners import battery_of, ledger_record, stores
from cli.session import Session

if TYPE_CHECKING:
    from api.ownership import OwnershipStore, Share
    from passport.chain.records import PassportRecord

app = typer.Typer(help="Consented sharing: grant, revoke, list; the access log.", no_args_is_help=True)

DATA_KINDS = ("passport", "evaluations", "charging", "safety", "parking", "diagnostics", "devices")
ByOption = Annotated[str, typer.Option("--by", help="The owner (participant) or custodian (keystore name).")]


def _when(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def share_fields(share: Share, now: float) -> dict[str, Any]:
    return {
        "id": share.id,
        "passport_id": share.passport_id,
        "grantor": share.grantor,
        "grantee": share.grantee,
        "tier": share.tier,
        "kinds": list(share.kinds),
        "purpose": share.purpose,
        "expires_at": _when(share.expires_at),
        "revoked_at": _when(share.revoked_at),
        "active": share.active(now),
    }


def _require_manager(
    ctx: typer.Context, ownership: OwnershipStore, pid: str, record: PassportRecord, by: str
) -> None:
    """Exit 1 unless ``by`` is the current owner, or the keystore participant holding custody."""
    links = ownership.links(participant=by, passport_id=pid)
    if any(link.custodian.lower() == record.custodian.lower() for link in links):
        return
    ledger = Session.of(ctx).ledger()
    if (
        by in ledger.keystore.names()
        and Session.of(ctx).client(by).account.lower() == record.custodian.lower()
    ):
        return
    die(f"{by!r} is neither the owner nor the custodian of passport {pid}", EXIT_INVALID)


@app.command("grant")
def share_grant_command(
    ctx: typer.Context,
    passport: PassportArg,
    by: ByOption,
    kind: Annotated[
        list[str], typer.Option("--kind", help=f"What to share (repeatable): {', '.join(DATA_KINDS)}.")
    ],
    to: Annotated[str | None, typer.Option("--to", help="The participant granted (or --bearer).")] = None,
    bearer: Annotated[bool, typer.Option("--bearer", help="A link whoever holds it may open.")] = False,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="How long it lasts.")] = 30,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why (shown to the owner).")] = None,
    qr: Annotated[
        Path | None, typer.Option("--qr", help="Write the bearer link's QR code (SVG) here.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Grant a participant (``--to``) or a bearer link (``--bearer``) the chosen data for a period."""
    if (to is None) == (not bearer):
        die("name a participant with --to or ask for --bearer, not both or neither", EXIT_INVALID)
    unknown = sorted(set(kind) - set(DATA_KINDS))
    if unknown:
        die(f"unknown data kind(s) {', '.join(unknown)}: choose from {', '.join(DATA_KINDS)}", EXIT_INVALID)
    pid = arguments.passport_id(passport)
    record = ledger_record(ctx, pid)
    with stores(ctx) as (keys, ownership):
        _require_manager(ctx, ownership, str(pid), record, by)
        if to is not None and keys.participant(to) is None:
            die(f"no participant {to!r}", EXIT_INVALID)
        now = ownership.now()
        share, token = ownership.grant(
            passport_id=str(pid),
            battery_id=battery_of(ctx, ownership, pid),
            grantor=by,
            grantee=to,
            tier="legitimate_interest",
            kinds=kind,
            purpose=purpose,
            expires_at=(datetime.fromtimestamp(now, UTC) + timedelta(days=days)).timestamp(),
        )
        result = share_fields(share, now)
    if token is not None:
        url = f"{Session.of(ctx).settings.public_base_url.rstrip('/')}/api/v1/shared/{token}"
        result["url"] = url
        if qr is not None:
            import segno

            segno.make_qr(url, error="m").save(str(qr), kind="svg", scale=4, border=4)
            result["qr_file"] = str(qr)
    emit(result, json_output)


@app.command("revoke")
def share_revoke_command(
    ctx: typer.Context,
    passport: PassportArg,
    share_id: Annotated[int, typer.Argument(min=1)],
    by: ByOption,
    json_output: JsonOption = False,
) -> None:
    """Revoke a grant at once."""
    pid = arguments.passport_id(passport)
    record = ledger_record(ctx, pid)
    with stores(ctx) as (_, ownership):
        _require_manager(ctx, ownership, str(pid), record, by)
        if ownership.share(share_id).passport_id != str(pid):
            die(f"passport {pid} has no share {share_id}", EXIT_INVALID)
        result = share_fields(ownership.revoke(share_id, by), ownership.now())
    emit(result, json_output)


@app.command("list")
def share_list_command(ctx: typer.Context, passport: PassportArg, json_output: JsonOption = False) -> None:
    """The passport's grants, active and ended."""
    pid = arguments.passport_id(passport)
    with stores(ctx) as (_, ownership):
        now = ownership.now()
        shares = [share_fields(share, now) for share in ownership.shares(str(pid))]
    if json_output:
        echo_json(shares)
        return
    for s in shares:
        who = s["grantee"] or "bearer link"
        state = "active" if s["active"] else ("revoked" if s["revoked_at"] else "expired")
        typer.echo(f"#{s['id']:<5} {who:<20} {','.join(s['kinds']):<40} {state} until {s['expires_at']}")


@app.command("log")
def share_log_command(
    ctx: typer.Context,
    passport: PassportArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    json_output: JsonOption = False,
) -> None:
    """Every read of the passport's restricted data (who, under which role or grant, what), newest first."""
    pid = arguments.passport_id(passport)
    with stores(ctx) as (_, ownership):
        entries = ownership.access_log(str(pid), limit=limit)
    rows = [
        {
            "id": e.id,
            "at": _when(e.at),
            "reader": e.reader,
            "basis": e.basis,
            "what": e.what,
            "detail": e.detail,
        }
        for e in entries
    ]
    if json_output:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['at']}  {r['reader']:<24} {r['basis']:<16} {r['what']}")
