"""Passports: issue, fetch (sections by the caller's tier), versions, lifecycle, verify, bundle.

Writes run in FastAPI's thread pool (plain ``def``): each one stores documents, signs and waits for a
mined transaction. Every write is checked here before it is sent (role, custody), so an unauthorised
caller gets a 403 rather than a revert, and the contract checks again.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import tiers_for
from api.deps import (
    AuthCaller,
    ExistingRecord,
    HeldOpenRecord,
    IssuerCaller,
    MaybeReadCaller,
    ModelEntryDep,
    PassportId,
    ReadPassportId,
    ReadServices,
    RecyclerCaller,
    RepurposerCaller,
    ServicesDep,
)
from api.errors import ApiError, Conflict
from api.openapi import raises
from api.owners import log_restricted_read
from api.reads import PUBLIC_ANSWER, PublicAnswer, not_modified, read_headers, record_etag, run_read
from api.schemas import PassportVersionPublic
from api.services import Services
from passport.chain.records import PassportRecord
from passport.ids import ZERO32, parse_passport_id, passport_id_bytes32
from passport.model import AccessTier, BatteryPassport, LifecycleStatus
from passport.service.results import VersionInfo
from passport.verify import VerificationReport

router = APIRouter(tags=["passports"])


# -- shapes ------------------------------------------------------------------------------------------


# Said in each body's schema: JSON Schema cannot state a passport's cross-field rules.
_CROSS_FIELD_RULES = (
    " The document's cross-field rules (an organisation needs a name or an identifier, min <= nominal <= "
    "max voltage, dates in order, ...) are checked after the schema: breaking one is a 422 naming it."
)


def _say_cross_field_rules(schema: dict[str, Any]) -> None:
    schema["description"] = str(schema.get("description") or "") + _CROSS_FIELD_RULES


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_say_cross_field_rules)


class PassportCreate(_Shape):
    """A new passport: the whole document, every tier (the service splits and encrypts it)."""

    passport: BatteryPassport


class StatusChangeCreate(_Shape):
    """Move a passport to ``REUSED`` or ``WASTE``; ``passport`` is the new version's document (default:
    the current document, unchanged apart from its status)."""

    status: Literal["REUSED", "WASTE"]
    passport: BatteryPassport | None = None


class SuccessorCreate(_Shape):
    """Repurpose or remanufacture: a new passport (its own id) that supersedes this one."""

    status: Literal["REPURPOSED", "REMANUFACTURED"]
    passport: BatteryPassport


class RecycleCreate(_Shape):
    """End a ``WASTE`` passport as ``RECYCLED``; ``passport`` defaults to the current document."""

    passport: BatteryPassport | None = None


class LedgerRecordPublic(BaseModel):
    """The passport's public lifecycle facts as the ledger holds them."""

    issuer: str
    custodian: str
    status: str
    version: int
    manifest_digest: str
    predecessor_id: str | None
    successor_id: str | None
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, record: PassportRecord) -> LedgerRecordPublic:
        return cls(
            issuer=record.issuer,
            custodian=record.custodian,
            status=record.status.name,
            version=record.version,
            manifest_digest="0x" + record.manifest_digest.hex(),
            predecessor_id=_linked_id(record.predecessor),
            successor_id=_linked_id(record.successor),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class PassportPublic(BaseModel):
    """A passport as one caller may see it: ``tiers`` names the sections ``data`` holds."""

    passport_id: str
    tiers: list[AccessTier]
    ledger: LedgerRecordPublic
    manifest_cid: str
    data: dict[str, Any] = Field(description="The readable sections, merged into one document.")


class VersionPublic(BaseModel):
    version: int
    status: str | None
    manifest_digest: str
    manifest_cid: str
    signer: str | None
    tx_hash: str | None
    block_number: int | None

    @classmethod
    def of(cls, info: VersionInfo) -> VersionPublic:
        return cls(
            version=info.version,
            status=None if info.status is None else info.status.name,
            manifest_digest="0x" + info.manifest_digest.hex(),
            manifest_cid=info.manifest_cid,
            signer=info.signer,
            tx_hash=None if info.tx_hash is None else "0x" + info.tx_hash.hex(),
            block_number=info.block_number,
        )


def _linked_id(value: bytes) -> str | None:
    return None if value == ZERO32 else str(parse_passport_id(value))


# -- routes ------------------------------------------------------------------------------------------


@router.post("/passports", status_code=201, operation_id="issue_passport")
@raises(409)
def issue_passport(
    body: PassportCreate, caller: IssuerCaller, services: ServicesDep
) -> PassportVersionPublic:
    """Issue a new passport (issuer role): store its sections, sign version 1, register it on-chain."""
    services.client_for(caller)
    if services.reader.get_passport(passport_id_bytes32(body.passport.passport_id)) is not None:
        raise Conflict(f"passport {body.passport.passport_id} already exists")
    issued = services.passports_for(caller).issue(body.passport)
    return PassportVersionPublic.of(issued)


_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the passport is as the `If-None-Match` ETag names"}
}


def _passport_body(
    services: Services, pid: uuid.UUID, record: PassportRecord, tiers: frozenset[AccessTier]
) -> bytes:
    # The stored sections are checked against the record's manifest digest here, on every fill.
    fetched = services.passports_for(None).fetch(pid, tiers, record=record)
    return (
        PassportPublic(
            passport_id=str(pid),
            tiers=sorted(fetched.tiers, key=list(AccessTier).index),
            ledger=LedgerRecordPublic.of(fetched.record),
            manifest_cid=fetched.manifest_cid,
            data=dict(fetched.view.data),
        )
        .model_dump_json()
        .encode()
    )


def _public_answer(services: Services, pid: uuid.UUID, record: PassportRecord) -> PublicAnswer:
    # Memoised for exactly this record: ``PublicReadFastPath`` serves it until the record changes.
    return services.read_model.derived(
        record,
        PUBLIC_ANSWER,
        lambda: PublicAnswer.of(_passport_body(services, pid, record, _PUBLIC), record_etag(record, _PUBLIC)),
    )


_PUBLIC = frozenset({AccessTier.PUBLIC})


@router.get(
    "/passports/{passport_id}",
    operation_id="get_passport",
    response_model=PassportPublic,
    responses=_NOT_MODIFIED,
)
@raises(422, 502)
async def get_passport(
    request: Request,
    caller: MaybeReadCaller,
    pid: ReadPassportId,
    entry: ModelEntryDep,
    services: ReadServices,
) -> Response:
    """The passport's current version: public for anyone, restricted sections by the caller's rights.

    Served from the read model: ``X-Ledger-Block`` is the block the answer reflects; the ``ETag``
    changes with the on-chain record and the tiers shown (``If-None-Match`` answers 304).
    """
    record = entry.record
    assert record is not None  # model_entry answered 404 otherwise
    if caller is None:
        tiers = _PUBLIC
    else:
        tiers = await run_read(request, tiers_for, services, caller, pid, record)
    etag = record_etag(record, tiers)
    headers = {**read_headers(services.read_model, entry, public=caller is None), "ETag": etag}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if caller is None:
        held = services.read_model.cached(record, PUBLIC_ANSWER)
        answer = (
            held
            if isinstance(held, PublicAnswer)
            else await run_read(request, _public_answer, services, pid, record)
        )
        body = answer.body
    else:
        body = await run_read(request, _passport_body, services, pid, record, tiers)
        # Restricted reads go to the owner's access log (who, on which basis, which tiers).
        await run_read(request, log_restricted_read, services, caller, pid, record, tiers, "passport")
    return Response(body, media_type="application/json", headers=headers)


@router.get("/passports/{passport_id}/versions", operation_id="list_passport_versions")
@raises(502)
def list_passport_versions(
    pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> list[VersionPublic]:
    """Every version's digest (public on-chain facts), oldest first."""
    return [VersionPublic.of(v) for v in services.passports_for(None).versions(pid)]


@router.post("/passports/{passport_id}/status", operation_id="change_passport_status")
@raises(409, 502)
def change_passport_status(
    caller: AuthCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    body: StatusChangeCreate,
    services: ServicesDep,
) -> PassportVersionPublic:
    """``REUSED`` or ``WASTE`` (the battery's custodian only)."""
    document = body.passport if body.passport is not None else services.current_document(pid)
    _same_passport(document, pid)
    issued = services.passports_for(caller).change_status(pid, LifecycleStatus[body.status], document)
    return PassportVersionPublic.of(issued)


@router.post("/passports/{passport_id}/successor", status_code=201, operation_id="issue_successor_passport")
@raises(409, 502)
def issue_successor_passport(
    caller: RepurposerCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    body: SuccessorCreate,
    services: ServicesDep,
) -> PassportVersionPublic:
    """Repurpose or remanufacture (repurposer role, holding custody): a linked successor passport."""
    if body.passport.passport_id == pid:
        raise Conflict("a successor passport needs its own passport id")
    issued = services.passports_for(caller).issue_successor(pid, body.passport, LifecycleStatus[body.status])
    return PassportVersionPublic.of(issued)


@router.post("/passports/{passport_id}/recycle", operation_id="recycle_passport")
@raises(409, 502)
def recycle_passport(
    caller: RecyclerCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    body: RecycleCreate,
    services: ServicesDep,
) -> PassportVersionPublic:
    """End a ``WASTE`` passport as ``RECYCLED`` (recycler role, holding custody)."""
    if record.status is not LifecycleStatus.WASTE:
        raise Conflict(f"only a WASTE passport can be recycled; this one is {record.status.name}")
    document = body.passport if body.passport is not None else services.current_document(pid)
    _same_passport(document, pid)
    return PassportVersionPublic.of(services.passports_for(caller).recycle(pid, document))


@router.get(
    "/passports/{passport_id}/verification", operation_id="verify_passport", response_model=VerificationReport
)
@raises(422, 502)
async def verify_passport(
    request: Request, pid: ReadPassportId, entry: ModelEntryDep, services: ReadServices
) -> Response:
    """Every check by name (documents, CIDs, signature, on-chain record, status, custody), and
    ``index.custody``: the audit index's custody timeline of this passport against the chain's events.

    For the ledger state ``X-Ledger-Block`` names: the chain's answers about that state are remembered
    with it, the stored documents are hashed against its digests on every request."""
    record = entry.record
    assert record is not None  # model_entry answered 404 otherwise
    report = await run_read(request, services.verification, pid, record)
    headers = {**read_headers(services.read_model, entry, public=False), "Cache-Control": "no-cache"}
    return Response(report.model_dump_json().encode(), media_type="application/json", headers=headers)


@router.get(
    "/passports/{passport_id}/bundle",
    operation_id="download_passport_bundle",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "Offline verification bundle"}},
)
@raises(422, 502)
def download_passport_bundle(pid: PassportId, record: ExistingRecord, services: ServicesDep) -> Response:
    """The current version's verification bundle (public section only), for ``passport verify``."""
    bundle = services.passports_for(None).bundle(pid)
    return Response(
        bundle.to_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="passport-{pid}.bundle.json"'},
    )


def _same_passport(document: BatteryPassport, pid: uuid.UUID) -> None:
    if document.passport_id != pid:
        raise ApiError(
            f"the document is passport {document.passport_id}, not {pid}",
            status=422,
            title="Invalid document",
            errors=[{"field": "body.passport.general.passport_id", "reason": f"must be {pid}"}],
        )
