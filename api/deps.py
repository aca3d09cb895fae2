"""The API's shared FastAPI dependencies, each defined once; the routers declare what they need.

Dependencies resolve in the order a route declares its parameters, and that order is the order of the
checks a client sees: who is calling (401), what they may do (403 by role), which passport (400 for a
bad id, 404 for an unknown one), whether they hold it (403) and whether it is open (409). Routes list
the caller first so that an anonymous request learns it needs a key before anything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from api.access import bearer_token, require_custodian, require_role, tiers_for
from api.auth import ApiRole, Caller
from api.errors import Conflict, Forbidden, NotFound, Unauthenticated
from api.ingest_process import IngestProcess
from api.openapi import KeyUse, api_key, raises, requires_roles
from api.reads import run_read
from api.schemas import ADDRESS_DESCRIPTION, ADDRESS_SCHEMA, BYTES32_SCHEMA, PASSPORT_ID_SCHEMA
from api.services import Services, ServiceUnavailable
from passport.chain.records import PassportRecord
from passport.credentials import PassportCredentials
from passport.ids import parse_bytes32, parse_passport_id, passport_id_bytes32
from passport.model import AccessTier
from passport.service import ModelEntry
from passport.settings import Settings
from passport.signing import checksum_address

# -- the application's objects -------------------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


@raises(503)
def get_services(request: Request) -> Services:
    """The application's services; 503 while the server runs without a ledger."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ServiceUnavailable("this server is not connected to a ledger")
    return services


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]


async def get_ingest(request: Request) -> IngestProcess | None:
    """The server's ingestion process (None: uploads are ingested in this process, as in the tests)."""
    ingest: IngestProcess | None = getattr(request.app.state, "ingest", None)
    return ingest


IngestDep = Annotated[IngestProcess | None, Depends(get_ingest)]


# -- the caller ----------------------------------------------------------------------------------------


@api_key(KeyUse.OPTIONAL)
@raises(401)
def optional_caller(request: Request, services: ServicesDep) -> Caller | None:
    """The authenticated caller, or None for a request without credentials (a wrong key is a 401)."""
    token = bearer_token(request)
    return None if token is None else services.api_keys.authenticate(token)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@api_key(KeyUse.REQUIRED)
@raises(401, 403)
def required_caller(request: Request, caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    """The authenticated caller; 401 without credentials, 403 for a read-only key on a writing request."""
    if caller is None:
        raise Unauthenticated("this route needs an API key: 'Authorization: Bearer bpl_<id>_<secret>'")
    if caller.read_only and request.method not in _SAFE_METHODS:
        raise Forbidden(f"API key {caller.key_id} is read-only; {request.method} needs a read-write key")
    return caller


MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]
AuthCaller = Annotated[Caller, Depends(required_caller)]


def caller_with(*roles: ApiRole) -> Callable[[Caller], Caller]:
    """A dependency: the authenticated caller, 403 unless it holds one of ``roles``."""

    @requires_roles(*(role.value for role in roles))
    @raises(403)
    def dependency(caller: AuthCaller) -> Caller:
        require_role(caller, *roles)
        return caller

    return dependency


AdminCaller = Annotated[Caller, Depends(caller_with(ApiRole.ADMIN))]
IssuerCaller = Annotated[Caller, Depends(caller_with(ApiRole.ISSUER))]
InspectorCaller = Annotated[Caller, Depends(caller_with(ApiRole.INSPECTOR))]
RepurposerCaller = Annotated[Caller, Depends(caller_with(ApiRole.REPURPOSER))]
RecyclerCaller = Annotated[Caller, Depends(caller_with(ApiRole.RECYCLER))]
AuditCaller = Annotated[Caller, Depends(caller_with(ApiRole.AUDITOR, ApiRole.AUTHORITY))]


@raises(403)
def acting_account(caller: AuthCaller, services: ServicesDep) -> str:
    """The on-chain account the service signs with for the caller (403 if it holds no key for them)."""
    return services.client_for(caller).account


ActingAccount = Annotated[str, Depends(acting_account)]


# -- path parameters -------------------------------------------------------------------------------------

PassportIdPath = Annotated[
    str,
    Path(
        description="The passport's UUID (or urn:uuid:…, or its bytes32 hex).",
        examples=["6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11"],
        json_schema_extra=PASSPORT_ID_SCHEMA,
    ),
]
AccountPath = Annotated[
    str, Path(description=f"The business's account: {ADDRESS_DESCRIPTION}", json_schema_extra=ADDRESS_SCHEMA)
]
RecordDigestPath = Annotated[
    str, Path(description="A journaled record's digest (32 bytes of hex).", json_schema_extra=BYTES32_SCHEMA)
]


@raises(400)
def passport_uuid(passport_id: PassportIdPath) -> uuid.UUID:
    """The path's passport id; ``InvalidIdentifier`` (400) if it is not one."""
    return parse_passport_id(passport_id)


@raises(400)
def business_account(account: AccountPath) -> str:
    """The path's business account, checksummed; ``InvalidIdentifier`` (400) if it is not an address."""
    return checksum_address(account, "business account")


@raises(400)
def record_digest(record_digest: RecordDigestPath) -> bytes:
    """The path's 0x-hex record digest; ``InvalidIdentifier`` (400) if it is not 32 bytes."""
    return parse_bytes32(record_digest, "record digest")


PassportId = Annotated[uuid.UUID, Depends(passport_uuid)]
BusinessAccount = Annotated[str, Depends(business_account)]
RecordDigest = Annotated[bytes, Depends(record_digest)]


# -- the passport a route acts on --------------------------------------------------------------------------


@raises(404, 503)
def existing_record(pid: PassportId, services: ServicesDep) -> PassportRecord:
    """The passport's on-chain record; 404 if the ledger has no such passport."""
    record = services.reader.get_passport(passport_id_bytes32(pid))
    if record is None:
        raise NotFound(f"no passport {pid} on the ledger")
    return record


ExistingRecord = Annotated[PassportRecord, Depends(existing_record)]


def require_open(record: PassportRecord, pid: uuid.UUID) -> None:
    """409 for a superseded or recycled passport: the ledger accepts no further writes to it."""
    if record.is_closed:
        raise Conflict(f"passport {pid} is closed ({record.status.name}); it accepts no further versions")


@raises(409)
def open_record(pid: PassportId, record: ExistingRecord) -> PassportRecord:
    """The record of a passport that still takes versions; 409 for a superseded or recycled one."""
    require_open(record, pid)
    return record


OpenRecord = Annotated[PassportRecord, Depends(open_record)]


@raises(403)
def held_record(record: ExistingRecord, account: ActingAccount) -> PassportRecord:
    """The record of a passport the caller holds custody of; 403 otherwise."""
    require_custodian(account, record)
    return record


HeldRecord = Annotated[PassportRecord, Depends(held_record)]


@raises(409)
def held_open_record(pid: PassportId, record: HeldRecord) -> PassportRecord:
    """A passport the caller holds (403 first) and that still takes versions (409)."""
    require_open(record, pid)
    return record


HeldOpenRecord = Annotated[PassportRecord, Depends(held_open_record)]


def readable_tiers(
    caller: MaybeCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> frozenset[AccessTier]:
    """The tiers of the passport the caller may read (see ``api.access``)."""
    return tiers_for(services, caller, pid, record)


ReadableTiers = Annotated[frozenset[AccessTier], Depends(readable_tiers)]


# -- verifiable credentials ----------------------------------------------------------------------------


def passport_credentials(services: ServicesDep, settings: SettingsDep) -> PassportCredentials:
    """Credentials, DID documents and status lists, published under this app's public base URL."""
    return services.credentials.at(settings.public_base_url)


CredentialsDep = Annotated[PassportCredentials, Depends(passport_credentials)]


# -- reads served from the read model (async: see ``api.reads``) ------------------------------------------


@raises(503)
async def read_services(request: Request) -> Services:
    """``get_services`` without a thread hop."""
    return get_services(request)


ReadServices = Annotated[Services, Depends(read_services)]


@api_key(KeyUse.OPTIONAL)
@raises(401)
async def read_caller(request: Request, services: ReadServices) -> Caller | None:
    """``optional_caller``; an anonymous request needs no thread, a key is checked in the read pool."""
    token = bearer_token(request)
    return None if token is None else await run_read(request, services.api_keys.authenticate, token)


@raises(400)
async def read_passport_uuid(passport_id: PassportIdPath) -> uuid.UUID:
    """``passport_uuid`` without a thread hop."""
    return parse_passport_id(passport_id)


ReadPassportId = Annotated[uuid.UUID, Depends(read_passport_uuid)]


@raises(404, 503)
async def model_entry(request: Request, pid: ReadPassportId, services: ReadServices) -> ModelEntry:
    """The passport's entry in the read model (the chain is asked, in the read pool, on a miss); 404 if
    the ledger has no such passport."""
    pid32 = passport_id_bytes32(pid)
    entry = services.read_model.peek(pid32)
    if entry is None:
        entry = await run_read(request, services.read_model.lookup, pid32)
    if entry.record is None:
        raise NotFound(f"no passport {pid} on the ledger")
    return entry


MaybeReadCaller = Annotated[Caller | None, Depends(read_caller)]
ModelEntryDep = Annotated[ModelEntry, Depends(model_entry)]
