"""Passports: issue, fetch (sections by the caller's tier), versions, lifecycle, verify, bundle.

Writes run in FastAPI's thread pool (plain ``def``): each one stores documents, signs and waits for a
mined transaction. Every write is checked here before it is sent (role, custody), so an unauthorised
caller gets a 403 rather than a revert, and the contract checks again.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import AuthCaller, MaybeCaller, readable_tiers, require_custodian, require_role
from api.auth import ApiRole, Caller
from api.errors import ApiError, Conflict, NotFound
from api.services import Services, get_services
from api.web.views import bundle_path, page_path
from passport.audit import cross_check_custody, with_check
from passport.chain.records import LifecycleStatus, PassportRecord
from passport.ids import ZERO32, parse_passport_id, passport_id_bytes32
from passport.model import AccessTier, BatteryPassport
from passport.service.results import IssuedVersion, VersionInfo
from passport.verify import VerificationReport

router = APIRouter(tags=["passports"])

ServicesDep = Annotated[Services, Depends(get_services)]
PassportIdPath = Annotated[
    str,
    Path(
        description="The passport's UUID (or urn:uuid:…).", examples=["6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11"]
    ),
]


# -- shapes ------------------------------------------------------------------------------------------


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class PassportVersionPublic(BaseModel):
    """A version the ledger recorded: where its documents are and the transaction that anchored it."""

    passport_id: str
    version: int
    status: str
    predecessor_id: str | None
    manifest_cid: str
    manifest_digest: str
    signer: str
    tx_hash: str
    block_number: int
    page_url: str
    bundle_url: str

    @classmethod
    def of(cls, issued: IssuedVersion) -> PassportVersionPublic:
        pid = str(issued.passport_id)
        return cls(
            passport_id=pid,
            version=issued.version,
            status=issued.status.name,
            predecessor_id=None if issued.predecessor is None else str(issued.predecessor),
            manifest_cid=issued.manifest_cid,
            manifest_digest="0x" + issued.manifest_digest.hex(),
            signer=issued.signer,
            tx_hash="0x" + issued.tx_hash.hex(),
            block_number=issued.block_number,
            page_url=page_path(pid),
            bundle_url=bundle_path(pid),
        )


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


# -- helpers shared with the other passport-scoped routers --------------------------------------------


def _linked_id(value: bytes) -> str | None:
    return None if value == ZERO32 else str(parse_passport_id(value))


def passport_uuid(passport_id: str) -> uuid.UUID:
    """The path's passport id; ``InvalidIdentifier`` (400) if it is not one."""
    return parse_passport_id(passport_id)


def existing_record(services: Services, pid: uuid.UUID) -> PassportRecord:
    """The passport's on-chain record; 404 if the ledger has no such passport."""
    record = services.reader.get_passport(passport_id_bytes32(pid))
    if record is None:
        raise NotFound(f"no passport {pid} on the ledger")
    return record


def require_open(record: PassportRecord, pid: uuid.UUID) -> None:
    """409 for a superseded or recycled passport: the ledger accepts no further writes to it."""
    if record.is_closed:
        raise Conflict(f"passport {pid} is closed ({record.status.name}); it accepts no further versions")


def acting_account(services: Services, caller: Caller) -> str:
    """The on-chain account the service signs with for ``caller`` (403 if it holds no key for them)."""
    return services.client_for(caller).account


def current_document(services: Services, pid: uuid.UUID) -> BatteryPassport:
    """The current version's full document (all tiers; the service holds the keys)."""
    return services.passports_for(None).fetch(pid, frozenset(AccessTier)).passport()


# -- routes ------------------------------------------------------------------------------------------


@router.post("/passports", status_code=201, operation_id="issue_passport")
def issue_passport(body: PassportCreate, caller: AuthCaller, services: ServicesDep) -> PassportVersionPublic:
    """Issue a new passport (issuer role): store its sections, sign version 1, register it on-chain."""
    require_role(caller, ApiRole.ISSUER)
    services.client_for(caller)
    if services.reader.get_passport(passport_id_bytes32(body.passport.passport_id)) is not None:
        raise Conflict(f"passport {body.passport.passport_id} already exists")
    issued = services.passports_for(caller).issue(body.passport)
    return PassportVersionPublic.of(issued)


@router.get("/passports/{passport_id}", operation_id="get_passport")
def get_passport(passport_id: PassportIdPath, caller: MaybeCaller, services: ServicesDep) -> PassportPublic:
    """The passport's current version: public for anyone, restricted sections by the caller's rights."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    offer = services.reader.get_custody_offer(passport_id_bytes32(pid))
    account = None if caller is None else services.account_of(caller)
    tiers = readable_tiers(caller, account, record, offer)
    fetched = services.passports_for(None).fetch(pid, tiers)
    return PassportPublic(
        passport_id=str(pid),
        tiers=sorted(fetched.tiers, key=list(AccessTier).index),
        ledger=LedgerRecordPublic.of(fetched.record),
        manifest_cid=fetched.manifest_cid,
        data=dict(fetched.view.data),
    )


@router.get("/passports/{passport_id}/versions", operation_id="list_passport_versions")
def list_passport_versions(passport_id: PassportIdPath, services: ServicesDep) -> list[VersionPublic]:
    """Every version's digest (public on-chain facts), oldest first."""
    pid = passport_uuid(passport_id)
    existing_record(services, pid)
    return [VersionPublic.of(v) for v in services.passports_for(None).versions(pid)]


@router.post("/passports/{passport_id}/status", operation_id="change_passport_status")
def change_passport_status(
    passport_id: PassportIdPath, body: StatusChangeCreate, caller: AuthCaller, services: ServicesDep
) -> PassportVersionPublic:
    """``REUSED`` or ``WASTE`` (the battery's custodian only)."""
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    require_custodian(acting_account(services, caller), record)
    require_open(record, pid)
    document = body.passport if body.passport is not None else current_document(services, pid)
    _same_passport(document, pid)
    issued = services.passports_for(caller).change_status(pid, LifecycleStatus[body.status], document)
    return PassportVersionPublic.of(issued)


@router.post("/passports/{passport_id}/successor", status_code=201, operation_id="issue_successor_passport")
def issue_successor_passport(
    passport_id: PassportIdPath, body: SuccessorCreate, caller: AuthCaller, services: ServicesDep
) -> PassportVersionPublic:
    """Repurpose or remanufacture (repurposer role, holding custody): a linked successor passport."""
    require_role(caller, ApiRole.REPURPOSER)
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    require_custodian(acting_account(services, caller), record)
    require_open(record, pid)
    if body.passport.passport_id == pid:
        raise Conflict("a successor passport needs its own passport id")
    issued = services.passports_for(caller).issue_successor(pid, body.passport, LifecycleStatus[body.status])
    return PassportVersionPublic.of(issued)


@router.post("/passports/{passport_id}/recycle", operation_id="recycle_passport")
def recycle_passport(
    passport_id: PassportIdPath, body: RecycleCreate, caller: AuthCaller, services: ServicesDep
) -> PassportVersionPublic:
    """End a ``WASTE`` passport as ``RECYCLED`` (recycler role, holding custody)."""
    require_role(caller, ApiRole.RECYCLER)
    pid = passport_uuid(passport_id)
    record = existing_record(services, pid)
    require_custodian(acting_account(services, caller), record)
    require_open(record, pid)
    if record.status is not LifecycleStatus.WASTE:
        raise Conflict(f"only a WASTE passport can be recycled; this one is {record.status.name}")
    document = body.passport if body.passport is not None else current_document(services, pid)
    _same_passport(document, pid)
    return PassportVersionPublic.of(services.passports_for(caller).recycle(pid, document))


@router.get("/passports/{passport_id}/verification", operation_id="verify_passport")
def verify_passport(passport_id: PassportIdPath, services: ServicesDep) -> VerificationReport:
    """Every check by name (documents, CIDs, signature, on-chain record, status, custody), and
    ``index.custody``: the audit index's custody timeline of this passport against the chain's events."""
    pid = passport_uuid(passport_id)
    existing_record(services, pid)
    report = services.passports_for(None).verify(pid)
    index = cross_check_custody(services.audit, services.reader, pid, start_block=services.start_block)
    return with_check(report, index.check)


@router.get(
    "/passports/{passport_id}/bundle",
    operation_id="download_passport_bundle",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "Offline verification bundle"}},
)
def download_passport_bundle(passport_id: PassportIdPath, services: ServicesDep) -> Response:
    """The current version's verification bundle (public section only), for ``passport verify``."""
    pid = passport_uuid(passport_id)
    existing_record(services, pid)
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
