"""The pilot's service models (tiny config on anvil): a subscription fleet share whose transfer needs the
leasing company's consent, a motorcycle swap station whose swaps are recorded atomically, and the
repurposed packs in second-life storage: metered energy anchored, each whole month proven offline and
claimed once (the duplicate refused by the contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.health import GradingPolicy
from scripts.simulation.fleet import FleetConfig
from scripts.simulation.pilot import Pilot, PilotConfig
from scripts.simulation.service_models import ServiceModelsConfig

# Every removed pack short of "reuse" is repurposed: remanufacturing would need a SoH above 100 %.
SECOND_LIFE = GradingPolicy(
    id="pilot-second-life", remanufacture_min_soh_pct=100.0, repurpose_min_soh_pct=50.0
)
CONFIG = PilotConfig(
    fleet=FleetConfig(n_evs=8, days=10, seed=5, forced_removals=((8, 0),)),
    grading=SECOND_LIFE,
    naive_sample=0,
    verify_sample=10,
    durable_store=False,
    audit=False,
    market=False,
    recycled_loop=False,
    service_models=ServiceModelsConfig(subscription_share=0.25, swap_motorcycles=2, storage_days=62),
)

pytestmark = [pytest.mark.node, pytest.mark.slow]


def test_the_pilot_runs_the_service_models(tmp_path: Path) -> None:
    with Pilot(CONFIG, tmp_path) as pilot:
        report = pilot.run()
    models = report.as_dict()["service_models"]
    subscription = models["subscription"]
    assert (
        subscription["leased_packs"]
        == subscription["owners_recorded"]
        == subscription["leases_recorded"]
        >= 1
    )
    assert subscription["transfer_without_consent"] == "BatteryServicesOwnerConsentMissing"
    assert subscription["transfer_after_consent"] == "accepted"
    swaps = models["swap_station"]
    assert swaps["swaps"] == swaps["swaps_recorded_atomically"] == swaps["swapped_out_packs_at_station"] == 2
    assert swaps["binding_events_per_swapped_out_pack"] == [
        3,
        3,
    ]  # installed, removed, installed at the station
    storage = models["second_life_storage"]
    assert storage["installations"] >= 1, models
    assert storage["months_claimed"] == 2 * storage["installations"]  # 62 days from the 1st: two months
    assert storage["duplicate_claims_refused"] == storage["months_claimed"]
    assert storage["proofs_verified_offline"] == storage["months_claimed"]
    assert storage["energy_delivered_kwh"] > 0
    assert storage["meter_readings"] == 63 * storage["installations"]
    assert report.deterministic()["service_models"]["second_life_storage"].keys() == storage.keys() - {
        "energy_delivered_kwh"
    }
