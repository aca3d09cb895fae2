"""``passport admin``: onboarding on this installation (the API's ``/participants`` and ``/businesses``).

Acts on the installation's files directly (the API key store under ``PASSPORT_DATA_DIR``, the keystore,
the content store) and on the ledger as the keystore's ``admin``, so it works before any API key exists:
``passport admin bootstrap`` makes the first one. A running API server sees every change at once (the
key store is shared SQLite; custodial keys are loaded from the keystore on first use).

Bad input exits 2; a refusal (already exists, not found, a revert) exits 1.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from api import onboarding
from api.auth import ApiKeyInfo, ApiKeyStore, ApiRole, Participant, ParticipantKind
from api.errors import ApiError
from api.onboarding import DetailsCreate, ParticipantCreate
from cli import arguments
from cli.output import EXIT_INVALID, EXIT_UNREADABLE, JsonOption, die, echo_json, emit, reported
from cli.session import Session
from passport.chain.devfunding import fund_in_development
from passport.directory import BusinessDetails, check_details, kind_names
from passport.model import BusinessKind
from passport.store import open_store

app = typer.Typer(
    help="Onboarding: participants, roles, API keys and businesses (ledger admin).", no_args_is_help=True
)
participant_app = typer.Typer(help="Participants and their directory records.", no_args_is_help=True)
role_app = typer.Typer(
    help="Grant and revoke roles (registry roles on-chain, as admin).", no_args_is_help=True
)
key_app = typer.Typer(help="API keys: issue, list, rotate, revoke.", no_args_is_help=True)
business_app = typer.Typer(
    help="Register businesses with their details; the directory.", no_args_is_help=True
)
app.add_typer(participant_app, name="participant")
app.add_typer(role_app, name="role")
app.add_typer(key_app, name="key")
app.add_typer(business_app, name="business")

AdminOption = Annotated[str, typer.Option("--as", help="The keystore participant acting as admin.")]
NameArg = Annotated[str, typer.Argument(help="The participant's handle (lowercase, digits, - and _).")]


class BusinessKindName(StrEnum):
    """An activity of a registered business (``BusinessKind``, by name)."""

    COLLECTOR = "collector"
    REUSER = "reuser"
    REPURPOSER = "repurposer"
    REMANUFACTURER = "remanufacturer"
    RECYCLER = "recycler"


class BusinessStatus(StrEnum):
    """Whether a registered business may take custody."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


@contextmanager
def refused() -> Iterator[None]:
    """Onboarding refusals (``ApiError``) and library errors as message + exit code."""
    try:
        with reported():
            yield
    except ApiError as exc:
        die(f"{exc.title}: {exc.detail}", EXIT_UNREADABLE if exc.status in (400, 422) else EXIT_INVALID)


def _keys(session: Session) -> ApiKeyStore:
    return ApiKeyStore.from_settings(session.settings)


def _participant(record: Participant, session: Session) -> dict[str, Any]:
    keystore = session.ledger().keystore
    return {
        "name": record.name,
        "kind": None if record.kind is None else record.kind.value,
        "display_name": record.display_name,
        "country": record.country,
        "registration_number": record.registration_number,
        "contact": record.contact,
        "roles": sorted(r.value for r in record.roles),
        "account": record.account,
        "custodial": record.name in keystore,
    }


def _key(info: ApiKeyInfo) -> dict[str, Any]:
    return {
        "key_id": info.key_id,
        "participant": info.participant,
        "roles": None if info.roles is None else sorted(r.value for r in info.roles),
        "read_only": info.read_only,
        "state": info.state(int(time.time())),
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "last_used_at": info.last_used_at,
        "revoked_at": info.revoked_at,
        "label": info.label,
        "replaced_by": info.replaced_by,
    }


def _expiry(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= 3650:
        die("--expires-in-days must be between 1 and 3650", EXIT_UNREADABLE)
    return None if days is None else int(time.time()) + days * 86_400


def _kinds(kind: list[BusinessKindName]) -> BusinessKind:
    kinds = BusinessKind(0)
    for name in kind:
        kinds |= BusinessKind[name.name]
    return kinds


# -- bootstrap -------------------------------------------------------------------------------------------


@app.command("bootstrap")
def bootstrap_command(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Add a key even if an admin exists.")] = False,
    admin: AdminOption = onboarding.ADMIN_PARTICIPANT,
    json_output: JsonOption = False,
) -> None:
    """Create the first admin participant and its API key on a fresh installation (shown once)."""
    session = Session.of(ctx)
    with reported("cannot open the ledger"):
        account = session.ledger().keystore.address(admin)
    keys = _keys(session)
    try:
        with refused():
            participant, api_key = onboarding.bootstrap_admin(keys, account, force=force)
    finally:
        keys.close()
    emit({"participant": participant.name, "account": account, "api_key": api_key}, json_output)


# -- participants ----------------------------------------------------------------------------------------


@participant_app.command("create")
def participant_create_command(
    ctx: typer.Context,
    name: NameArg,
    kind: Annotated[ParticipantKind, typer.Option("--kind", help="What kind of party it is.")],
    display_name: Annotated[str, typer.Option("--display-name", help="The legal name.")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166-1 alpha-2, e.g. KR.")],
    registration_number: Annotated[
        str | None, typer.Option("--registration-number", help="Registration or licence number.")
    ] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="A public contact.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="An account it holds itself.")] = None,
    custodial: Annotated[
        bool, typer.Option("--custodial", help="Create and hold its on-chain key in the keystore.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Onboard a participant with its directory record."""
    try:
        spec = ParticipantCreate(
            name=name,
            kind=kind,
            display_name=display_name,
            country=country,
            registration_number=registration_number,
            contact=contact,
            account=account,
            custodial=custodial,
        )
    except ValidationError as exc:
        die("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), EXIT_UNREADABLE)
    session = Session.of(ctx)
    settings = session.settings
    ledger = session.ledger()
    keys = _keys(session)
    try:
        with refused():
            record = onboarding.create_participant(
                keys,
                Participant(**spec.model_dump(exclude={"custodial"})),
                custodial=spec.custodial,
                keystore=ledger.keystore,
                fund=lambda address: fund_in_development(settings, address),
            )
    finally:
        keys.close()
    emit(_participant(record, session), json_output)


@participant_app.command("list")
def participant_list_command(
    ctx: typer.Context,
    kind: Annotated[ParticipantKind | None, typer.Option("--kind")] = None,
    role: Annotated[ApiRole | None, typer.Option("--role")] = None,
    json_output: JsonOption = False,
) -> None:
    """Every participant (by name), filtered by kind and role."""
    session = Session.of(ctx)
    keys = _keys(session)
    try:
        found = [_participant(p, session) for p in keys.list_participants(kind=kind, role=role)]
    finally:
        keys.close()
    if json_output:
        echo_json(found)
        return
    for p in found:
        typer.echo(
            f"{p['name']:<24} {p['kind'] or '-':<13} {','.join(p['roles']) or '-':<24} {p['account'] or '-'}"
        )


@participant_app.command("show")
def participant_show_command(ctx: typer.Context, name: NameArg, json_output: JsonOption = False) -> None:
    """A participant's record, roles and keys."""
    session = Session.of(ctx)
    keys = _keys(session)
    try:
        with refused():
            record = keys.require_participant(name)
        shown = _participant(record, session) | {"keys": [_key(k) for k in keys.list_keys(name)]}
    finally:
        keys.close()
    emit(shown, json_output)


# -- roles -------------------------------------------------------------------------------------------------


def _change_role(
    ctx: typer.Context, name: str, role: ApiRole, admin: str, json_output: bool, *, grant: bool
) -> None:
    session = Session.of(ctx)
    reader = session.client(None)
    client = session.client(admin)
    keys = _keys(session)
    try:
        with refused():
            change = onboarding.change_role(keys, reader, client, name, role, grant=grant)
    finally:
        keys.close()
    emit(
        {
            "participant": change.participant.name,
            "role": change.role.value,
            "roles": sorted(r.value for r in change.participant.roles),
            "on_chain_role": None if change.on_chain_role is None else change.on_chain_role.role_name,
            "tx_hash": change.tx_hash,
        },
        json_output,
    )


@role_app.command("grant")
def role_grant_command(
    ctx: typer.Context,
    name: NameArg,
    role: Annotated[ApiRole, typer.Argument(help="The role.")],
    admin: AdminOption = onboarding.ADMIN_PARTICIPANT,
    json_output: JsonOption = False,
) -> None:
    """Grant a role (a registry role on-chain first, as the admin)."""
    _change_role(ctx, name, role, admin, json_output, grant=True)


@role_app.command("revoke")
def role_revoke_command(
    ctx: typer.Context,
    name: NameArg,
    role: Annotated[ApiRole, typer.Argument(help="The role.")],
    admin: AdminOption = onboarding.ADMIN_PARTICIPANT,
    json_output: JsonOption = False,
) -> None:
    """Revoke a role (from the API at once, then on-chain for a registry role)."""
    _change_role(ctx, name, role, admin, json_output, grant=False)


# -- keys --------------------------------------------------------------------------------------------------


@key_app.command("issue")
def key_issue_command(
    ctx: typer.Context,
    name: NameArg,
    role: Annotated[
        list[ApiRole] | None, typer.Option("--role", help="A role the key carries (repeatable; default all).")
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Only GET/HEAD requests.")] = False,
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days")] = None,
    label: Annotated[str | None, typer.Option("--label")] = None,
    json_output: JsonOption = False,
) -> None:
    """Issue an API key for a participant; the key is printed this once."""
    expires_at = _expiry(expires_in_days)
    keys = _keys(Session.of(ctx))
    try:
        with refused():
            keys.require_participant(name)
            api_key = keys.issue_key(
                name, roles=role or None, read_only=read_only, expires_at=expires_at, label=label
            )
        info = keys.key_info(api_key.split("_", 2)[1])
    finally:
        keys.close()
    assert info is not None
    emit(_key(info) | {"api_key": api_key}, json_output)


@key_app.command("list")
def key_list_command(ctx: typer.Context, name: NameArg, json_output: JsonOption = False) -> None:
    """A participant's keys (never their secrets), revoked and expired ones included."""
    keys = _keys(Session.of(ctx))
    try:
        with refused():
            keys.require_participant(name)
        found = [_key(k) for k in keys.list_keys(name)]
    finally:
        keys.close()
    if json_output:
        echo_json(found)
        return
    for k in found:
        typer.echo(
            f"{k['key_id']}  {k['state']:<8} roles={','.join(k['roles'] or ['all'])} "
            f"last_used={k['last_used_at']}"
        )


KeyIdArg = Annotated[str, typer.Argument(help="The key id (the part after bpl_).")]


@key_app.command("rotate")
def key_rotate_command(
    ctx: typer.Context,
    key_id: KeyIdArg,
    expires_in_days: Annotated[int | None, typer.Option("--expires-in-days")] = None,
    json_output: JsonOption = False,
) -> None:
    """Replace a key with a new one of the same scope (printed once); the old one stops at once."""
    expires_at = _expiry(expires_in_days)
    keys = _keys(Session.of(ctx))
    try:
        with refused():
            api_key = keys.rotate_key(key_id, expires_at=expires_at)
        info = keys.key_info(api_key.split("_", 2)[1])
    finally:
        keys.close()
    assert info is not None
    emit(_key(info) | {"api_key": api_key}, json_output)


@key_app.command("revoke")
def key_revoke_command(ctx: typer.Context, key_id: KeyIdArg, json_output: JsonOption = False) -> None:
    """Revoke a key: the next request with it is refused (401)."""
    keys = _keys(Session.of(ctx))
    try:
        info = keys.key_info(key_id)
        if info is None:
            die(f"Not found: no API key {key_id}", EXIT_INVALID)
        if info.revoked_at is not None:
            die(f"Conflict: API key {key_id} is already revoked", EXIT_INVALID)
        keys.revoke_key(key_id)
        revoked = keys.key_info(key_id)
    finally:
        keys.close()
    assert revoked is not None
    emit(_key(revoked), json_output)


# -- businesses ----------------------------------------------------------------------------------------------


@business_app.command("register")
def business_register_command(
    ctx: typer.Context,
    kind: Annotated[list[BusinessKindName], typer.Option("--kind", help="An activity (repeatable).")],
    participant: Annotated[
        str | None, typer.Option("--participant", help="Take the account and details from this participant.")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="The business's account.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Legal name (overrides the participant's).")
    ] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    registration_number: Annotated[str | None, typer.Option("--registration-number")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    admin: AdminOption = onboarding.ADMIN_PARTICIPANT,
    json_output: JsonOption = False,
) -> None:
    """Register a business: its details document is stored and its digest registered on-chain."""
    address = None if account is None else arguments.address(account)
    kinds = _kinds(kind)
    overrides = {
        "name": name,
        "country": country,
        "registration_number": registration_number,
        "contact": contact,
    }
    session = Session.of(ctx)
    keys = _keys(session)
    try:
        with refused():
            holder = None if participant is None else keys.require_participant(participant)
            address = address or (None if holder is None else holder.account)
            if address is None:
                die("give --account, or --participant with an account", EXIT_UNREADABLE)
            if holder is not None:
                details = onboarding.business_details(holder, kinds, overrides)
            else:
                try:
                    spec = DetailsCreate.model_validate({k: v for k, v in overrides.items() if v is not None})
                except ValidationError as exc:
                    die("; ".join(f"--{e['loc'][0]}: {e['msg']}".replace("_", "-") for e in exc.errors()))
                details = BusinessDetails(**spec.model_dump(), kinds=kind_names(kinds))
            store = open_store(session.settings)
            record = onboarding.register_business(
                keys, session.client(None), session.client(admin), store, address, kinds, details=details
            )
    finally:
        keys.close()
    emit(_business(record, check_details(store, record).status.value, details.name), json_output)


def _business(record: Any, status: str, name: str | None) -> dict[str, Any]:
    return {
        "account": record.account,
        "name": name,
        "kinds": kind_names(record.kinds),
        "registration_hash": record.registration_hash,
        "active": record.active,
        "details_status": status,
    }


@business_app.command("verify")
def business_verify_command(
    ctx: typer.Context, account: arguments.AccountArg, json_output: JsonOption = False
) -> None:
    """Show a business's details document and check its digest against the on-chain registration hash.

    Exits 1 when the document is missing, tampered or not a details document.
    """
    address = arguments.address(account)
    session = Session.of(ctx)
    with reported():
        record = session.client(None).get_business(address)
        if record is None:
            die(f"BusinessNotFound: no business registered for {address}", EXIT_INVALID)
        check = check_details(open_store(session.settings), record)
    result = {
        "account": record.account,
        "registration_hash": record.registration_hash,
        "cid": check.cid,
        "status": check.status.value,
        "verified": check.verified,
        "reason": check.reason,
        "details": None if check.details is None else check.details.model_dump(exclude_none=True),
    }
    emit(result, json_output)
    if not check.verified:
        raise typer.Exit(EXIT_INVALID)


@business_app.command("list")
def business_list_command(
    ctx: typer.Context,
    kind: Annotated[BusinessKindName | None, typer.Option("--kind")] = None,
    status: Annotated[BusinessStatus | None, typer.Option("--status")] = None,
    json_output: JsonOption = False,
) -> None:
    """The directory: every registered business (from the chain's events), filtered."""
    session = Session.of(ctx)
    ledger = session.ledger()
    store = open_store(session.settings)
    with reported():
        reader = ledger.reader
        events = reader.events(
            ledger.deployment.deploy_block_number, reader.block_number(), ["BusinessRegistered"]
        )
        accounts = list(dict.fromkeys(str(e.args["account"]) for e in events))
        records = [r for a in accounts if (r := reader.get_business(a)) is not None]
        if kind is not None:
            records = [r for r in records if BusinessKind[kind.name] in r.kinds]
        if status is not None:
            records = [r for r in records if r.active == (status is BusinessStatus.ACTIVE)]
        found = []
        for record in records:
            check = check_details(store, record)
            found.append(
                _business(record, check.status.value, None if check.details is None else check.details.name)
            )
    if json_output:
        echo_json(found)
        return
    for b in found:
        state = "active" if b["active"] else "suspended"
        typer.echo(f"{b['account']}  {state:<9} {b['name'] or '-'}  ({','.join(b['kinds']).lower()})")
