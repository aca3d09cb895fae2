"""The pilot closes the recycled-material loop (tiny config on anvil): its recycled packs become a
certified lot, the credits reach the cell maker, and the new model year's passports carry the certified
shares, reported beside the EU 2031 and 2036 targets and verified offline back to the recycled packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from passport.ids import passport_id_bytes32
from passport.materials import MetalMass
from passport.materials.shares import recycled_shares
from passport.model import LifecycleStatus
from scripts.simulation.fleet import FleetConfig
from scripts.simulation.pilot import Pilot, PilotConfig
from tests.scripts.test_pilot import STRICT

# Early forced removals: with the strict policy the removed packs are recycled.
CONFIG = PilotConfig(
    fleet=FleetConfig(n_evs=4, days=4, seed=11, forced_removals=((1, 0), (2, 1), (3, 2))),
    grading=STRICT,
    naive_sample=0,
    verify_sample=10,
    durable_store=False,
    audit=False,
)

pytestmark = [pytest.mark.node, pytest.mark.slow]


def test_the_pilot_closes_the_loop(tmp_path: Path) -> None:
    with Pilot(CONFIG, tmp_path) as pilot:
        report = pilot.run()
        loop = report.recycled_material
        assert pilot.recycled, "the tiny config must recycle at least one pack"
        assert loop["recycled_packs"] == len(pilot.recycled)
        assert loop["offline_verification"]["ok"] is True
        shares = loop["recycled_share_vs_eu_targets"]
        assert set(shares) >= {"lithium"}
        for row in shares.values():
            assert {"share_percent", "target_2031_percent", "target_2036_percent"} <= set(row)
        # The shares are the Art. 8 quotient of retired credits over metal in scope.
        expected = recycled_shares(
            MetalMass(**loop["new_model_year"]["metal_in_scope_g"]),
            MetalMass(),
            MetalMass(**loop["retired_g"]),
        )
        assert {s.element.value: s.total_percent for s in expected} == {
            k: v["share_percent"] for k, v in shares.items()
        }
        # The new passports carry them, linked to the usage certificate.
        for passport_id in loop["new_model_year"]["passports"]:
            record = pilot.chains["issuer"].get_passport(passport_id_bytes32(passport_id))
            assert record is not None
            assert record.status is LifecycleStatus.ORIGINAL
        assert report.as_dict()["recycled_material"] == loop
        assert loop["transactions"]["record_lot"] == 1
