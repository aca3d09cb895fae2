"""Participants, their roles and their API keys (the ledger admin onboards; a participant sees its own).

* ``POST /participants`` creates a participant with its directory record (kind, legal name, country,
  registration or licence number, contact). ``custodial: true`` makes the service hold a new on-chain
  key for it (funded on the development node); ``account`` names one the participant holds itself.
* ``POST /participants/{name}/roles`` and ``DELETE /participants/{name}/roles/{role}`` grant and revoke a
  role. A role the registry knows (issuer, inspector, …) is granted or revoked on-chain first, by the
  admin's key through the deployed ``AccessControl``; the participant's API roles then follow.
* Keys: issued by the admin with a scope (a subset of the participant's roles; read-only or not) and an
  optional expiry, shown once; listed, rotated and revoked by the admin or by the participant itself.

Checks come in the order the rest of the API uses: 401 (no key), 403 (role, or another participant's
object), 400/404 (the path), 409 (state).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api import onboarding
from api.auth import ApiKeyInfo, ApiRole, Caller, Participant, ParticipantKind
from api.deps import AdminCaller, AuthCaller, ServicesDep
from api.errors import Conflict, Forbidden, NotFound
from api.onboarding import NAME_PATTERN, ParticipantCreate, Text
from api.openapi import raises, requires_roles
from api.services import Services

router = APIRouter(tags=["participants"])

MAX_KEY_DAYS = 3650


class ParticipantPublic(BaseModel):
    name: str
    kind: ParticipantKind | None
    display_name: str | None
    country: str | None
    registration_number: str | None
    contact: str | None
    roles: list[ApiRole]
    account: str | None
    custodial: bool
    created_at: int | None

    @classmethod
    def of(cls, record: Participant, *, custodial: bool) -> ParticipantPublic:
        return cls(
            name=record.name,
            kind=record.kind,
            display_name=record.display_name,
            country=record.country,
            registration_number=record.registration_number,
            contact=record.contact,
            roles=sorted(record.roles),
            account=record.account,
            custodial=custodial,
            created_at=record.created_at,
        )


class ParticipantPage(BaseModel):
    items: list[ParticipantPublic]
    total: int
    offset: int
    limit: int


class RoleGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ApiRole


class RoleChangePublic(BaseModel):
    """A role change: the participant's roles after it, and the on-chain transaction if there was one."""

    participant: ParticipantPublic
    role: ApiRole
    on_chain_role: str | None = Field(description="The registry role, for roles that live on-chain.")
    tx_hash: str | None = Field(description="The grant or revoke transaction (None if nothing was sent).")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[ApiRole] | None = Field(
        default=None, description="Roles the key carries (a subset of the participant's); omitted: all."
    )
    read_only: bool = Field(default=False, description="Only GET/HEAD requests.")
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_KEY_DAYS)
    label: Text | None = None


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_days: int | None = Field(
        default=None, ge=1, le=MAX_KEY_DAYS, description="The new key's lifetime; omitted: the old expiry."
    )


class ApiKeyPublic(BaseModel):
    """An API key's metadata (never its secret)."""

    key_id: str
    participant: str
    roles: list[ApiRole] | None
    read_only: bool
    state: str = Field(description="active, expired or revoked")
    created_at: int
    expires_at: int | None
    last_used_at: int | None = Field(description="Unix seconds, to the minute.")
    revoked_at: int | None
    label: str | None
    replaced_by: str | None

    @classmethod
    def of(cls, info: ApiKeyInfo) -> ApiKeyPublic:
        return cls(
            key_id=info.key_id,
            participant=info.participant,
            roles=None if info.roles is None else sorted(info.roles),
            read_only=info.read_only,
            state=info.state(int(time.time())),
            created_at=info.created_at,
            expires_at=info.expires_at,
            last_used_at=info.last_used_at,
            revoked_at=info.revoked_at,
            label=info.label,
            replaced_by=info.replaced_by,
        )


class IssuedKey(ApiKeyPublic):
    api_key: str = Field(description="The key itself: shown this once, stored only as a hash.")


# -- path parameters and object access -----------------------------------------------------------------

NamePath = Annotated[str, Path(description="The participant's handle.", pattern=NAME_PATTERN)]
KeyIdPath = Annotated[str, Path(description="The key id (the part after bpl_).", pattern=r"^[0-9a-f]{32}$")]


@requires_roles(ApiRole.ADMIN.value, "the participant itself")
@raises(403)
def admin_or_self(caller: AuthCaller, name: NamePath) -> Caller:
    """The caller, if it is the ledger admin or participant ``name`` itself; 403 otherwise."""
    if not caller.has(ApiRole.ADMIN) and caller.name != name:
        raise Forbidden(f"{caller.name!r} may not manage participant {name!r}")
    return caller


AdminOrSelf = Annotated[Caller, Depends(admin_or_self)]


def _public(services: Services, record: Participant) -> ParticipantPublic:
    return ParticipantPublic.of(record, custodial=services.holds_key(record.name))


def _own_key(services: Services, name: str, key_id: str) -> ApiKeyInfo:
    info = services.api_keys.key_info(key_id)
    if info is None or info.participant != name:
        raise NotFound(f"participant {name!r} has no API key {key_id}")
    return info


def _expiry(days: int | None) -> int | None:
    return None if days is None else int(time.time()) + days * 86_400


# -- participants ------------------------------------------------------------------------------------------


@router.post("/participants", status_code=201, operation_id="create_participant")
@raises(409)
def create_participant(
    body: ParticipantCreate, caller: AdminCaller, services: ServicesDep
) -> ParticipantPublic:
    """Onboard a participant with its directory record (ledger admin only).

    With ``custodial``, the service creates the participant's on-chain key (and, on the development
    node, gives it gas); the account is in the answer.
    """
    record = onboarding.create_participant(
        services.api_keys,
        Participant(
            name=body.name,
            kind=body.kind,
            display_name=body.display_name,
            country=body.country,
            registration_number=body.registration_number,
            contact=body.contact,
            account=body.account,
        ),
        custodial=body.custodial,
        keystore=services.keystore,
        fund=services.fund,
    )
    account = record.account
    if account is not None:
        services.names.forget(account)
    return _public(services, record)


@router.get("/participants", operation_id="list_participants")
def list_participants(
    caller: AdminCaller,
    services: ServicesDep,
    kind: Annotated[ParticipantKind | None, Query()] = None,
    role: Annotated[ApiRole | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ParticipantPage:
    """Every participant, filtered by kind and role, by name (ledger admin only)."""
    found = services.api_keys.list_participants(kind=kind, role=role)
    return ParticipantPage(
        items=[_public(services, p) for p in found[offset : offset + limit]],
        total=len(found),
        offset=offset,
        limit=limit,
    )


@router.get("/participants/{name}", operation_id="get_participant")
@raises(404)
def get_participant(caller: AdminOrSelf, name: NamePath, services: ServicesDep) -> ParticipantPublic:
    """A participant's record and roles (the admin, or the participant itself)."""
    return _public(services, services.api_keys.require_participant(name))


# -- roles -------------------------------------------------------------------------------------------------


def _role_change(services: Services, change: onboarding.RoleChange) -> RoleChangePublic:
    return RoleChangePublic(
        participant=_public(services, change.participant),
        role=change.role,
        on_chain_role=None if change.on_chain_role is None else change.on_chain_role.role_name,
        tx_hash=None if change.tx_hash is None else "0x" + change.tx_hash.hex(),
    )


@router.post("/participants/{name}/roles", operation_id="grant_participant_role")
@raises(404, 409)
def grant_participant_role(
    caller: AdminCaller, name: NamePath, body: RoleGrant, services: ServicesDep
) -> RoleChangePublic:
    """Grant a role: on-chain first for registry roles (the admin's key), then in the API (ledger admin)."""
    admin = services.client_for(caller)
    change = onboarding.change_role(services.api_keys, services.reader, admin, name, body.role, grant=True)
    return _role_change(services, change)


@router.delete("/participants/{name}/roles/{role}", operation_id="revoke_participant_role")
@raises(404, 409)
def revoke_participant_role(
    caller: AdminCaller, name: NamePath, role: ApiRole, services: ServicesDep
) -> RoleChangePublic:
    """Revoke a role: from the API at once, and on-chain for registry roles (ledger admin only)."""
    if role is ApiRole.ADMIN and name == caller.name:
        raise Conflict("an admin cannot revoke its own admin role (another admin must)")
    admin = services.client_for(caller)
    change = onboarding.change_role(services.api_keys, services.reader, admin, name, role, grant=False)
    return _role_change(services, change)


# -- keys --------------------------------------------------------------------------------------------------


def _issued(services: Services, api_key: str) -> IssuedKey:
    info = services.api_keys.key_info(api_key.split("_", 2)[1])
    assert info is not None
    fields: dict[str, Any] = ApiKeyPublic.of(info).model_dump()
    return IssuedKey(api_key=api_key, **fields)


@router.post("/participants/{name}/keys", status_code=201, operation_id="issue_api_key")
@raises(404, 409)
def issue_api_key(caller: AdminCaller, name: NamePath, body: KeyCreate, services: ServicesDep) -> IssuedKey:
    """Issue an API key for a participant, shown once (ledger admin only)."""
    services.api_keys.require_participant(name)
    api_key = services.api_keys.issue_key(
        name,
        roles=body.roles,
        read_only=body.read_only,
        expires_at=_expiry(body.expires_in_days),
        label=body.label,
    )
    return _issued(services, api_key)


@router.get("/participants/{name}/keys", operation_id="list_api_keys")
@raises(404)
def list_api_keys(caller: AdminOrSelf, name: NamePath, services: ServicesDep) -> list[ApiKeyPublic]:
    """A participant's keys, revoked and expired ones included (the admin, or the participant itself)."""
    services.api_keys.require_participant(name)
    return [ApiKeyPublic.of(info) for info in services.api_keys.list_keys(name)]


@router.post("/participants/{name}/keys/{key_id}/rotate", status_code=201, operation_id="rotate_api_key")
@raises(404, 409)
def rotate_api_key(
    caller: AdminOrSelf, name: NamePath, key_id: KeyIdPath, body: KeyRotate, services: ServicesDep
) -> IssuedKey:
    """Replace a key with a new one of the same scope; the old one stops working at once."""
    _own_key(services, name, key_id)
    return _issued(services, services.api_keys.rotate_key(key_id, expires_at=_expiry(body.expires_in_days)))


@router.delete("/participants/{name}/keys/{key_id}", operation_id="revoke_api_key")
@raises(404, 409)
def revoke_api_key(
    caller: AdminOrSelf, name: NamePath, key_id: KeyIdPath, services: ServicesDep
) -> ApiKeyPublic:
    """Revoke a key: the next request with it is a 401 (the admin, or the participant itself)."""
    info = _own_key(services, name, key_id)
    if info.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    services.api_keys.revoke_key(key_id)
    revoked = services.api_keys.key_info(key_id)
    assert revoked is not None
    return ApiKeyPublic.of(revoked)
