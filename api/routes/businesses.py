"""Registered used-battery businesses: registration, suspension and reinstatement (admin), the public
directory and each business's details document (anyone).

Registration is public on-chain: the account, its permitted activities and the digest of its public
details document (``passport.directory.BusinessDetails``: legal name, country, registration number,
contact, activities), which is stored canonical in the content store. ``GET …/details`` finds that
document by the on-chain digest and says whether it still hashes to it. Only a business that is
registered and active may take custody of a battery.

``GET /businesses`` is the directory (filtered by activity and status, paginated); ``GET
/businesses/{account}`` outside ``/api/v1`` is its HTML page.
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api import onboarding
from api.deps import AdminCaller, BusinessAccount, ServicesDep, business_account
from api.errors import ApiError, Conflict, NotFound
from api.onboarding import NAME_PATTERN, DetailsCreate
from api.openapi import raises
from api.schemas import BYTES32_SCHEMA, Address
from api.services import Services
from passport.audit import EventQuery
from passport.chain.protocol import ChainClient
from passport.chain.records import BusinessRecord
from passport.directory import (
    BusinessDetails,
    DetailsCheck,
    DetailsStatus,
    check_details,
    kind_names,
)
from passport.errors import PassportError
from passport.ids import parse_bytes32
from passport.model import BusinessKind

router = APIRouter(tags=["businesses"])
page_router = APIRouter(tags=["pages"])


def _hash32(value: str) -> str:
    return "0x" + parse_bytes32(value, "registration hash").hex()


KindName = Annotated[str, Field(pattern="^(" + "|".join(k.name for k in BusinessKind) + ")$")]


class BusinessKindFilter(StrEnum):
    """An activity to filter the directory by (``BusinessKind``'s names)."""

    COLLECTOR = "COLLECTOR"
    REUSER = "REUSER"
    REPURPOSER = "REPURPOSER"
    REMANUFACTURER = "REMANUFACTURER"
    RECYCLER = "RECYCLER"


class BusinessCreate(BaseModel):
    """A business to register: its account, what it may do, and its public details.

    The account is ``account`` or the ``participant``'s. The details are ``details``, or the
    participant's directory record; ``registration_hash`` alone registers a bare certificate digest
    (no details document, so no name in the directory).
    """

    model_config = ConfigDict(extra="forbid")

    account: Address | None = None
    participant: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None
    kinds: list[KindName] = Field(min_length=1, description="COLLECTOR, REUSER, REPURPOSER, …")
    details: DetailsCreate | None = None
    registration_hash: Annotated[str | None, AfterValidator(lambda v: None if v is None else _hash32(v))] = (
        Field(
            default=None,
            description="sha-256 (or keccak) of an off-chain certificate, 0x-hex (instead of details).",
            json_schema_extra=BYTES32_SCHEMA,
        )
    )


class BusinessPublic(BaseModel):
    account: str
    kinds: list[str]
    registration_hash: str
    active: bool
    registered_at: int
    name: str | None = Field(default=None, description="From the verified details document.")
    participant: str | None = Field(default=None, description="The ledger participant with this account.")
    details_status: DetailsStatus | None = None

    @classmethod
    def of(
        cls, record: BusinessRecord, check: DetailsCheck | None = None, participant: str | None = None
    ) -> BusinessPublic:
        return cls(
            account=record.account,
            kinds=kind_names(record.kinds),
            registration_hash="0x" + record.registration_hash.hex(),
            active=record.active,
            registered_at=record.registered_at,
            name=None if check is None or check.details is None else check.details.name,
            participant=participant,
            details_status=None if check is None else check.status,
        )


class BusinessPage(BaseModel):
    items: list[BusinessPublic]
    total: int
    offset: int
    limit: int


class DetailsReport(BaseModel):
    """A business's details document and whether it hashes to the on-chain registration hash."""

    account: str
    registration_hash: str
    cid: str
    status: DetailsStatus
    verified: bool
    stored_digest: str | None
    reason: str
    details: BusinessDetails | None = Field(description="The document, when it could be read and verified.")


def _lookup(reader: ChainClient, address: str) -> BusinessRecord:
    record = reader.get_business(address)
    if record is None:
        raise NotFound(f"no registered business {address}")
    return record


def _public(services: Services, record: BusinessRecord) -> BusinessPublic:
    participant = services.api_keys.participant_by_account(record.account)
    return BusinessPublic.of(
        record, check_details(services.store, record), None if participant is None else participant.name
    )


def _account_and_details(
    services: Services, body: BusinessCreate, kinds: BusinessKind
) -> tuple[str, BusinessDetails | None]:
    participant = None
    if body.participant is not None:
        participant = services.api_keys.require_participant(body.participant)
    account = body.account or (None if participant is None else participant.account)
    if account is None:
        raise Conflict("give the business's account, or a participant that has one")
    if body.registration_hash is not None:
        if body.details is not None:
            raise Conflict("give details or a registration hash, not both")
        return account, None
    overrides: dict[str, str | None] = {} if body.details is None else body.details.model_dump()
    if participant is None:
        if body.details is None:
            raise Conflict("give the business's details, a participant to take them from, or a hash")
        return account, BusinessDetails.model_validate({**overrides, "kinds": kind_names(kinds)})
    return account, onboarding.business_details(participant, kinds, overrides)


@router.post("/businesses", status_code=201, operation_id="register_business")
@raises(404, 409)
def register_business(body: BusinessCreate, caller: AdminCaller, services: ServicesDep) -> BusinessPublic:
    """Register a used-battery business with its public details (ledger admin only).

    The details document is stored (canonical JSON) and its SHA-256 becomes the on-chain registration
    hash; a participant with the account gains the ``business`` API role.
    """
    client = services.client_for(caller)
    kinds = BusinessKind(0)
    for name in body.kinds:
        kinds |= BusinessKind[name]
    account, details = _account_and_details(services, body, kinds)
    record = onboarding.register_business(
        services.api_keys,
        services.reader,
        client,
        services.store,
        account,
        kinds,
        details=details,
        registration_hash=None if body.registration_hash is None else parse_bytes32(body.registration_hash),
    )
    services.names.forget(account)
    return _public(services, record)


@router.post("/businesses/{account}/suspend", operation_id="suspend_business")
@raises(404, 409)
def suspend_business(caller: AdminCaller, account: BusinessAccount, services: ServicesDep) -> BusinessPublic:
    """Suspend a business: it can no longer receive custody (ledger admin only)."""
    client = services.client_for(caller)
    record = _lookup(services.reader, account)
    if not record.active:
        raise Conflict(f"{record.account} is already suspended")
    client.suspend_business(record.account)
    services.names.forget(record.account)
    return _public(services, _lookup(services.reader, record.account))


@router.post("/businesses/{account}/reinstate", operation_id="reinstate_business")
@raises(404, 409)
def reinstate_business(
    caller: AdminCaller, account: BusinessAccount, services: ServicesDep
) -> BusinessPublic:
    """Reinstate a suspended business (ledger admin only)."""
    client = services.client_for(caller)
    record = _lookup(services.reader, account)
    if record.active:
        raise Conflict(f"{record.account} is active")
    client.reinstate_business(record.account)
    services.names.forget(record.account)
    return _public(services, _lookup(services.reader, record.account))


@router.get("/businesses/{account}", operation_id="get_business")
@raises(404)
def get_business(account: BusinessAccount, services: ServicesDep) -> BusinessPublic:
    """A registered business's public record, with its name when its details document verifies."""
    return _public(services, _lookup(services.reader, account))


@router.get("/businesses/{account}/details", operation_id="get_business_details")
@raises(404)
def get_business_details(account: BusinessAccount, services: ServicesDep) -> DetailsReport:
    """The business's public details document, found by its on-chain digest, and whether it still hashes
    to it (``verified``; ``tampered`` when the stored bytes changed, ``missing`` for a bare hash)."""
    check = check_details(services.store, _lookup(services.reader, account))
    return DetailsReport(
        account=check.account,
        registration_hash="0x" + check.registration_hash.hex(),
        cid=check.cid,
        status=check.status,
        verified=check.verified,
        stored_digest=None if check.stored_digest is None else "0x" + check.stored_digest.hex(),
        reason=check.reason,
        details=check.details if check.verified else None,
    )


def registered_accounts(services: Services) -> list[str]:
    """Every account ever registered as a business, in registration order (from the audit index)."""
    services.sync_index()
    seen: dict[str, None] = {}
    for event in services.audit.iter_events(EventQuery(names=("BusinessRegistered",), limit=500)):
        account = event.args.get("account")
        if isinstance(account, str):
            seen.setdefault(account, None)
    return list(seen)


@router.get("/businesses", operation_id="list_businesses")
def list_businesses(
    services: ServicesDep,
    kind: Annotated[
        BusinessKindFilter | None, Query(description="Only businesses registered for this activity.")
    ] = None,
    status: Annotated[Literal["active", "suspended"] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BusinessPage:
    """The public directory of registered businesses, in registration order."""
    records = [r for a in registered_accounts(services) if (r := services.reader.get_business(a)) is not None]
    if kind is not None:
        records = [r for r in records if BusinessKind[kind.value] in r.kinds]
    if status is not None:
        records = [r for r in records if r.active == (status == "active")]
    return BusinessPage(
        items=[_public(services, r) for r in records[offset : offset + limit]],
        total=len(records),
        offset=offset,
        limit=limit,
    )


# -- the HTML page ----------------------------------------------------------------------------------------

_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/page.css"></head>'
        f'<body><main><section class="card">{body}</section></main></body></html>'
    )
    return HTMLResponse(document, status_code=status, headers=_PAGE_HEADERS)


@page_router.get(
    "/businesses/{account}",
    response_class=HTMLResponse,
    responses={
        status: {"description": f"{text} (an HTML page)", "content": {"text/html": {}}}
        for status, text in {400: "Malformed address", 404: "No such business", 503: "No ledger"}.items()
    },
    operation_id="get_business_page",
)
def get_business_page(request: Request, account: str) -> HTMLResponse:
    """A registered business's public page: name, activities, status and whether its details verify."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return _page("Service unavailable", "<h1>Service unavailable</h1>", 503)
    try:
        address = business_account(account)
        record = _lookup(services.reader, address)
        check = check_details(services.store, record)
    except ApiError as exc:
        return _page(
            exc.title, f"<h1>{html.escape(exc.title)}</h1><p>{html.escape(exc.detail)}</p>", exc.status
        )
    except PassportError as exc:
        status = 400 if isinstance(exc, ValueError) else 503
        return _page(
            "Unavailable", f"<h1>Cannot show this business</h1><p>{html.escape(str(exc))}</p>", status
        )
    details = check.details
    name = details.name if details is not None else record.account
    rows = [
        ("Account", record.account),
        ("Activities", ", ".join(k.lower() for k in kind_names(record.kinds))),
        ("Status", "active" if record.active else "suspended"),
    ]
    if details is not None:
        rows += [("Country", details.country), ("Registration number", details.registration_number)]
        if details.contact:
            rows.append(("Contact", details.contact))
    rows += [
        ("Registration hash", "0x" + record.registration_hash.hex()),
        ("Details document", f"{check.cid} ({check.status.value})"),
    ]
    table = "".join(
        f'<tr><th scope="row">{html.escape(k)}</th>'
        f'<td data-testid="{html.escape(k.lower().replace(" ", "-"))}">{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    verdict = (
        "The details document hashes to the registration hash on the ledger."
        if check.verified
        else f"The details document does not verify: {check.reason or check.status.value}."
    )
    body = (
        f'<h1 data-testid="business-name">{html.escape(name)}</h1>'
        f'<p data-testid="details-status" class="{check.status.value}">{html.escape(verdict)}</p>'
        f"<table>{table}</table>"
    )
    return _page(name, body)
