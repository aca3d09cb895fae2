"""The pilot's battery service models (issue #19): a subscription fleet share, a motorcycle swap station,
and second-life storage of its repurposed packs with metered energy, monthly claims and an offline proof.

Run by ``Pilot`` after its own checks and the recycled loop (``run_service_models``): it deploys
``BatteryServices`` beside the pilot's registry and points the registry at it, then

1. **subscription share**: a leasing company becomes the legal owner of ``subscription_share`` of the
   packs still in their first life (the issuer, their custodian, records it) and records a signed
   subscription contract per pack (its digest on-chain). On the first leased pack a custody transfer to
   the collector is refused without the owner's consent (``BatteryServicesOwnerConsentMissing``), then
   the owner consents and the same transfer goes through;
2. **swap station**: ``swap_motorcycles`` electric motorcycles each carry a pack and a station holds as
   many charged spares; each motorcycle swaps once: the discharged pack goes to the station and a
   charged one to the motorcycle in one transaction (``PacksSwapped``), with the state of charge and
   health at hand-over; the binding histories are read back;
3. **second-life storage**: every pack the pilot repurposed is installed in a storage system (site,
   rated energy, role), a meter device is bound to its battery and reads it daily for
   ``storage_days`` (deterministic under the seed: charge and discharge per day drawn from the rated
   energy); the readings are anchored like all telemetry, each whole month is proven
   (``oracle.energy_proofs.EnergyProver``) and claimed once on-chain, a second claim of a month is
   refused (``BatteryServicesClaimExists``), and every proof is verified offline.

The pilot's packs are passenger-car packs; the swap scenario uses them as stand-ins for motorcycle packs
(what the ledger records -- bindings, hand-over readings, atomicity -- does not depend on the size).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from eth_utils.crypto import keccak

from oracle.energy import month_bounds, verify_energy_proof
from oracle.energy_proofs import EnergyProver, claim_energy
from oracle.readings import StorageMeterReading, reading_json
from passport.canonical import canonical_digest
from passport.chain.services import (
    FULL_BPS,
    ConsentAction,
    HandOver,
    HolderKind,
    ServicesRole,
    StorageRole,
    site_hash,
    station_hash,
    vehicle_hash,
)
from passport.chain.services_web3 import Web3BatteryServices, deploy_services
from passport.errors import ContractRevert
from passport.ids import passport_id_bytes32
from scripts.errors import PilotError

if TYPE_CHECKING:
    from scripts.simulation.pilot import Pilot

#: Fixed keys: reruns give the same accounts (and so the same report).
LESSOR_KEY: Final = keccak(text="pilot leasing company")
STATION_KEY: Final = keccak(text="pilot swap-station operator")
#: Storage systems run their packs well inside the meter's 2 C plausibility bound: at most one full
#: charge and discharge a day.
_CHARGE_SHARE: Final = (0.3, 0.9)
_ROUND_TRIP: Final = 0.9
_THREE_YEARS: Final = 3 * 365 * 86400


@dataclass(frozen=True, slots=True)
class ServiceModelsConfig:
    """What the service-model scenarios do after the pilot (all deterministic under the fleet's seed)."""

    enabled: bool = True
    # Share of the packs still in their first life whose legal owner is the leasing company.
    subscription_share: float = 0.2
    swap_motorcycles: int = 2
    # Days of metered second life: at least one whole calendar month needs 62.
    storage_days: int = 62

    def __post_init__(self) -> None:
        if not 0 <= self.subscription_share <= 1 or self.swap_motorcycles < 0 or self.storage_days < 1:
            raise ValueError("subscription_share is a fraction, swap_motorcycles and storage_days counts")


def run_service_models(pilot: Pilot, config: ServiceModelsConfig) -> dict[str, Any]:
    """Run the three scenarios on ``pilot``'s ledger (after its run); the report's ``service_models``."""
    if not config.enabled:
        return {}
    admin = pilot.chains["admin"]
    pilot.node.fund([admin.as_account(k).account for k in (LESSOR_KEY, STATION_KEY)])
    address, receipt = deploy_services(
        admin.w3, pilot.keys["admin"], admin.registry_address, settings=pilot.settings
    )
    pilot.tx("deploy_services", receipt)
    pilot.tx("set_services", admin.set_services(address))
    keys = {name: pilot.keys[name] for name in ("admin", "issuer", "collector", "repurposer")}
    keys |= {"lessor": LESSOR_KEY, "station": STATION_KEY}
    clients = {name: Web3BatteryServices.for_client(admin, address, key) for name, key in keys.items()}
    pilot.tx("grant_role", clients["admin"].grant_role(ServicesRole.OPERATOR, clients["station"].account))
    rng = np.random.default_rng(pilot.config.fleet.seed)
    # A pack removed on the run's last day is still ``current`` (no replacement came): its passport is
    # closed (recycled, or superseded by its successor).
    closed = set(pilot.recycled) | set(pilot.successors.values())
    in_service = sorted(
        (p for p in pilot.current.values() if p.passport_id not in closed), key=lambda p: p.battery_id
    )
    leased_count = round(config.subscription_share * len(in_service))
    leased, rest = in_service[:leased_count], in_service[leased_count:]
    return {
        "subscription": _subscription(pilot, clients, leased),
        "swap_station": _swap_station(pilot, clients, rest[: 2 * config.swap_motorcycles], rng),
        "second_life_storage": _storage(pilot, clients, config, rng),
    }


def _subscription(pilot: Pilot, clients: dict[str, Web3BatteryServices], packs: list[Any]) -> dict[str, Any]:
    if not packs:
        return {"leased_packs": 0, "note": "no pack in its first life to lease"}
    issuer, lessor = clients["issuer"], clients["lessor"]
    now = pilot.chain_time()
    for n, pack in enumerate(packs):
        pid = _pid(pack)
        pilot.tx("record_owner", issuer.record_owner(pid, lessor.account))
        terms = {
            "model": "battery subscription",
            "battery_id": pack.battery_id,
            "lessor": lessor.account,
            "subscriber": f"pilot EV {pack.ev}",
            "fee_basis": "KRW 149,000 per month",
            "end_of_term_options": ["return", "purchase"],
        }
        lease_id = keccak(text=f"pilot subscription {pilot.config.fleet.seed}/{n}")
        subscriber = issuer.account  # the vehicle keeper's account stands in for the fleet operator's
        pilot.tx(
            "record_lease",
            lessor.record_lease(
                lease_id, pid, subscriber, canonical_digest(terms), now, now + 3 * 365 * 86400
            ),
        )
    first = _pid(packs[0])
    collector = pilot.chains["collector"]
    registry = pilot.chains["issuer"]
    refused = ""
    try:
        registry.offer_custody(first, collector.account, pilot.chain_time() + 86400)
    except ContractRevert as exc:
        refused = exc.error
    pilot.tx(
        "grant_consent",
        lessor.grant_consent(first, ConsentAction.TRANSFER, collector.account, pilot.chain_time() + 86400),
    )
    pilot.tx("offer_custody", registry.offer_custody(first, collector.account, pilot.chain_time() + 86400))
    pilot.tx("accept_custody", collector.accept_custody(first))
    record = registry.get_passport(first)
    moved = record is not None and record.custodian == collector.account
    return {
        "leased_packs": len(packs),
        "legal_owner": "pilot leasing company",
        "owners_recorded": sum(lessor.legal_owner(_pid(p)) is not None for p in packs),
        "leases_recorded": sum(len(lessor.leases_of(_pid(p))) for p in packs),
        "transfer_without_consent": refused or "not refused",
        "transfer_after_consent": "accepted" if moved else "failed",
    }


def _hand_over(rng: np.random.Generator, low: bool) -> HandOver:
    soc = float(rng.uniform(0.05, 0.2) if low else rng.uniform(0.9, 1.0))
    return HandOver(soc_bps=round(soc * FULL_BPS), soh_bps=round(float(rng.uniform(0.9, 0.99)) * FULL_BPS))


def _swap_station(
    pilot: Pilot, clients: dict[str, Web3BatteryServices], packs: list[Any], rng: np.random.Generator
) -> dict[str, Any]:
    motorcycles = len(packs) // 2
    if not motorcycles:
        return {"motorcycles": 0, "note": "not enough packs in their first life for a swap"}
    station = clients["station"]
    where = station_hash(f"pilot swap station {pilot.config.fleet.seed}")
    riding, spares = packs[:motorcycles], packs[motorcycles : 2 * motorcycles]
    bikes = [vehicle_hash(f"PILOT-MC-{pilot.config.fleet.seed}-{n:03d}") for n in range(motorcycles)]
    for bike, pack in zip(bikes, riding, strict=True):
        install = station.install_pack(_pid(pack), HolderKind.VEHICLE, bike, _hand_over(rng, False))
        pilot.tx("install_pack", install)
    for pack in spares:
        stock = station.install_pack(_pid(pack), HolderKind.STATION, where, _hand_over(rng, False))
        pilot.tx("install_pack", stock)
    atomic = 0
    for bike, out_pack, in_pack in zip(bikes, riding, spares, strict=True):
        outgoing, incoming = (
            passport_id_bytes32(out_pack.passport_id),
            passport_id_bytes32(in_pack.passport_id),
        )
        receipt = station.swap(bike, where, outgoing, incoming, _hand_over(rng, True), _hand_over(rng, False))
        pilot.tx("swap", receipt)
        names = Counter(e.name for e in receipt.events)
        # One transaction: both removals, both installations and the swap event, or nothing.
        atomic += names == Counter({"PackRemoved": 2, "PackInstalled": 2, "PacksSwapped": 1})
    at_station = sum(
        (b := station.get_binding(_pid(p))) is not None and b.kind is HolderKind.STATION for p in riding
    )
    history = [len(station.binding_history(_pid(p))) for p in riding]
    return {
        "motorcycles": motorcycles,
        "station_spares": len(spares),
        "swaps": motorcycles,
        "swaps_recorded_atomically": atomic,
        "swapped_out_packs_at_station": at_station,
        "binding_events_per_swapped_out_pack": history,
    }


def _meter_readings(
    rng: np.random.Generator, start: datetime, days: int, rated_wh: int
) -> list[dict[str, Any]]:
    """One reading at commissioning and one a day: charge 30-90 % of the rated energy, deliver 90 % of it."""
    energy_in = energy_out = 0
    readings = []
    for day in range(days + 1):
        if day:
            charged = round(rated_wh * float(rng.uniform(*_CHARGE_SHARE)))
            energy_in += charged
            energy_out += round(charged * _ROUND_TRIP)
        reading = StorageMeterReading(
            measured_at=start + timedelta(days=day),
            energy_in_wh=energy_in,
            energy_out_wh=energy_out,
            soc_pct=round(float(rng.uniform(20, 80)), 1),
            rated_energy_wh=rated_wh,
        )
        readings.append(reading_json(reading))
    return readings


def _months(start: datetime, end: datetime) -> list[str]:
    """The whole calendar months between ``start`` and ``end``."""
    found: list[str] = []
    year, month = start.year, start.month
    while True:
        label = f"{year:04d}-{month:02d}"
        month_start, month_end = month_bounds(label)
        if month_end > end:
            return found
        if month_start >= start:
            found.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _storage(
    pilot: Pilot,
    clients: dict[str, Web3BatteryServices],
    config: ServiceModelsConfig,
    rng: np.random.Generator,
) -> dict[str, Any]:
    from scripts.simulation.pilot import SimDevice

    repurposed = [r for r in pilot.retirements if r.get("route") == "repurposed"]
    if not repurposed:
        return {"installations": 0, "note": "no pack was repurposed in this run"}
    repurposer = clients["repurposer"]
    roles = list(StorageRole)
    installed: list[tuple[Any, datetime, list[dict[str, Any]]]] = []
    for n, retirement in enumerate(repurposed):
        pack = pilot.packs[retirement["battery_id"]]
        successor = passport_id_bytes32(retirement["successor_id"])
        rated_wh = round(pack.spec.energy_kwh * 1000)
        pilot.tx(
            "record_storage_installation",
            repurposer.record_storage_installation(
                successor, site_hash(f"pilot storage site {n}"), rated_wh, roles[n % len(roles)]
            ),
        )
        record = repurposer.get_storage_installation(successor)
        assert record is not None
        device = SimDevice.generate(f"meter-{pack.battery_id}", pack.battery_id)
        pilot.journal.register_device(device.device_id, device.address, pack.battery_id)
        # Commissioned at the start of the month after the installation: whole months from then on.
        commissioned = _next_month_start(datetime.fromtimestamp(record.installed_at, UTC))
        readings = _meter_readings(rng, commissioned, config.storage_days, rated_wh)
        for chunk in range(0, len(readings), 31):
            upload = device.sign(readings[chunk : chunk + 31])
            ack = pilot.ingestor.ingest(upload)
            if ack.status != "accepted" or ack.rejected:
                raise PilotError(f"meter upload {upload.device_id}#{upload.seq} refused: {ack.model_dump()}")
            pilot.uploads += 1
        installed.append((retirement, commissioned, readings))
    pilot.anchor(final=True)
    prover = EnergyProver(pilot.proofs, pilot.chains["repurposer"], repurposer, from_block=pilot.deploy_block)
    claims = refused = verified = 0
    delivered = 0
    for retirement, commissioned, _ in installed:
        successor = retirement["successor_id"]
        for month in _months(commissioned, commissioned + timedelta(days=config.storage_days)):
            proof = prover.prove(uuid.UUID(successor), month, pilot.service)
            verified += verify_energy_proof(proof).ok
            pilot.tx("record_claim", claim_energy(repurposer, proof))
            claims += 1
            delivered += proof.energy.energy_delivered_wh
            try:
                claim_energy(repurposer, proof)
            except ContractRevert as exc:
                refused += exc.error == "BatteryServicesClaimExists"
    return {
        "installations": len(installed),
        "meter_readings": sum(len(r) for _, _, r in installed),
        "months_claimed": claims,
        "energy_delivered_kwh": round(delivered / 1000, 3),
        "duplicate_claims_refused": refused,
        "proofs_verified_offline": verified,
    }


def _pid(pack: Any) -> bytes:
    return passport_id_bytes32(pack.passport_id)


def _next_month_start(at: datetime) -> datetime:
    return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)
