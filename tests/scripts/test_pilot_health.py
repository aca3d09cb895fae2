"""The pilot's health stage on anvil: injected faults fire their rule only, every open passport refreshed.

A tiny fleet (8 EVs x 24 days), half of the packs faulty (one per rule, twice), faults from day 9.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oracle.device_health import health_policy
from oracle.early_warnings import RULES, AlertStore
from passport.model import AccessTier
from scripts.simulation.fleet import FleetConfig
from scripts.simulation.health import HealthPilotConfig, plan_faults
from scripts.simulation.pilot import Pilot, PilotConfig, PilotReport

CONFIG = PilotConfig(
    fleet=FleetConfig(n_evs=8, days=24, seed=3),
    health=HealthPilotConfig(fault_share=0.5, fault_start_day=9),
    naive_sample=0,
    verify_sample=20,
    audit=False,
    durable_store=False,
)

pytestmark = [pytest.mark.node, pytest.mark.slow]


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pilot, PilotReport]]:
    with Pilot(CONFIG, tmp_path_factory.mktemp("pilot-health")) as running:
        yield running, running.run()


def test_the_fault_plan_is_seeded_and_covers_every_rule() -> None:
    plan = plan_faults(8, 0.5, 3)
    assert plan == plan_faults(8, 0.5, 3)
    assert sorted(plan.values()) == sorted(RULES)
    assert plan_faults(8, 0.0, 3) == {}


def test_each_rule_fires_on_its_faulty_packs_and_nowhere_else(pilot: tuple[Pilot, PilotReport]) -> None:
    _, report = pilot
    warnings = report.health["warnings"]
    for rule in RULES:
        scored = warnings["per_rule"][rule]
        assert scored["faulty_packs"] == 1, rule
        assert scored["exposed"] == scored["manifest"] == 1, rule  # 15 days of fault: all of it shows
        assert (scored["tp"], scored["fn"], scored["fp"]) == (1, 0, 0), (rule, scored)
    assert warnings["healthy_packs_with_alerts"] == 0
    assert warnings["packs_scanned"] == 8


def test_every_open_passport_is_refreshed_with_verifiable_evidence(pilot: tuple[Pilot, PilotReport]) -> None:
    running, report = pilot
    refresh = report.health["refresh"]
    assert refresh["refreshed"] == refresh["passports_open"] == 8
    assert refresh["skipped_no_anchored_diagnostics"] == 0
    assert refresh["evidence_verified"] == {"sample": 8, "ok": 8}
    assert sum(refresh["grades"].values()) == 8
    assert report.transactions["count"]["update_passport"] == 8
    assert report.health["policy"] == health_policy().ref.model_dump()
    assert "health_refresh" in report.stages_s
    # The passport's current version carries the figures (version 2: issued, then refreshed).
    pack = next(iter(running.current.values()))
    fetched = running.service.fetch(pack.passport_id, frozenset(AccessTier))
    assert fetched.version == 2
    health = fetched.passport().performance.dynamic.device_health
    assert health is not None
    assert health.policy == health_policy().ref


def test_alerts_are_journaled_and_cite_anchored_records(pilot: tuple[Pilot, PilotReport]) -> None:
    running, report = pilot
    with AlertStore(running.settings.warnings_path) as store:
        stored = store.all()
    assert len(stored) == report.health["warnings"]["alerts"] > 0
    for item in stored[:10]:
        for cited in item.alert.evidence:
            proof = running.proofs.proof_for_digest(bytes.fromhex(cited.record_digest[2:]))
            assert "0x" + proof.root.hex() == cited.root
            assert proof.verify_on_chain(running.chains["admin"])
