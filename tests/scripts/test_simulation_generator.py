"""The readings generator: determinism, per-vehicle independence, scaling, and oracle validity."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest

from oracle.readings import READING_ADAPTER, ChargingSession, DiagnosticSnapshot, ParkingPeriod, SafetyEvent
from scripts.simulation import FleetConfig, FleetSimulation, simulate_fleet
from scripts.simulation.generator import DayBatch


def _run(config: FleetConfig) -> list[DayBatch]:
    return list(simulate_fleet(config))


def _readings(batches: list[DayBatch]) -> list[tuple[str, str, list[dict[str, object]]]]:
    return [(u.device_id, u.battery_id, u.readings) for b in batches for u in b.uploads()]


def test_same_seed_gives_identical_readings() -> None:
    config = FleetConfig(n_evs=40, days=20, seed=7)
    assert _readings(_run(config)) == _readings(_run(config))


def test_different_seed_gives_different_readings() -> None:
    a = _readings(_run(FleetConfig(n_evs=40, days=20, seed=7)))
    b = _readings(_run(FleetConfig(n_evs=40, days=20, seed=8)))
    assert a != b


def test_a_vehicle_does_not_depend_on_fleet_size_or_run_length() -> None:
    small = _run(FleetConfig(n_evs=10, days=40, seed=3))
    large = _run(FleetConfig(n_evs=25, days=70, seed=3))

    def of_vehicle(batches: list[DayBatch], ev: int) -> list[list[dict[str, object]]]:
        return [u.readings for b in batches[:40] for u in b.uploads() if u.ev == ev]

    for ev in (0, 4, 9):
        assert of_vehicle(small, ev) == of_vehicle(large, ev)


def test_reading_counts_scale_linearly_with_fleet_size() -> None:
    def total(n: int) -> int:
        return sum(b.n_readings for b in _run(FleetConfig(n_evs=n, days=30, seed=11)))

    per_ev_small = total(100) / 100
    per_ev_large = total(400) / 400
    assert per_ev_large == pytest.approx(per_ev_small, rel=0.12)
    # ~0.9 M readings for 2,500 EVs over a year is ~1 reading per vehicle-day.
    assert 0.7 < per_ev_large / 30 < 1.3


@pytest.mark.parametrize("start", [date(2025, 1, 1), date(2025, 7, 1)])
def test_every_reading_validates_against_the_oracle_models(start: date) -> None:
    kinds = {
        "charging": ChargingSession,
        "parking": ParkingPeriod,
        "diagnostics": DiagnosticSnapshot,
        "safety": SafetyEvent,
    }
    seen: set[str] = set()
    for batch in _run(FleetConfig(n_evs=150, days=21, seed=5, start=start)):
        for upload in batch.uploads():
            times: list[datetime] = []
            for reading in upload.readings:
                model = READING_ADAPTER.validate_json(json.dumps(reading), strict=True)
                assert isinstance(model, kinds[reading["kind"]])
                # The dict is exactly what the model serialises back to: the device signs these bytes.
                assert model.model_dump(mode="json", exclude_none=True) == reading
                times.append(model.observed_at)
                seen.add(reading["kind"])
            assert times == sorted(times)
    assert {"charging", "parking", "diagnostics"} <= seen


def test_uploads_are_one_per_device_and_day_with_the_right_ids() -> None:
    batch = next(iter(FleetSimulation(FleetConfig(n_evs=30, days=1, seed=2))))
    uploads = batch.uploads()
    assert len({u.device_id for u in uploads}) == len(uploads)
    for upload in uploads:
        assert upload.battery_id.endswith(f"{upload.ev:05d}-00")
        assert upload.readings


def test_incidents_and_end_of_first_life_occur_at_low_rates() -> None:
    config = FleetConfig(n_evs=500, days=120, seed=13)
    batches = _run(config)
    safety = sum(b.counts["safety"] for b in batches)
    total = sum(b.n_readings for b in batches)
    assert 0 < safety < 0.01 * total
    ended = [e for b in batches for e in b.ended]
    installed = [p for b in batches for p in b.installed]
    assert len(ended) < 0.05 * config.n_evs
    # Every removed pack is replaced the next day (unless removed on the last day).
    assert len(installed) == len([e for e in ended if e.at.date() < batches[-1].date.date()])
    for item in ended:
        assert item.reason in ("capacity_below_threshold", "collision_damage")
        if item.reason == "capacity_below_threshold":
            assert item.soh_pct < config.end_of_first_life_soh_pct + 1.5


def test_replacement_packs_report_under_new_ids() -> None:
    config = FleetConfig(n_evs=300, days=200, seed=21, end_of_first_life_soh_pct=88.0)
    sim = FleetSimulation(config)
    batches = list(sim)
    installed = [p for b in batches for p in b.installed]
    assert installed, "a high threshold must end some first lives"
    item = installed[0]
    later = [u for b in batches if b.date >= item.at for u in b.uploads() if u.ev == item.ev]
    assert later
    assert all(u.battery_id == item.battery_id for u in later[:3])
    assert item.battery_id.endswith("-01")
    assert np.all(sim.generation >= 0)
