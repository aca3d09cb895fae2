"""Catena-X BatteryPass 6.1.0 in and out: validate or issue an imported document, export a passport.

Import reads the raw request bytes through the library's one strict JSON parser (UTF-8 without a BOM,
bounded depth, no duplicate keys), so a hostile or ambiguous document is a 422 naming the problem, and
every invalid field is reported at its Catena-X JSON path. Export carries every tier's data (Catena-X
has no notion of access tiers), so only a caller who may read every tier of that passport gets it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import Caller
from api.deps import AuthCaller, ExistingRecord, IssuerCaller, PassportId, ReadableTiers, ServicesDep
from api.errors import Conflict, Forbidden
from api.openapi import raises
from api.schemas import PassportVersionPublic
from api.services import Services
from passport.ids import passport_id_bytes32
from passport.interop import CatenaXImport, export_catenax, import_catenax
from passport.model import AccessTier, BatteryPassport
from passport.service.results import IssuedVersion

router = APIRouter(tags=["interop"])

VoluntaryQuery = Annotated[
    bool,
    Query(description="Accept an SLI or portable battery, which needs no passport (Art. 77(1))."),
]

_CATENAX_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A Catena-X BatteryPass 6.1.0 document: UTF-8 JSON without a BOM, no duplicate keys.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_CATENAX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "Catena-X document"}
}


class CatenaXValidationPublic(BaseModel):
    """An imported document as the passport it maps to, and the document fields the model does not carry."""

    passport: BatteryPassport
    unmapped: list[str]


class CatenaXIssuedPublic(BaseModel):
    """The passport issued from an imported document, and the fields the model does not carry."""

    version: PassportVersionPublic
    unmapped: list[str]


async def _imported(request: Request, allow_voluntary_category: bool) -> CatenaXImport:
    body = await request.body()
    # A DocumentValidationError (strict JSON included) becomes a 422 listing every path.
    return await run_in_threadpool(import_catenax, body, allow_voluntary_category=allow_voluntary_category)


@router.post("/interop/catenax/validation", operation_id="validate_catenax", openapi_extra=_CATENAX_BODY)
@raises(413, 422)  # the body is read raw (not a declared body parameter): its statuses are listed here
async def validate_catenax(
    request: Request, caller: AuthCaller, allow_voluntary_category: VoluntaryQuery = False
) -> CatenaXValidationPublic:
    """Validate a Catena-X document and show the passport it maps to; nothing is stored."""
    imported = await _imported(request, allow_voluntary_category)
    return CatenaXValidationPublic(passport=imported.passport, unmapped=list(imported.unmapped))


@router.post("/interop/catenax", status_code=201, operation_id="import_catenax", openapi_extra=_CATENAX_BODY)
@raises(409, 413, 422, 502)
async def import_catenax_passport(
    request: Request,
    caller: IssuerCaller,
    services: ServicesDep,
    allow_voluntary_category: VoluntaryQuery = False,
) -> CatenaXIssuedPublic:
    """Issue a passport from a Catena-X document (issuer role), exactly as ``POST /passports`` would."""
    services.client_for(caller)  # 403 before parsing if the service holds no key for this issuer
    imported = await _imported(request, allow_voluntary_category)
    issued = await run_in_threadpool(_issue, services, caller, imported.passport)
    return CatenaXIssuedPublic(version=PassportVersionPublic.of(issued), unmapped=list(imported.unmapped))


def _issue(services: Services, caller: Caller, passport: BatteryPassport) -> IssuedVersion:
    if services.reader.get_passport(passport_id_bytes32(passport.passport_id)) is not None:
        raise Conflict(f"passport {passport.passport_id} already exists")
    return services.passports_for(caller).issue(passport)


@router.get(
    "/passports/{passport_id}/catenax",
    operation_id="export_catenax",
    responses=_CATENAX_RESPONSE,
)
@raises(403, 502)
def export_catenax_passport(
    caller: AuthCaller, pid: PassportId, record: ExistingRecord, tiers: ReadableTiers, services: ServicesDep
) -> Any:
    """The passport's current version as a Catena-X document (callers who may read every tier)."""
    if tiers != frozenset(AccessTier):
        readable = ", ".join(t.value for t in AccessTier if t in tiers)
        raise Forbidden(
            f"a Catena-X document carries every access tier; this caller may read only: {readable}"
        )
    passport = services.passports_for(None).fetch(pid, frozenset(AccessTier)).passport()
    return export_catenax(passport)
