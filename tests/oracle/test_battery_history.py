"""``oracle.battery_history``: records newest first, and the SQL monthly summaries equal the Python ones
(``summarise``) over readings that cross months, time zones, severities and hot parking."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from oracle.battery_history import BatteryHistory, summarise
from oracle.device_registry import DeviceRegistry
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from tests.builders import SigningDevice, charging, diagnostics, parking, safety

BATTERY = "HIST-BAT-0001"


@pytest.fixture
def history(journal: Journal) -> BatteryHistory:
    device = SigningDevice("hist-dev-1", BATTERY)
    DeviceRegistry(journal).register(
        device.device_id, address=device.address, public_key=None, model="m", firmware="f",
        battery_id=BATTERY, vehicle_id=None, actor="test",
    )  # fmt: skip
    readings = [
        charging(started_at="2025-01-31T23:30:00+09:00", ended_at="2025-02-01T00:30:00+09:00", mode="fast"),
        charging(started_at="2025-02-03T08:00:00Z", ended_at="2025-02-03T09:00:00Z", energy_kwh=7.25),
        parking(
            started_at="2025-02-04T10:00:00+09:00", ended_at="2025-02-04T16:30:00+09:00", temp_max_c=38.5
        ),
        parking(started_at="2025-03-04T10:00:00Z", ended_at="2025-03-05T10:00:00Z", temp_min_c=-12.0),
        safety(occurred_at="2025-02-05T00:00:00Z", severity="critical"),
        safety(occurred_at="2025-02-06T00:00:00Z"),
        safety(occurred_at="2025-02-07T00:00:00Z"),
        diagnostics(measured_at="2025-02-01T00:00:00Z", capacity_ah=181.0),
        diagnostics(measured_at="2025-02-20T00:00:00Z", capacity_ah=179.5, internal_resistance_mohm=97.0),
        diagnostics(measured_at="2025-03-01T00:00:00Z", capacity_ah=179.0),
    ]
    assert Ingestor(journal).ingest(device.upload(readings)).status == "accepted"
    return BatteryHistory(journal)


def _plain(months: list) -> list[dict]:  # type: ignore[type-arg]
    return [asdict(m) for m in months]


def test_sql_months_equal_the_python_summaries(history: BatteryHistory) -> None:
    records = history.records(BATTERY)
    months = history.months(BATTERY)
    assert [m.month for m in months] == ["2025-01", "2025-02", "2025-03"]
    assert _plain(months) == _plain(summarise(records))
    february = months[1]
    assert february.charging_sessions == 1
    assert february.safety_by_severity == {"critical": 1, "warning": 2}
    assert february.hours_parked_above_35c == pytest.approx(6.5)
    assert february.latest_capacity_ah == 179.5
    assert february.latest_internal_resistance_mohm == 97.0
    assert months[0].fast_charging_sessions == 1  # 23:30 KST on Jan 31 is 14:30 UTC: January


def test_filters_and_order(history: BatteryHistory) -> None:
    records = history.records(BATTERY)
    assert [r.observed_at for r in records] == sorted((r.observed_at for r in records), reverse=True)
    assert len(history.records(BATTERY, limit=3)) == 3
    since, until = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)
    window = history.records(BATTERY, since=since, until=until)
    assert all(since <= r.observed_at < until for r in window)
    only = history.months(BATTERY, kinds=["parking"])
    assert _plain(only) == _plain(summarise(history.records(BATTERY, kinds=["parking"])))
    assert all(m.charging_sessions == 0 and m.safety_events == 0 for m in only)
    assert history.months(BATTERY, kinds=[]) == []
    assert history.records("OTHER-BATTERY-01") == []
