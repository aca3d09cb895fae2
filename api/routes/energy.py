"""A second-life pack's metered energy per month: the offline-verifiable proof, and its claim.

``GET /passports/{id}/energy/{month}/proof`` builds the month's proof bundle (``oracle.energy``: the
meter readings from opening to closing with their Merkle proofs, each anchoring transaction's receipt
proven against its header, and the storage installation's receipt); ``passport energy verify`` checks
it with nothing but the file. The readings are legitimate-interest data, like the health evidence.

``POST /passports/{id}/energy/{month}/claim`` records the month's energy-delivered claim on
``BatteryServices`` as the caller (the custodian or the legal owner), from a proof built here that must
verify; the contract records one claim per passport and month: a second is a 409 naming
``BatteryServicesClaimExists``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from api.deps import AuthCaller, PassportId, ReadableTiers, ServicesDep
from api.errors import Forbidden
from api.openapi import raises
from api.service_schemas import ReceiptPublic
from api.services import Services
from oracle.energy import EnergyProof
from oracle.energy_proofs import EnergyProver, claim_energy, claim_period, proof_digest
from passport.model import AccessTier

router = APIRouter(tags=["second-life energy"])

MonthPath = Annotated[
    str,
    Path(pattern=r"^20(1[5-9]|[2-9][0-9])-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC), 2015-01 to 2099-12"),
]


class EnergyClaimCreate(BaseModel):
    """Nothing to choose: the quantity and the evidence digest come from the proof built here."""

    model_config = ConfigDict(extra="forbid")


class EnergyClaimPublic(BaseModel):
    period: int
    energy_delivered_wh: int
    evidence_digest: str
    receipt: ReceiptPublic


def _prover(services: Services) -> EnergyProver:
    _, _, proofs = services.oracle()
    ledger = services.service_models_for(None).ledger
    return EnergyProver(proofs, services.reader, ledger, from_block=services.start_block)


def _proof(services: Services, pid: PassportId, month: str) -> EnergyProof:
    return _prover(services).prove(pid, month, services.passports_for(None))


@router.get("/passports/{passport_id}/energy/{month}/proof", operation_id="get_passport_energy_proof")
@raises(400, 403, 404, 409, 422, 502, 503)
def get_energy_proof(
    pid: PassportId, month: MonthPath, tiers: ReadableTiers, services: ServicesDep
) -> EnergyProof:
    """The month's energy proof: readings, Merkle proofs, proven receipts; verifiable offline."""
    if AccessTier.LEGITIMATE_INTEREST not in tiers:
        raise Forbidden(
            "the metered energy readings are legitimate-interest data; this caller may not read them"
        )
    return _proof(services, pid, month)


@router.post(
    "/passports/{passport_id}/energy/{month}/claim", status_code=201, operation_id="claim_passport_energy"
)
@raises(400, 401, 403, 404, 409, 422, 502, 503)
def claim_month_energy(
    pid: PassportId, month: MonthPath, body: EnergyClaimCreate, caller: AuthCaller, services: ServicesDep
) -> EnergyClaimPublic:
    """Record the month's energy-delivered claim (once) from a proof that verifies."""
    proof = _proof(services, pid, month)
    receipt = claim_energy(services.service_models_for(caller).ledger, proof)
    return EnergyClaimPublic(
        period=claim_period(month),
        energy_delivered_wh=proof.energy.energy_delivered_wh,
        evidence_digest="0x" + proof_digest(proof).hex(),
        receipt=ReceiptPublic.of(receipt),
    )
