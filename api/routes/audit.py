"""The audit trail: ledger events by battery, passport, actor, kind, block or time range; exports; and
the inclusion proof of any anchored device record.

Served from the audit index (synced to the chain's confirmed head before each query, so a query sees
every confirmed event). Auditors and authorities only: the events are public on-chain, but bulk queries
and exports are a service, rate-limited by who may use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from api.access import require_role
from api.auth import ApiRole
from api.deps import AuditCaller, AuthCaller, RecordDigest, ServicesDep
from api.errors import ApiError
from api.openapi import raises
from api.owners import log_record_read, require_record_owner
from api.schemas import (
    ADDRESS_DESCRIPTION,
    ADDRESS_SCHEMA,
    BATTERY_ID_SCHEMA,
    BYTES32_SCHEMA,
    PASSPORT_ID_SCHEMA,
)
from oracle.proofs import RecordProof
from passport.audit import (
    MAX_INDEX_INT,
    MAX_PAGE_SIZE,
    PAGE_TOKEN_PATTERN,
    EventPage,
    EventQuery,
    LedgerEvent,
    to_csv,
    to_json_array,
)
from passport.errors import InvalidIdentifier
from passport.ids import battery_id_hash, parse_bytes32

router = APIRouter(prefix="/audit", tags=["audit"])


class QueryParams(BaseModel):
    """The query string of the audit routes (validated into an ``EventQuery``)."""

    passport_id: str | None = None
    battery_id: str | None = None
    battery_id_hash: str | None = None
    actor: str | None = None
    kind: list[LedgerEvent] = []
    from_block: int | None = None
    to_block: int | None = None
    from_time: int | None = None
    to_time: int | None = None
    order: Literal["asc", "desc"] = "asc"
    limit: int = 100
    page_token: str | None = None


PassportIdQuery = Annotated[
    str | None, Query(description="Passport UUID.", json_schema_extra=PASSPORT_ID_SCHEMA)
]
BatteryIdQuery = Annotated[
    str | None,
    Query(description="Battery id (hashed as the ledger does).", json_schema_extra=BATTERY_ID_SCHEMA),
]
BatteryIdHashQuery = Annotated[
    str | None,
    Query(description="keccak256 of the battery id; not with battery_id.", json_schema_extra=BYTES32_SCHEMA),
]
ActorQuery = Annotated[
    str | None,
    Query(description=f"Any account an event names: {ADDRESS_DESCRIPTION}", json_schema_extra=ADDRESS_SCHEMA),
]
KindQuery = Annotated[list[LedgerEvent] | None, Query(description="Event names, e.g. CustodyTransferred.")]
BlockQuery = Annotated[int | None, Query(ge=0, le=MAX_INDEX_INT)]
TimeQuery = Annotated[int | None, Query(ge=0, le=MAX_INDEX_INT, description="Unix seconds, inclusive.")]
PageTokenQuery = Annotated[
    str | None,
    Query(description="next_token of the previous page.", json_schema_extra={"pattern": PAGE_TOKEN_PATTERN}),
]


def _query_params(
    passport_id: PassportIdQuery = None,
    battery_id: BatteryIdQuery = None,
    battery_id_hash: BatteryIdHashQuery = None,
    actor: ActorQuery = None,
    kind: KindQuery = None,
    from_block: BlockQuery = None,
    to_block: BlockQuery = None,
    from_time: TimeQuery = None,
    to_time: TimeQuery = None,
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    page_token: PageTokenQuery = None,
) -> QueryParams:
    return QueryParams(
        passport_id=passport_id,
        battery_id=battery_id,
        battery_id_hash=battery_id_hash,
        actor=actor,
        kind=kind or [],
        from_block=from_block,
        to_block=to_block,
        from_time=from_time,
        to_time=to_time,
        order=order,
        limit=limit,
        page_token=page_token,
    )


Params = Annotated[QueryParams, Depends(_query_params)]


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(
        "invalid audit query",
        status=422,
        title="Invalid request",
        errors=[{"field": field, "reason": reason}],
    )


def _event_query(params: QueryParams) -> EventQuery | None:
    """The index query; 422 naming each bad parameter (ids, addresses, page token). None for filters that
    are each well formed but together match nothing (filters combine with AND: a battery id and another
    battery's hash, an empty block or time range)."""
    bid_hash = params.battery_id_hash
    disjoint = False
    if params.battery_id is not None:
        try:
            from_id = "0x" + battery_id_hash(params.battery_id).hex()
        except InvalidIdentifier as exc:
            raise _invalid("query.battery_id", str(exc)) from None
        if bid_hash is not None:
            try:
                disjoint = parse_bytes32(bid_hash, "battery id hash").hex() != from_id[2:]
            except InvalidIdentifier as exc:
                raise _invalid("query.battery_id_hash", str(exc)) from None
        bid_hash = from_id
    for low, high in ((params.from_block, params.to_block), (params.from_time, params.to_time)):
        disjoint = disjoint or (low is not None and high is not None and low > high)
    query = _build_query(params, bid_hash, disjoint)
    return None if disjoint else query


def _build_query(params: QueryParams, bid_hash: str | None, disjoint: bool) -> EventQuery:
    # A disjoint query is still built (every other parameter validated), without its empty ranges.
    try:
        return EventQuery(
            passport_id=params.passport_id,
            battery_id_hash=bid_hash,
            actor=params.actor,
            names=tuple(k.value for k in params.kind),
            from_block=params.from_block,
            to_block=None if disjoint else params.to_block,
            from_time=params.from_time,
            to_time=None if disjoint else params.to_time,
            order=params.order,
            limit=params.limit,
            after=params.page_token,
        )
    except ValidationError as exc:
        field_names = {"after": "page_token", "names": "kind"}
        errors = [
            {
                "field": "query." + ".".join(field_names.get(str(p), str(p)) for p in err["loc"])
                if err["loc"]
                else "query",
                "reason": err["msg"],
            }
            for err in exc.errors()
        ]
        raise ApiError("invalid audit query", status=422, title="Invalid request", errors=errors) from None


@router.get("/events", operation_id="query_audit_events")
def query_audit_events(caller: AuditCaller, params: Params, services: ServicesDep) -> EventPage:
    """One page of ledger events matching every given filter, with the token of the next page."""
    query = _event_query(params)
    if query is None:
        return EventPage(items=())
    services.sync_index()
    return services.audit.query(query)


@router.get(
    "/events/export",
    operation_id="export_audit_events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "Every match"}},
)
def export_audit_events(
    caller: AuditCaller,
    params: Params,
    services: ServicesDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv (RFC 4180) or a JSON array.")] = "csv",
) -> StreamingResponse:
    """Every matching event (``limit`` is the page size used to read the index, not a total), streamed."""
    query = _event_query(params)
    services.sync_index()
    # Run the first page's query before the 200 goes out: once the headers are sent, an error can only
    # cut the stream short, so every error a query can raise must surface here as a problem document.
    pending = iter(()) if query is None else services.audit.iter_events(query)
    events = itertools.chain(list(itertools.islice(pending, 1)), pending)
    body: Iterator[str]
    if format == "csv":
        body, media, suffix = to_csv(events), "text/csv; charset=utf-8", "csv"
    else:
        body, media, suffix = to_json_array(events), "application/json", "json"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit-events.{suffix}"'},
    )


class RecordProofPublic(BaseModel):
    """An anchored record's Merkle proof, checked offline and against the registry's ``verifyRecord``."""

    proof: RecordProof
    verified_offline: bool
    verified_on_chain: bool


@router.get("/records/{record_digest}/proof", operation_id="get_record_proof")
@raises(403, 404, 409)
def get_record_proof(caller: AuthCaller, digest: RecordDigest, services: ServicesDep) -> RecordProofPublic:
    """The inclusion proof of one journaled device record (by its 0x-hex record digest): auditors and
    authorities for any record, an owner for their own battery's records (logged)."""
    require_role(caller, ApiRole.AUDITOR, ApiRole.AUTHORITY, ApiRole.OWNER)  # 403 by role before 404
    journal, _, proofs = services.oracle()
    battery = journal.record_by_digest(digest).battery_id
    basis = "role:auditor" if caller.has(ApiRole.AUDITOR, ApiRole.AUTHORITY) else None
    if basis is None:
        basis = require_record_owner(services, caller, battery)
    proof = proofs.proof_for_digest(digest)
    log_record_read(services, caller, battery, basis, "record-proof", "0x" + digest.hex())
    return RecordProofPublic(
        proof=proof,
        verified_offline=proof.verify_offline(),
        verified_on_chain=proof.verify_on_chain(services.reader),
    )
