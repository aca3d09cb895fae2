"""Carbon-footprint declarations (Art. 7): computed here from activity data and documented emission
factors, signed by the caller's custodial key, stored, and returned with the passport section they give."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AuthCaller, ServicesDep
from api.openapi import raises
from passport.materials import (
    Activity,
    CarbonFootprintDeclaration,
    EmissionFactor,
    declare_carbon_footprint,
    document_cid,
    document_digest,
    open_document,
    sign_document,
)
from passport.materials.documents import Hex32
from passport.model.carbon import CarbonFootprint
from passport.model.documents import DocumentRef
from passport.store.cid import cid_digest

router = APIRouter(tags=["carbon footprint"])

CidPath = Annotated[
    str,
    Path(
        description="The declaration's CID (CIDv1, raw, sha2-256, base32).",
        json_schema_extra={"pattern": "^bafkrei[a-z2-7]{52}$"},
    ),
]


class DeclarationCreate(BaseModel):
    """Activity data per manufacturing process and the emission factors they use."""

    model_config = ConfigDict(extra="forbid")

    passport_id: Hex32 = Field(description="The passport's bytes32 id (0x + 64 lowercase hex).")
    battery_model: str = Field(min_length=1, max_length=200)
    plant: str = Field(min_length=1, max_length=200)
    usable_energy_kwh: float = Field(gt=0, le=100_000)
    expected_full_cycles: int = Field(gt=0, le=1_000_000)
    factors: list[EmissionFactor] = Field(min_length=1, max_length=500)
    activities: list[Activity] = Field(min_length=1, max_length=2_000)
    study: DocumentRef


class DeclarationPublic(BaseModel):
    cid: str
    digest: str
    signer: str
    declaration: CarbonFootprintDeclaration
    passport_section: CarbonFootprint


@router.post("/carbon/declarations", status_code=201, response_model=DeclarationPublic)
@raises(401, 403, 422, 503)
def declare_carbon_footprint_route(
    body: DeclarationCreate, caller: AuthCaller, services: ServicesDep
) -> DeclarationPublic:
    """Compute, sign (as the caller) and store a carbon-footprint declaration; 422 if it does not add up."""
    account = services.client_for(caller).account
    declaration = declare_carbon_footprint(
        **body.model_dump(exclude={"factors", "activities", "study"}),
        factors=body.factors,
        activities=body.activities,
        study=body.study,
    )
    data = sign_document(declaration, services.keys[caller.name])
    cid = services.store.put(data)
    digest = document_digest(data)
    link = DocumentRef(title="Carbon footprint declaration", content=f"ipfs://{cid}", sha256=digest.hex())
    return DeclarationPublic(
        cid=cid,
        digest="0x" + digest.hex(),
        signer=account,
        declaration=declaration,
        passport_section=declaration.to_passport(link),
    )


@router.get("/carbon/declarations/{cid}", response_model=DeclarationPublic)
@raises(400, 404, 422, 503)
def get_carbon_declaration(cid: CidPath, services: ServicesDep) -> DeclarationPublic:
    """A stored declaration, its signature checked."""
    digest = cid_digest(cid)
    data = services.store.get(document_cid(digest))
    declaration, signer = open_document(data, CarbonFootprintDeclaration)
    link = DocumentRef(title="Carbon footprint declaration", content=f"ipfs://{cid}", sha256=digest.hex())
    return DeclarationPublic(
        cid=cid,
        digest="0x" + digest.hex(),
        signer=signer,
        declaration=declaration,
        passport_section=declaration.to_passport(link),
    )
