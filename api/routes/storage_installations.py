"""A repurposed pack's installation in a stationary storage system (its successor passport's custodian
or legal owner records it; the site identifier is hashed before it goes on-chain)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import AuthCaller, PassportId, ServicesDep
from api.errors import NotFound
from api.openapi import raises
from api.service_schemas import ReceiptPublic, StoragePublic, StorageRoleName
from passport.ids import passport_id_bytes32
from passport.servicemodels import StorageRole, site_hash

router = APIRouter(tags=["battery services"])


class StorageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    rated_energy_wh: int = Field(gt=0, lt=2**64)
    role: StorageRoleName


@router.post("/passports/{passport_id}/storage-installation", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def record_storage_installation(
    pid: PassportId, body: StorageCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Record the Repurposed pack's storage installation (409 for a passport in another status)."""
    models = services.service_models_for(caller)
    receipt = models.record_storage(
        passport_id_bytes32(pid),
        site_hash(body.site_id),
        body.rated_energy_wh,
        StorageRole[body.role.upper()],
    )
    return ReceiptPublic.of(receipt)


@router.get("/passports/{passport_id}/storage-installation", response_model=StoragePublic)
@raises(400, 404, 503)
def get_storage_installation(pid: PassportId, services: ServicesDep) -> StoragePublic:
    """The pack's storage installation (404 when none is recorded)."""
    found = services.service_models_for(None).ledger.get_storage_installation(passport_id_bytes32(pid))
    if found is None:
        raise NotFound("no storage installation is recorded for this passport")
    return StoragePublic.of(found)
