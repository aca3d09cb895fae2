"""Recycled-material certification: lots, production certificates, credits, usage claims, verification.

Writes sign with the caller's custodial key; the ``RecycledMaterialLedger`` contract decides who may do
what (RECYCLER records lots, CERTIFIER certifies, any holder moves or retires its credits), so a caller
without the role gets a 409 naming the contract's error. Documents are checked against the chain before
a certifier signs anything (422 when they disagree).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller
from api.deps import AccountPath, AuthCaller, ServicesDep
from api.errors import NotFound
from api.openapi import raises
from api.schemas import BYTES32_SCHEMA, Address
from api.services import Services
from passport.chain.material_ledger import ClaimRecord, LotRecord
from passport.ids import parse_bytes32
from passport.materials import (
    Evidence,
    MaterialsService,
    MetalMass,
    RecycledLot,
    StoredDocument,
    UsageClaim,
    collect_evidence,
    verify_evidence,
)
from passport.materials.shares import against_targets
from passport.model.circularity import RecycledContentShare, RecycledElement

router = APIRouter(tags=["recycled material"])

Bytes32Path = Annotated[str, Path(description="32 bytes of hex (0x…).", json_schema_extra=BYTES32_SCHEMA)]


class StoredPublic(BaseModel):
    """A signed document stored and committed on-chain."""

    cid: str
    digest: str
    tx_hash: str | None = None
    block_number: int | None = None

    @classmethod
    def of(cls, stored: StoredDocument) -> StoredPublic:
        receipt = stored.receipt
        return cls(
            cid=stored.cid,
            digest="0x" + stored.digest.hex(),
            tx_hash=None if receipt is None else "0x" + receipt.tx_hash.hex(),
            block_number=None if receipt is None else receipt.block_number,
        )


class LotPublic(BaseModel):
    lot_id: str
    recycler: str
    status: str
    post_consumer: bool
    document_digest: str
    certificate_digest: str | None
    feedstock_grams: MetalMass
    recovered_grams: MetalMass
    feedstock: list[str]

    @classmethod
    def of(cls, lot: LotRecord) -> LotPublic:
        zero = b"\x00" * 32
        return cls(
            lot_id="0x" + lot.lot_id.hex(),
            recycler=lot.recycler,
            status=lot.status.name.lower(),
            post_consumer=lot.post_consumer,
            document_digest="0x" + lot.document_digest.hex(),
            certificate_digest=None
            if lot.certificate_digest == zero
            else "0x" + lot.certificate_digest.hex(),
            feedstock_grams=MetalMass.from_grams(lot.feedstock_grams),
            recovered_grams=MetalMass.from_grams(lot.recovered_grams),
            feedstock=["0x" + p.hex() for p in lot.feedstock],
        )


class ClaimPublic(BaseModel):
    claim_id: str
    claimant: str
    status: str
    claim_digest: str
    certificate_digest: str | None
    retired_pre_consumer: MetalMass
    retired_post_consumer: MetalMass

    @classmethod
    def of(cls, claim: ClaimRecord) -> ClaimPublic:
        zero = b"\x00" * 32
        return cls(
            claim_id="0x" + claim.claim_id.hex(),
            claimant=claim.claimant,
            status=claim.status.name.lower(),
            claim_digest="0x" + claim.claim_digest.hex(),
            certificate_digest=None
            if claim.certificate_digest == zero
            else "0x" + claim.certificate_digest.hex(),
            retired_pre_consumer=MetalMass.from_grams(claim.pre_consumer_grams),
            retired_post_consumer=MetalMass.from_grams(claim.post_consumer_grams),
        )


class TransferCreate(BaseModel):
    """Move credits of one metal and origin to another holder (a sale under mass balance)."""

    model_config = ConfigDict(extra="forbid")

    to: Address
    metal: RecycledElement
    grams: int = Field(gt=0, lt=2**64)
    post_consumer: bool


class BalancesPublic(BaseModel):
    account: str
    pre_consumer: MetalMass
    post_consumer: MetalMass


class UsageCertificatePublic(StoredPublic):
    """The usage certificate, and the shares (linked to it) that passports of the model now carry."""

    shares: list[RecycledContentShare]
    targets: dict[str, dict[str, float | bool]]


class VerificationCreate(BaseModel):
    """A passport's recycled-content shares (with their usage-certificate link) to follow back."""

    model_config = ConfigDict(extra="forbid")

    shares: list[RecycledContentShare] = Field(min_length=1, max_length=4)


class CheckPublic(BaseModel):
    name: str
    ok: bool
    detail: str


class VerificationPublic(BaseModel):
    ok: bool
    failed: list[str]
    checks: list[CheckPublic]
    evidence: Evidence


def _id(value: str, what: str) -> bytes:
    return parse_bytes32(value, what)


def _service(services: Services, caller: Caller | None) -> MaterialsService:
    return services.materials_for(caller)


@router.post("/recycled/lots", status_code=201, response_model=StoredPublic)
@raises(400, 401, 403, 409, 422, 503)
def record_lot(lot: RecycledLot, caller: AuthCaller, services: ServicesDep) -> StoredPublic:
    """Record a lot of recovered metal with its feedstock passports (RECYCLER on the material ledger)."""
    return StoredPublic.of(_service(services, caller).record_lot(lot))


@router.get("/recycled/lots/{lot_id}", response_model=LotPublic)
@raises(400, 404, 503)
def get_lot(lot_id: Bytes32Path, services: ServicesDep) -> LotPublic:
    """A lot as the chain holds it."""
    lot = services.materials_for(None).ledger.get_lot(_id(lot_id, "lot id"))
    if lot is None:
        raise NotFound(f"no lot {lot_id}")
    return LotPublic.of(lot)


@router.post("/recycled/lots/{lot_id}/certificate", status_code=201, response_model=StoredPublic)
@raises(400, 401, 403, 404, 409, 422, 503)
def certify_lot(lot_id: Bytes32Path, caller: AuthCaller, services: ServicesDep) -> StoredPublic:
    """Check the lot against the chain and its passports, then certify it (CERTIFIER)."""
    return StoredPublic.of(_service(services, caller).certify_lot(_id(lot_id, "lot id")))


@router.post("/recycled/credits/transfers", status_code=201, response_model=StoredPublic)
@raises(400, 401, 403, 409, 422, 503)
def transfer_credits(body: TransferCreate, caller: AuthCaller, services: ServicesDep) -> StoredPublic:
    """Move credits to another holder (409 beyond the caller's balance)."""
    receipt = _service(services, caller).transfer(
        body.to, body.metal, body.grams, post_consumer=body.post_consumer
    )
    return StoredPublic(
        cid="", digest="", tx_hash="0x" + receipt.tx_hash.hex(), block_number=receipt.block_number
    )


@router.get("/recycled/credits/{account}", response_model=BalancesPublic)
@raises(400, 503)
def get_balances(account: AccountPath, services: ServicesDep) -> BalancesPublic:
    """A holder's credits per metal and origin."""
    from passport.signing import checksum_address

    address = checksum_address(account)
    balances = services.materials_for(None).balances(address)
    return BalancesPublic(
        account=address, pre_consumer=balances["pre_consumer"], post_consumer=balances["post_consumer"]
    )


@router.post("/recycled/claims", status_code=201, response_model=StoredPublic)
@raises(400, 401, 403, 409, 422, 503)
def submit_claim(claim: UsageClaim, caller: AuthCaller, services: ServicesDep) -> StoredPublic:
    """Submit a usage claim: the credits it lists are retired from the caller's balance."""
    return StoredPublic.of(_service(services, caller).submit_claim(claim))


@router.get("/recycled/claims/{claim_id}", response_model=ClaimPublic)
@raises(400, 404, 503)
def get_claim(claim_id: Bytes32Path, services: ServicesDep) -> ClaimPublic:
    """A usage claim as the chain holds it."""
    claim = services.materials_for(None).ledger.get_claim(_id(claim_id, "claim id"))
    if claim is None:
        raise NotFound(f"no usage claim {claim_id}")
    return ClaimPublic.of(claim)


@router.post(
    "/recycled/claims/{claim_id}/certificate", status_code=201, response_model=UsageCertificatePublic
)
@raises(400, 401, 403, 404, 409, 422, 503)
def certify_usage(claim_id: Bytes32Path, caller: AuthCaller, services: ServicesDep) -> UsageCertificatePublic:
    """Check the claim, compute its Art. 8 shares and issue the usage certificate (CERTIFIER)."""
    service = _service(services, caller)
    stored = service.certify_usage(_id(claim_id, "claim id"))
    shares = service.passport_shares(stored)
    return UsageCertificatePublic(
        **StoredPublic.of(stored).model_dump(),
        shares=shares,
        targets={element.value: row for element, row in against_targets(shares).items()},
    )


@router.post("/recycled/verification", response_model=VerificationPublic)
@raises(400, 422, 503)
def verify_recycled_content(body: VerificationCreate, services: ServicesDep) -> VerificationPublic:
    """Follow recycled-content shares back to the recycled batteries; every hop is a named check.

    The evidence returned is everything the walk used: a reader can re-run it offline.
    """
    service = services.materials_for(None)
    evidence = collect_evidence(
        body.shares, store=service.store, ledger=service.ledger, chain=services.reader
    )
    result = verify_evidence(evidence, trusted_certifiers=services.trusted_certifiers)
    return VerificationPublic(
        ok=result.ok,
        failed=result.failed,
        checks=[CheckPublic(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
        evidence=evidence,
    )
