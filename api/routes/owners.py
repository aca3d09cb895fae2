"""Owners and consented sharing: claim codes, owner links, device history, shares and the access log.

Roles per route (each also documented on the operation):

* claim codes: the passport's issuer or the admin issue them; an ``owner`` redeems one;
* device history and binding history of a passport: its owner, auditors and authorities, and holders of
  a grant covering the kinds asked for; every such read is logged;
* shares: the owner or the custodian grants, lists and revokes; bearer links are read without a key;
* the access log: the owner, the custodian, auditors and authorities.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.access import current_owner_link, is_owner, require_role
from api.auth import ApiRole, Caller
from api.deps import AuthCaller, ExistingRecord, PassportId, ServicesDep, SettingsDep
from api.device_models import DeviceEventPublic
from api.errors import Forbidden, NotFound
from api.openapi import raises
from api.owners import (
    DATA_KINDS,
    READING_KINDS,
    battery_of,
    may_manage,
    read_basis,
    redeem,
    share_basis,
)
from api.ownership import AccessEntry, OwnerLink, Share
from api.services import Services
from oracle.battery_history import MAX_PAGE, HistoryRecord, MonthSummary
from passport.chain.records import PassportRecord
from passport.ids import passport_id_bytes32
from passport.model import AccessTier

router = APIRouter(tags=["owners"])

CLAIM_CODE_TTL_S = 365 * 86400.0  # printed with the vehicle's papers
SIGN_IN_LINK_TTL_S = 15 * 60.0
MAX_SHARE_DAYS = 3650

ReadingKind = Literal["charging", "safety", "parking", "diagnostics"]
DataKind = Literal["passport", "evaluations", "charging", "safety", "parking", "diagnostics", "devices"]


# -- shapes ------------------------------------------------------------------------------------------


class ClaimCodePublic(BaseModel):
    claim_code: str = Field(description="Shown this once; stored hashed. Burned when redeemed.")
    passport_id: str
    expires_at: datetime


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_code: str = Field(min_length=4, max_length=64)


class OwnerLinkPublic(BaseModel):
    participant: str
    passport_id: str
    battery_id: str
    custodian: str = Field(description="The custodian the link was made under; it ends when custody moves.")
    linked_at: datetime
    unlinked_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, link: OwnerLink) -> OwnerLinkPublic:
        return cls(
            participant=link.participant,
            passport_id=link.passport_id,
            battery_id=link.battery_id,
            custodian=link.custodian,
            linked_at=_dt(link.linked_at),
            unlinked_at=None if link.unlinked_at is None else _dt(link.unlinked_at),
            reason=link.reason,
        )


class HistoryRecordPublic(BaseModel):
    record_id: int
    kind: str
    observed_at: datetime
    device_id: str
    seq: int
    digest: str = Field(description="The record digest: GET /audit/records/{digest}/proof proves it.")
    state: str = Field(description="Anchoring progress: pending, open, stored, sent, anchored, confirmed.")
    reading: dict[str, Any]

    @classmethod
    def of(cls, record: HistoryRecord) -> HistoryRecordPublic:
        return cls(
            record_id=record.record_id,
            kind=record.kind,
            observed_at=record.observed_at,
            device_id=record.device_id,
            seq=record.seq,
            digest=record.digest,
            state=record.state,
            reading=record.reading,
        )


class MonthSummaryPublic(BaseModel):
    month: str
    charging_sessions: int
    fast_charging_sessions: int
    energy_charged_kwh: float
    max_charging_cell_temp_c: float | None
    safety_events: int
    safety_by_severity: dict[str, int]
    parking_hours: float
    parking_temp_min_c: float | None
    parking_temp_max_c: float | None
    hours_parked_above_35c: float
    diagnostics: int
    latest_capacity_ah: float | None
    latest_internal_resistance_mohm: float | None

    @classmethod
    def of(cls, month: MonthSummary) -> MonthSummaryPublic:
        return cls.model_validate(month, from_attributes=True)


class DeviceHistoryPublic(BaseModel):
    """A battery's device readings (newest first, up to ``limit``) and per-month summaries of all of them."""

    passport_id: str
    battery_id: str
    basis: str = Field(description="Why the caller may read it: owner, role:<role> or share:<id>.")
    months: list[MonthSummaryPublic]
    records: list[HistoryRecordPublic]
    truncated: bool


class ShareCreate(BaseModel):
    """A grant: to a named participant (``grantee``), or, without one, as a bearer link."""

    model_config = ConfigDict(extra="forbid")

    grantee: str | None = Field(
        default=None, min_length=1, max_length=200, description="The participant; omit for a bearer link."
    )
    tier: Literal["legitimate_interest"] = "legitimate_interest"
    kinds: list[DataKind] = Field(min_length=1, max_length=len(DATA_KINDS))
    days: int = Field(default=30, ge=1, le=MAX_SHARE_DAYS, description="How long the grant lasts.")
    purpose: str | None = Field(default=None, max_length=200)


class SharePublic(BaseModel):
    id: int
    passport_id: str
    grantor: str
    grantee: str | None = Field(description="null for a bearer link")
    tier: str
    kinds: list[str]
    purpose: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, share: Share, now: float) -> SharePublic:
        return cls(
            id=share.id,
            passport_id=share.passport_id,
            grantor=share.grantor,
            grantee=share.grantee,
            tier=share.tier,
            kinds=list(share.kinds),
            purpose=share.purpose,
            created_at=_dt(share.created_at),
            expires_at=_dt(share.expires_at),
            revoked_at=None if share.revoked_at is None else _dt(share.revoked_at),
            active=share.active(now),
        )


class ShareGranted(SharePublic):
    url: str | None = Field(description="The bearer link (shown once): open it, or scan qr_svg.")
    qr_svg: str | None = Field(description="The bearer link as a QR code (SVG).")


class AccessEntryPublic(BaseModel):
    id: int
    at: datetime
    reader: str
    basis: str
    what: str
    detail: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AccessEntry) -> AccessEntryPublic:
        return cls(
            id=entry.id,
            at=_dt(entry.at),
            reader=entry.reader,
            basis=entry.basis,
            what=entry.what,
            detail=entry.detail,
        )


class SignInLinkPublic(BaseModel):
    url: str = Field(description="One use, short-lived: opens the passport page signed in as the owner.")
    qr_svg: str
    expires_at: datetime


class SharedViewPublic(BaseModel):
    """What a bearer link shows: the granted passport tier, evaluations and device history."""

    passport_id: str
    share: SharePublic
    passport: dict[str, Any] | None
    evaluations: list[Any] | None
    history: DeviceHistoryPublic | None
    bindings: list[DeviceEventPublic] | None


# -- helpers -----------------------------------------------------------------------------------------


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def qr_svg(url: str) -> str:
    """``url`` as an SVG QR code (the passport label's settings: level M, 4-module quiet zone)."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False, title="Link")
    return out.getvalue().decode()


def device_history(
    services: Services,
    pid: uuid.UUID,
    battery_id: str,
    basis: str,
    kinds: list[str],
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> DeviceHistoryPublic:
    _, history = services.device_registry()
    # One more than asked: whether there are more is what ``truncated`` says.
    records = history.records(battery_id, kinds=kinds, since=since, until=until, limit=limit + 1)
    months = history.months(battery_id, kinds=kinds, since=since, until=until)
    return DeviceHistoryPublic(
        passport_id=str(pid),
        battery_id=battery_id,
        basis=basis,
        months=[MonthSummaryPublic.of(month) for month in months],
        records=[HistoryRecordPublic.of(record) for record in records[:limit]],
        truncated=len(records) > limit,
    )


def _log(services: Services, pid: uuid.UUID, reader: str, basis: str, what: str, **detail: Any) -> None:
    services.ownership.log_access(str(pid), reader, basis, what, detail or None)


def _issuer_or_admin(services: Services, caller: Caller, record: PassportRecord) -> None:
    if caller.has(ApiRole.ADMIN):
        return
    require_role(caller, ApiRole.ISSUER, ApiRole.ADMIN)
    account = services.account_of(caller)
    if account is None or account.lower() != record.issuer.lower():
        raise Forbidden("only the passport's issuer (or the admin) issues its claim codes")


KindsQuery = Annotated[list[ReadingKind] | None, Query(description="Reading kinds (default: all four).")]
SinceQuery = Annotated[datetime | None, Query(description="Observed at or after (RFC 3339).")]
UntilQuery = Annotated[datetime | None, Query(description="Observed before (RFC 3339).")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many records (newest first).")]
ShareIdPath = Annotated[int, Path(ge=1, le=2**62, description="The share's id.")]
TokenPath = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


# -- claim codes and owner links -------------------------------------------------------------------


@router.post("/passports/{passport_id}/claim-codes", status_code=201, operation_id="issue_claim_code")
@raises(403, 404, 503)
def issue_claim_code(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> ClaimCodePublic:
    """A one-time claim code for the battery's owner (roles: the passport's issuer, admin); voids an
    unused earlier one."""
    _issuer_or_admin(services, caller, record)
    battery = battery_of(services, pid, record)
    code, expires = services.ownership.issue_claim(str(pid), battery, caller.name, CLAIM_CODE_TTL_S)
    return ClaimCodePublic(claim_code=code, passport_id=str(pid), expires_at=_dt(expires))


@router.post("/owners/claims", status_code=201, operation_id="redeem_claim_code")
@raises(403, 404, 503)
def redeem_claim_code(body: ClaimCreate, caller: AuthCaller, services: ServicesDep) -> OwnerLinkPublic:
    """Redeem a claim code: the caller (role: owner) becomes the battery's owner; the code is burned."""
    require_role(caller, ApiRole.OWNER)
    return OwnerLinkPublic.of(redeem(services, caller.name, body.claim_code))


@router.get("/owners/me/batteries", operation_id="list_my_batteries")
@raises(403)
def list_my_batteries(caller: AuthCaller, services: ServicesDep) -> list[OwnerLinkPublic]:
    """The caller's owner links, current and ended (role: owner)."""
    require_role(caller, ApiRole.OWNER)
    links = services.ownership.links(participant=caller.name, current=False)
    return [OwnerLinkPublic.of(link) for link in links]


@router.post("/passports/{passport_id}/owner/unlink", operation_id="unlink_owner")
@raises(403, 404, 503)
def unlink_owner(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> list[OwnerLinkPublic]:
    """End the battery's owner link: by the owner (a sale), the custodian or the admin."""
    owner = current_owner_link(services, caller, pid, record) is not None
    if not owner and not caller.has(ApiRole.ADMIN):
        may_manage(services, caller, pid, record)
    ended = services.ownership.unlink(
        str(pid),
        "unlinked by its owner" if owner else f"unlinked by {caller.name}",
        participant=caller.name if owner else None,
    )
    for link in ended:
        services.api_keys.unlink_battery(link.participant, link.battery_id)
    return [
        OwnerLinkPublic.of(link) for link in services.ownership.links(passport_id=str(pid), current=False)
    ]


@router.post(
    "/passports/{passport_id}/owner/sign-in-links", status_code=201, operation_id="issue_sign_in_link"
)
@raises(403, 404, 503)
def issue_sign_in_link(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep, settings: SettingsDep
) -> SignInLinkPublic:
    """A one-time link (URL and QR) that signs the owner in on the passport page, e.g. on a phone."""
    if current_owner_link(services, caller, pid, record) is None and not is_owner(
        services, caller, pid, record
    ):
        raise Forbidden(f"only the owner of passport {pid} may sign in to it")
    token, expires = services.ownership.issue_sign_in_link(caller.name, str(pid), SIGN_IN_LINK_TTL_S)
    url = f"{settings.public_base_url.rstrip('/')}/p/{pid}/sign-in?token={token}"
    return SignInLinkPublic(url=url, qr_svg=qr_svg(url), expires_at=_dt(expires))


# -- restricted reads --------------------------------------------------------------------------------


@router.get("/passports/{passport_id}/device-history", operation_id="get_device_history_of_passport")
@raises(403, 404, 503)
def get_passport_device_history(
    caller: AuthCaller,
    pid: PassportId,
    record: ExistingRecord,
    services: ServicesDep,
    kind: KindsQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    limit: LimitQuery = 200,
) -> DeviceHistoryPublic:
    """The battery's device readings and per-month summaries (its owner, auditors, authorities, or a
    grantee covering the kinds); logged."""
    kinds = list(kind or READING_KINDS)
    basis = read_basis(services, caller, pid, record, kinds)
    battery = battery_of(services, pid, record)
    result = device_history(services, pid, battery, basis, kinds, since, until, limit)
    _log(services, pid, caller.name, basis, "device-history", kinds=sorted(set(kinds)))
    return result


@router.get("/passports/{passport_id}/device-bindings", operation_id="get_device_bindings")
@raises(403, 404, 503)
def get_device_bindings(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> list[DeviceEventPublic]:
    """Which devices reported on this battery, from when to when (the binding history; its owner,
    device managers, auditors, authorities, or a grantee covering ``devices``); logged."""
    if caller.has(ApiRole.ADMIN, ApiRole.ISSUER):
        basis = "role:" + ("admin" if caller.has(ApiRole.ADMIN) else "issuer")
    else:
        basis = read_basis(services, caller, pid, record, ["devices"])
    registry, _ = services.device_registry()
    events = registry.history(battery_id=battery_of(services, pid, record))
    _log(services, pid, caller.name, basis, "device-bindings")
    return [DeviceEventPublic.of(event) for event in events]


@router.get("/passports/{passport_id}/access-log", operation_id="get_access_log")
@raises(403, 404)
def get_access_log(
    caller: AuthCaller,
    pid: PassportId,
    record: ExistingRecord,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Entries older than this id.")] = None,
) -> list[AccessEntryPublic]:
    """Every read of the passport's restricted data, newest first (its owner, custodian, auditors,
    authorities)."""
    if not caller.has(ApiRole.AUDITOR, ApiRole.AUTHORITY):
        may_manage(services, caller, pid, record)
    entries = services.ownership.access_log(str(pid), limit=limit, before=before)
    return [AccessEntryPublic.of(entry) for entry in entries]


# -- shares ------------------------------------------------------------------------------------------


@router.post("/passports/{passport_id}/shares", status_code=201, operation_id="grant_share")
@raises(403, 404, 503)
def grant_share(
    body: ShareCreate,
    caller: AuthCaller,
    pid: PassportId,
    record: ExistingRecord,
    services: ServicesDep,
    settings: SettingsDep,
) -> ShareGranted:
    """Grant a named participant, or whoever holds a bearer link, the chosen data for a period (the
    owner or the custodian)."""
    may_manage(services, caller, pid, record)
    if body.grantee is not None and services.api_keys.participant(body.grantee) is None:
        raise NotFound(f"no participant {body.grantee!r}")
    now = services.ownership.now()
    share, token = services.ownership.grant(
        passport_id=str(pid),
        battery_id=battery_of(services, pid, record),
        grantor=caller.name,
        grantee=body.grantee,
        tier=body.tier,
        kinds=body.kinds,
        purpose=body.purpose,
        expires_at=(datetime.fromtimestamp(now, UTC) + timedelta(days=body.days)).timestamp(),
    )
    url = None if token is None else f"{settings.public_base_url.rstrip('/')}/api/v1/shared/{token}"
    return ShareGranted(
        **SharePublic.of(share, now).model_dump(), url=url, qr_svg=None if url is None else qr_svg(url)
    )


@router.get("/passports/{passport_id}/shares", operation_id="list_shares")
@raises(403, 404)
def list_shares(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> list[SharePublic]:
    """The passport's grants, active and ended (its owner, custodian, auditors, authorities)."""
    if not caller.has(ApiRole.AUDITOR, ApiRole.AUTHORITY):
        may_manage(services, caller, pid, record)
    now = services.ownership.now()
    return [SharePublic.of(share, now) for share in services.ownership.shares(str(pid))]


@router.post("/passports/{passport_id}/shares/{share_id}/revoke", operation_id="revoke_share")
@raises(403, 404, 409)
def revoke_share(
    caller: AuthCaller, pid: PassportId, share_id: ShareIdPath, record: ExistingRecord, services: ServicesDep
) -> SharePublic:
    """Revoke a grant at once (the owner or the custodian)."""
    may_manage(services, caller, pid, record)
    share = services.ownership.share(share_id)
    if share.passport_id != str(pid):
        raise NotFound(f"passport {pid} has no share {share_id}")
    return SharePublic.of(services.ownership.revoke(share_id, caller.name), services.ownership.now())


def shared_view(services: Services, share: Share, reader: str, basis: str) -> SharedViewPublic:
    """Everything ``share`` covers, each part logged as read under it."""
    pid = uuid.UUID(share.passport_id)
    record = services.reader.get_passport(passport_id_bytes32(pid))
    if record is None:
        raise NotFound(f"no passport {pid} on the ledger")
    tiers = frozenset({AccessTier.PUBLIC, AccessTier(share.tier)})
    passport = evaluations = history = bindings = None
    if "passport" in share.kinds or "evaluations" in share.kinds:
        view = services.passports_for(None).fetch(pid, tiers).view
        if "passport" in share.kinds:
            passport = dict(view.data)
        if "evaluations" in share.kinds:
            evaluations = list(view.get("korea.performance_evaluations", []) or [])
    kinds = [kind for kind in READING_KINDS if kind in share.kinds]
    if kinds:
        history = device_history(services, pid, share.battery_id, basis, kinds, None, None, MAX_PAGE)
    if "devices" in share.kinds:
        registry, _ = services.device_registry()
        bindings = [DeviceEventPublic.of(e) for e in registry.history(battery_id=share.battery_id)]
    _log(services, pid, reader, basis, "shared-view", kinds=list(share.kinds))
    return SharedViewPublic(
        passport_id=str(pid),
        share=SharePublic.of(share, services.ownership.now()),
        passport=passport,
        evaluations=evaluations,
        history=history,
        bindings=bindings,
    )


@router.get("/shared/{token}", operation_id="read_shared")
@raises(403, 404, 503)
def read_shared(token: TokenPath, services: ServicesDep) -> SharedViewPublic:
    """What a bearer share link grants (no API key: the link is the credential); logged."""
    share = services.ownership.share_by_token(token)
    share = share_basis(share, services.ownership.now(), ())
    return shared_view(services, share, f"bearer link of share {share.id}", f"share:{share.id}")


@router.get("/passports/{passport_id}/shared-with-me", operation_id="read_granted")
@raises(403, 404, 503)
def read_granted(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, services: ServicesDep
) -> list[SharedViewPublic]:
    """What the caller's active grants on this passport cover (the named grantee); logged."""
    grants = services.ownership.grants_for(caller.name, str(pid))
    if not grants:
        raise Forbidden(f"{caller.name!r} holds no active grant on passport {pid}")
    return [shared_view(services, share, caller.name, f"share:{share.id}") for share in grants]
