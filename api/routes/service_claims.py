"""Energy-delivered and avoided-emission claims, recorded once per battery, kind and month: a second
claim for the same battery, kind and month is a 409 (``BatteryServicesClaimExists``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import AuthCaller, PassportId, ServicesDep
from api.openapi import raises
from api.schemas import BYTES32_SCHEMA
from api.service_schemas import ClaimKindName, ClaimPublic, ReceiptPublic
from passport.ids import parse_bytes32, passport_id_bytes32
from passport.servicemodels import ClaimKind

router = APIRouter(tags=["battery services"])


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ClaimKindName
    period: int = Field(ge=200_001, le=999_912, description="The month, yyyymm (e.g. 202611)")
    quantity: int = Field(gt=0, lt=2**128, description="Wh delivered, or g CO2e avoided")
    evidence_digest: str = Field(
        json_schema_extra=BYTES32_SCHEMA, description="e.g. the energy proof's digest"
    )

    @field_validator("period")
    @classmethod
    def _month(cls, value: int) -> int:
        if not 1 <= value % 100 <= 12:
            raise ValueError("the period is a month, yyyymm, with mm in 01..12")
        return value


@router.post("/passports/{passport_id}/claims", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 422, 503)
def record_service_claim(
    pid: PassportId, body: ClaimCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Record a claim for one month (the custodian or legal owner; 409 if that month is already claimed)."""
    models = services.service_models_for(caller)
    receipt = models.record_claim(
        passport_id_bytes32(pid),
        ClaimKind[body.kind.upper()],
        body.period,
        body.quantity,
        parse_bytes32(body.evidence_digest, "evidence digest"),
    )
    return ReceiptPublic.of(receipt)


@router.get("/passports/{passport_id}/claims", response_model=list[ClaimPublic])
@raises(400, 503)
def list_service_claims(pid: PassportId, services: ServicesDep) -> list[ClaimPublic]:
    """Every claim recorded for the battery, in chain order."""
    models = services.service_models_for(None)
    return [ClaimPublic.of(c) for c in models.ledger.claims_of(passport_id_bytes32(pid), models.from_block)]
