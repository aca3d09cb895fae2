"""The pilot closes the loop: the packs it recycled become a certified lot, the credits go to the cell
maker, and the next model year's passports carry certified recycled content computed from them.

Run by ``Pilot`` after its own checks (``close_the_loop``): it deploys ``RecycledMaterialLedger`` beside
the pilot's registry, grants the recycler and a certifier their roles, and then

1. records one post-consumer lot from every pack the pilot recycled (each in the recycler's custody and
   ``RECYCLED`` on-chain), its metal per pack from ``METAL_G_PER_KWH`` x the pack's rated energy;
2. recovers the metal at ``PILOT_RECOVERY`` (the EU's 2031 recovery-efficiency targets) and has the
   certifier certify the lot: credits for the recycler;
3. sells all credits to the cell maker (the pilot's issuer), who claims them against the metal in the
   active materials of ``new_model_year_packs`` new passports; the certifier certifies the claim;
4. issues those passports with the certified shares, each linked to the usage certificate, and verifies
   one of them offline back to the recycled packs.

The report gives the recycled share per metal beside the EU 2031 and 2036 targets. Metal intensities are
pilot assumptions (typical published cell compositions), not measured data.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

from eth_utils.crypto import keccak

from passport.chain.material_ledger import MaterialRole
from passport.chain.material_web3 import Web3MaterialLedger, deploy_material_ledger
from passport.ids import passport_id_bytes32
from passport.materials import (
    CreditSource,
    FeedstockBattery,
    MaterialsService,
    MetalMass,
    RecoveredOutput,
    RecycledLot,
    UsageClaim,
    collect_evidence,
    hex32,
    verify_evidence,
)
from passport.materials.documents import METALS
from passport.materials.shares import against_targets
from passport.model.circularity import RecycledElement as E
from scripts.simulation.fleet import PACKS

if TYPE_CHECKING:
    from scripts.simulation.pilot import Pilot

#: Grams of metal per kWh of rated energy in the active materials, by pack chemistry (pilot assumption:
#: NCM811 ~0.75 kg Ni, ~0.09 kg Co, ~0.10 kg Li per kWh; NCM622 ~0.60/0.20/0.12; LFP ~0.09 kg Li).
METAL_G_PER_KWH: Final[dict[str, MetalMass]] = {
    "NCM811": MetalMass(cobalt=94, lithium=100, nickel=750),
    "NCM622": MetalMass(cobalt=200, lithium=120, nickel=600),
    "LFP": MetalMass(lithium=90),
}
#: Recovery efficiencies the pilot recycler achieves: Reg. 2023/1542 Annex XII Part C, from 2031.
PILOT_RECOVERY: Final[dict[E, float]] = {E.COBALT: 0.95, E.LITHIUM: 0.80, E.NICKEL: 0.95, E.LEAD: 0.95}
#: The compounds recovered and their metal content (% by mass, stoichiometric).
COMPOUNDS: Final[dict[E, tuple[str, float]]] = {
    E.COBALT: ("CoSO4.7H2O", 20.97),
    E.LITHIUM: ("Li2CO3", 18.79),
    E.NICKEL: ("NiSO4.6H2O", 22.33),
}
NEW_MODEL_YEAR = "model year 2031"


def _metal(chemistry: str, energy_kwh: float) -> MetalMass:
    per = METAL_G_PER_KWH[chemistry]
    return MetalMass.from_grams(tuple(math.floor(g * energy_kwh) for g in per.grams()))


def _outputs(feed: MetalMass) -> list[RecoveredOutput]:
    outputs = []
    for metal, (compound, percent) in COMPOUNDS.items():
        target = math.floor(feed.of(metal) * PILOT_RECOVERY[metal])
        if target:
            # The compound mass that holds (at most) the recovered metal.
            outputs.append(
                RecoveredOutput(
                    metal=metal,
                    compound=compound,
                    compound_grams=math.floor(target * 100 / percent),
                    metal_content_percent=percent,
                )
            )
    return outputs


def close_the_loop(pilot: Pilot, new_model_year_packs: int = 4) -> dict[str, Any]:
    """Run the loop on ``pilot``'s ledger (after its run); the report's ``recycled_material`` section."""
    recycled = list(pilot.recycled)
    if not recycled:
        return {"lots": 0, "note": "no pack was recycled in this run"}
    txs: Counter[str] = Counter()
    admin = pilot.chains["admin"]
    certifier_key = keccak(text="pilot certification body")  # a fixed key: reruns give the same report
    certifier_address = admin.as_account(certifier_key).account
    pilot.node.fund([certifier_address])
    address, _ = deploy_material_ledger(
        admin.w3, pilot.keys["admin"], admin.registry_address, settings=pilot.settings
    )
    ledger_admin = Web3MaterialLedger.for_client(admin, address, pilot.keys["admin"])
    ledger_admin.grant_role(MaterialRole.RECYCLER, pilot.chains["recycler"].account)
    ledger_admin.grant_role(MaterialRole.CERTIFIER, certifier_address)

    def service(name: str, key: bytes) -> MaterialsService:
        chain = pilot.chains[name] if name in pilot.chains else admin.as_account(key)
        return MaterialsService(
            Web3MaterialLedger.for_client(admin, address, key), pilot.store, chain=chain, signer_key=key
        )

    recycler = service("recycler", pilot.keys["recycler"])
    certifier = service("certifier", certifier_key)
    maker = service("issuer", pilot.keys["issuer"])
    by_passport = {pack.passport_id: pack for pack in pilot.packs.values()}
    feedstock = []
    for passport_id in recycled:
        pid32 = passport_id_bytes32(passport_id)
        record = pilot.chains["recycler"].get_passport(pid32)
        assert record is not None
        pack = by_passport[passport_id]
        feedstock.append(
            FeedstockBattery(
                passport_id=hex32(pid32),
                manifest_digest=hex32(record.manifest_digest),
                metal=_metal(pack.spec.chemistry, pack.spec.energy_kwh),
            )
        )
    produced = datetime.fromtimestamp(pilot.sim_now, UTC)
    lot = RecycledLot(
        lot_id=hex32(keccak(text=f"pilot lot {pilot.config.fleet.seed}")),
        recycler=recycler.ledger.account,
        post_consumer=True,
        process="black mass hydrometallurgy (leaching, solvent extraction, crystallisation)",
        plant="pilot recycling plant",
        produced_on=produced.date(),
        feedstock=feedstock,
        outputs=_outputs(sum((f.metal for f in feedstock), MetalMass())),
    )
    recycler.record_lot(lot)
    txs["record_lot"] += 1
    production = certifier.certify_lot(bytes.fromhex(lot.lot_id[2:]), issued_at=produced)
    txs["certify_lot"] += 1
    recovered = lot.recovered()
    for metal in METALS:
        if recovered.of(metal):
            recycler.transfer(maker.ledger.account, metal, recovered.of(metal), post_consumer=True)
            txs["transfer_credits"] += 1

    # The new model year: the fleet's most common chemistry, its active-material metal in scope.
    chemistry = Counter(pack.spec.chemistry for pack in pilot.packs.values()).most_common(1)[0][0]
    spec = PACKS[chemistry]
    per_pack = _metal(chemistry, spec.energy_kwh)
    scope = MetalMass.from_grams(tuple(g * new_model_year_packs for g in per_pack.grams()))
    # Credits are retired up to the metal in scope (a share cannot pass 100 %).
    retired = MetalMass.from_grams(
        tuple(min(a, b) for a, b in zip(recovered.grams(), scope.grams(), strict=True))
    )
    battery_ids = [f"MY31-{pilot.config.fleet.seed}-{i:04d}" for i in range(new_model_year_packs)]
    from scripts.simulation.pilot import pack_passport  # the pilot module imports this one lazily

    documents = [pack_passport(b, spec) for b in battery_ids]
    claim = UsageClaim(
        claim_id=hex32(keccak(text=f"pilot claim {pilot.config.fleet.seed}")),
        claimant=maker.ledger.account,
        battery_model=f"{spec.vehicle_class} {chemistry} {NEW_MODEL_YEAR}",
        plant="pilot cell plant",
        period_start=date(2031, 1, 1),
        period_end=date(2031, 12, 31),
        passports=[hex32(passport_id_bytes32(d.passport_id)) for d in documents],
        metal_in_scope=scope,
        retired_pre_consumer=MetalMass(),
        retired_post_consumer=retired,
        sources=[
            CreditSource(
                production_certificate_digest=hex32(production.digest),
                production_certificate_cid=production.cid,
                metal=metal,
                post_consumer=True,
                grams=retired.of(metal),
            )
            for metal in METALS
            if retired.of(metal)
        ],
    )
    maker.submit_claim(claim)
    txs["submit_usage_claim"] += 1
    certificate = certifier.certify_usage(bytes.fromhex(claim.claim_id[2:]), issued_at=produced)
    txs["certify_usage"] += 1
    shares = maker.passport_shares(certificate)
    for document in documents:
        circularity = document.circularity.model_copy(update={"recycled_content": shares})
        pilot.service.issue(document.model_copy(update={"circularity": circularity}))
        txs["issue_passport"] += 1
    evidence = collect_evidence(shares, store=pilot.store, ledger=recycler.ledger, chain=admin)
    verification = verify_evidence(evidence, trusted_certifiers=[certifier_address])
    return {
        "material_ledger": address,
        "lots": 1,
        "recycled_packs": len(recycled),
        "feedstock_g": lot.feedstock_metal().model_dump(),
        "recovered_g": recovered.model_dump(),
        "retired_g": retired.model_dump(),
        "new_model_year": {
            "model": claim.battery_model,
            "passports": [str(d.passport_id) for d in documents],
            "metal_in_scope_g": scope.model_dump(),
        },
        "recycled_share_vs_eu_targets": {e.value: row for e, row in against_targets(shares).items()},
        "usage_certificate": certificate.cid,
        "offline_verification": {"ok": verification.ok, "checks": len(verification.checks)},
        "transactions": dict(sorted(txs.items())),
        "assumptions": {
            "metal_g_per_kwh": {k: v.model_dump() for k, v in METAL_G_PER_KWH.items()},
            "recovery": {e.value: r for e, r in PILOT_RECOVERY.items()},
        },
    }


__all__ = ["COMPOUNDS", "METAL_G_PER_KWH", "PILOT_RECOVERY", "close_the_loop"]
