"""Legal ownership apart from custody, the owner's consents, and subscription / lease contracts.

* ``POST /passports/{id}/legal-owner``: the passport's issuer or custodian records its first legal owner;
* ``POST /passports/{id}/legal-owner/transfers``: the legal owner moves ownership (its consents lapse);
* ``POST /passports/{id}/consents`` / ``DELETE …/consents/{action}``: the legal owner consents to (or
  withdraws consent to) a transfer, repurposing or recycling — the registry refuses those without it;
* ``POST /leases``: the legal owner signs, stores and records a lease contract; ``GET /leases/{id}``
  reads it back checked against the chain; ``POST /leases/{id}/end`` ends it;
* ``GET /passports/{id}/services``: the battery's service overview (owner, consents, binding, storage
  installation, leases, claims).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AuthCaller, PassportId, ServicesDep
from api.openapi import raises
from api.schemas import BYTES32_SCHEMA, Address
from api.service_schemas import BindingPublic, ClaimPublic, LeasePublic, ReceiptPublic, StoragePublic
from passport.ids import parse_bytes32, passport_id_bytes32
from passport.servicemodels import ConsentAction, LeaseContract, ServiceOverview

router = APIRouter(tags=["battery services"])

LeaseIdPath = Annotated[
    str, Path(description="The lease id, 32 bytes of hex.", json_schema_extra=BYTES32_SCHEMA)
]
ActionName = Literal["transfer", "repurpose", "recycle"]


class OwnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Address


class ConsentCreate(BaseModel):
    """The legal owner's consent to one action, to one counterparty (omitted: anyone), until an expiry."""

    model_config = ConfigDict(extra="forbid")

    action: ActionName
    counterparty: Address | None = None
    expires_at: int = Field(gt=0, lt=2**64, description="Unix seconds")


class ConsentPublic(BaseModel):
    action: ActionName
    counterparty: str | None
    expires_at: int


class LeaseDocumentPublic(BaseModel):
    """A lease as recorded, with its signed contract (checked against the chain) and where it is stored."""

    lease: LeasePublic
    contract: LeaseContract
    cid: str


class StoredLeasePublic(BaseModel):
    cid: str
    digest: str
    receipt: ReceiptPublic | None


class ServicesPublic(BaseModel):
    """What the battery-services contract says about one battery."""

    legal_owner: str | None
    consents: list[ConsentPublic]
    binding: BindingPublic | None
    storage_installation: StoragePublic | None
    leases: list[LeasePublic]
    claims: list[ClaimPublic]

    @classmethod
    def of(cls, overview: ServiceOverview) -> ServicesPublic:
        return cls(
            legal_owner=overview.legal_owner,
            consents=[
                ConsentPublic(
                    action=_action_name(c.action), counterparty=c.counterparty, expires_at=c.expires_at
                )
                for c in overview.consents
            ],
            binding=None if overview.binding is None else BindingPublic.of(overview.binding),
            storage_installation=None if overview.storage is None else StoragePublic.of(overview.storage),
            leases=[LeasePublic.of(lease) for lease in overview.leases],
            claims=[ClaimPublic.of(c) for c in overview.claims],
        )


def _action_name(action: ConsentAction) -> ActionName:
    names: dict[ConsentAction, ActionName] = {
        ConsentAction.TRANSFER: "transfer",
        ConsentAction.REPURPOSE: "repurpose",
        ConsentAction.RECYCLE: "recycle",
    }
    return names[action]


@router.get("/passports/{passport_id}/services", response_model=ServicesPublic)
@raises(400, 503)
def get_battery_services(pid: PassportId, services: ServicesDep) -> ServicesPublic:
    """The battery's legal owner, consents, binding, storage installation, leases and claims."""
    return ServicesPublic.of(services.service_models_for(None).overview(passport_id_bytes32(pid)))


@router.post("/passports/{passport_id}/legal-owner", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def record_legal_owner(
    pid: PassportId, body: OwnerCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Record the battery's first legal owner (the passport's issuer or custodian; 409 if already set)."""
    return ReceiptPublic.of(
        services.service_models_for(caller).record_owner(passport_id_bytes32(pid), body.owner)
    )


@router.post("/passports/{passport_id}/legal-owner/transfers", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def transfer_legal_owner(
    pid: PassportId, body: OwnerCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Move legal ownership (the legal owner only); its consents lapse."""
    models = services.service_models_for(caller)
    return ReceiptPublic.of(models.transfer_ownership(passport_id_bytes32(pid), body.owner))


@router.post("/passports/{passport_id}/consents", status_code=201, response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def grant_owner_consent(
    pid: PassportId, body: ConsentCreate, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Consent, as legal owner, to the custodian transferring / repurposing / recycling the battery."""
    models = services.service_models_for(caller)
    action = ConsentAction[body.action.upper()]
    return ReceiptPublic.of(
        models.grant_consent(passport_id_bytes32(pid), action, body.counterparty, body.expires_at)
    )


@router.delete("/passports/{passport_id}/consents/{action}", response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def revoke_owner_consent(
    pid: PassportId, action: ActionName, caller: AuthCaller, services: ServicesDep
) -> ReceiptPublic:
    """Withdraw a consent (the legal owner)."""
    models = services.service_models_for(caller)
    return ReceiptPublic.of(models.revoke_consent(passport_id_bytes32(pid), ConsentAction[action.upper()]))


@router.post("/leases", status_code=201, response_model=StoredLeasePublic)
@raises(400, 401, 403, 409, 422, 503)
def record_lease(contract: LeaseContract, caller: AuthCaller, services: ServicesDep) -> StoredLeasePublic:
    """Sign (as lessor: the caller must be the battery's legal owner), store and record a lease contract."""
    stored = services.service_models_for(caller).record_lease(contract)
    return StoredLeasePublic(
        cid=stored.cid,
        digest="0x" + stored.digest.hex(),
        receipt=None if stored.receipt is None else ReceiptPublic.of(stored.receipt),
    )


@router.get("/leases/{lease_id}", response_model=LeaseDocumentPublic)
@raises(400, 404, 422, 503)
def get_lease(lease_id: LeaseIdPath, services: ServicesDep) -> LeaseDocumentPublic:
    """The lease and its signed contract, checked against each other (422 if the store disagrees)."""
    view = services.service_models_for(None).read_lease(parse_bytes32(lease_id, "lease id"))
    return LeaseDocumentPublic(lease=LeasePublic.of(view.lease), contract=view.contract, cid=view.cid)


@router.post("/leases/{lease_id}/end", response_model=ReceiptPublic)
@raises(400, 401, 403, 409, 503)
def end_lease(lease_id: LeaseIdPath, caller: AuthCaller, services: ServicesDep) -> ReceiptPublic:
    """End an open lease now (its lessor)."""
    return ReceiptPublic.of(
        services.service_models_for(caller).end_lease(parse_bytes32(lease_id, "lease id"))
    )
