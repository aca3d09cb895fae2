"""``EnergyProver``: a successor passport's month of metered energy, proven, and its claim recorded once.

The one path the API (``GET /passports/{id}/energy/{month}/proof``, ``POST …/claim``), the CLI
(``passport energy prove|claim``) and the pilot take:

1. the passport's battery (its current version) and its storage installation on ``BatteryServices``,
   with the receipt of the transaction that recorded it (``oracle.energy.installation_tx``);
2. the battery's anchored history from the sealed batch documents (``RecordProofs``, each root checked
   against the registry) and each batch's anchoring transaction from the journal;
3. ``oracle.energy.build_energy_proof`` for the month;
4. ``claim``: the proof must pass ``verify_energy_proof`` first; the energy-delivered claim for
   (passport, month) is recorded with the proof's SHA-256 (of its RFC 8785 canonical JSON) as the
   evidence digest. The contract records it once: a second claim reverts with
   ``BatteryServicesClaimExists`` (``passport.errors.ContractRevert``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from oracle.energy import (
    EnergyProof,
    InstallationEvents,
    anchoring_of,
    build_energy_proof,
    installation_facts,
    installation_tx,
    month_bounds,
    verify_energy_proof,
)
from oracle.errors import EnergyProofInvalid, MonthNotCovered
from oracle.proofs import RecordProofs
from passport.bundle import prove_anchor
from passport.canonical import canonical_digest
from passport.chain.protocol import ChainClient
from passport.chain.records import TxReceipt
from passport.chain.services import BatteryServicesLedger, ClaimKind
from passport.ids import passport_id_bytes32
from passport.model import AccessTier
from passport.service import PassportService


def claim_period(month: str) -> int:
    """The contract's period of a ``YYYY-MM`` month: yyyymm (``InvalidMonth`` if it is not one)."""
    start, _ = month_bounds(month)
    return start.year * 100 + start.month


def proof_digest(proof: EnergyProof) -> bytes:
    """SHA-256 of the proof's RFC 8785 canonical JSON: the claim's evidence digest."""
    return canonical_digest(proof.model_dump(mode="json"))


@dataclass
class EnergyProver:
    """Builds month proofs from the oracle's journal and store, the chain and the services contract."""

    proofs: RecordProofs
    chain: ChainClient
    services: BatteryServicesLedger
    from_block: int = 0

    def prove(self, passport_id: uuid.UUID, month: str, reader: PassportService) -> EnergyProof:
        """The proof of ``month`` for the successor passport ``passport_id``."""
        month_bounds(month)  # a bad month is refused before anything is read
        battery_id = reader.fetch(passport_id, frozenset(AccessTier)).passport().battery_id
        recorded = self.services.get_storage_installation(passport_id_bytes32(passport_id))
        if recorded is None:
            raise MonthNotCovered(f"passport {passport_id} has no storage installation recorded")
        if not isinstance(self.services, InstallationEvents):  # pragma: no cover - web3 clients have it
            raise MonthNotCovered("the services client cannot list the installation's events")
        tx_hash, block_hash = installation_tx(self.services, passport_id, self.from_block)
        installation = installation_facts(
            passport_id,
            battery_id,
            self.services.address,
            recorded,
            prove_anchor(self.chain, tx_hash, block_hash),
        )
        history = self.proofs.battery_history(battery_id, chain=self.chain)
        return build_energy_proof(
            installation, month, history, anchoring_of(self.proofs.journal, battery_id), self.chain
        )


def claim_energy(services: BatteryServicesLedger, proof: EnergyProof) -> TxReceipt:
    """Record the proof's energy-delivered claim (once per passport and month) as ``services``' account.

    ``EnergyProofInvalid`` naming the failed checks if the proof does not verify offline.
    """
    result = verify_energy_proof(proof)
    if not result.ok:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in result.failed()) or "no readings"
        raise EnergyProofInvalid(f"the energy proof fails: {failed}")
    return services.record_claim(
        passport_id_bytes32(proof.installation.passport_id),
        ClaimKind.ENERGY_DELIVERED,
        claim_period(proof.energy.month),
        proof.energy.energy_delivered_wh,
        proof_digest(proof),
    )
