"""Early-warning rules: each fires on a synthetic faulty stream and stays silent on a healthy one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from oracle.device_health import UsedRecord
from oracle.early_warnings import CURRENT_WARNING_RULES, RULES, AlertStore, RuleName, scan
from oracle.ingestion import record_bytes
from passport.canonical import canonical_json
from passport.settings import Settings
from tests.builders import charging, diagnostics, parking

BATTERY = "KR-BUSAN-BAT-00001"
ROOT = bytes(range(32))
RATED_AH = 200.0
T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _at(days: float, hours: float = 0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).isoformat()


def _records(readings: list[dict[str, Any]], battery_id: str = BATTERY) -> list[UsedRecord]:
    return [
        UsedRecord.parse(record_bytes(battery_id, "dev-001", 1, i, canonical_json(r)), ROOT)
        for i, r in enumerate(readings)
    ]


def _diag(day: float, *, capacity: float = 180.0, spread: float = 18.0) -> dict[str, Any]:
    return diagnostics(measured_at=_at(day), capacity_ah=capacity, cell_voltage_spread_mv=spread)


def _fast(day: float, temp: float) -> dict[str, Any]:
    return charging(
        started_at=_at(day, 8),
        ended_at=_at(day, 8.5),
        soc_start_pct=20,
        soc_end_pct=80,
        energy_kwh=30,
        avg_power_kw=60,
        max_power_kw=100,
        max_cell_temp_c=temp,
        mode="fast",
    )


def _park(day: float, low: float, high: float) -> dict[str, Any]:
    return parking(started_at=_at(day, 18), ended_at=_at(day + 1, 7), temp_min_c=low, temp_max_c=high)


def healthy() -> list[dict[str, Any]]:
    """Ten weeks of an ordinary pack: slow fade, stable spread, diurnal parking swings, warm fast charges."""
    stream: list[dict[str, Any]] = []
    for week in range(10):
        stream.append(_diag(7 * week, capacity=180.0 - 0.1 * week, spread=18.0 + 0.2 * week))
        stream.append(_park(7 * week + 1, 18.0, 29.0))
        stream.append(_fast(7 * week + 2, 41.0))
        stream.append(_fast(7 * week + 3, 49.9))  # just below the limit
        stream.append(_fast(7 * week + 4, 52.0))  # hot now and then: fine
    return stream


def spread_rising() -> list[dict[str, Any]]:
    return [_diag(0, spread=20), _diag(7, spread=26), _diag(14, spread=38), _diag(21, spread=45)]


def rest_rise() -> list[dict[str, Any]]:
    return [_park(0, 20.0, 28.0), _park(2, 22.0, 47.5)]


def hot_fast() -> list[dict[str, Any]]:
    return [_fast(0.1, 50.0), _fast(2.1, 51.5), _fast(4.1, 52.0), _fast(6.1, 50.5)]


def capacity_drop() -> list[dict[str, Any]]:
    return [_diag(0, capacity=180.0), _diag(7, capacity=179.8), _diag(14, capacity=168.0)]


FAULTS: dict[RuleName, Callable[[], list[dict[str, Any]]]] = {
    "cell_voltage_spread_rising": spread_rising,
    "temperature_rise_at_rest": rest_rise,
    "hot_fast_charging": hot_fast,
    "sudden_capacity_drop": capacity_drop,
}
# Just inside each rule's threshold: still silent (on their own: mixed with the healthy weekly
# snapshots, the spread and capacity cases would be compared with those instead).
NEAR_MISSES: dict[RuleName, list[dict[str, Any]]] = {
    "cell_voltage_spread_rising": [_diag(0, spread=26), _diag(30, spread=40.9)],  # rise 14.9 mV
    "temperature_rise_at_rest": [_park(0, 25.0, 44.9)],  # rise 19.9 °C
    "hot_fast_charging": [_fast(0, 50.0), _fast(2, 51.0), _fast(4, 52.0), _fast(7.1, 53.0)],  # 4th too late
    "sudden_capacity_drop": [_diag(0, capacity=180.0), _diag(46, capacity=160.0)],  # too far apart
}


def test_every_rule_has_a_fault_and_a_near_miss() -> None:
    assert set(FAULTS) == set(NEAR_MISSES) == set(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_fires_on_its_faulty_stream_only(rule: RuleName) -> None:
    faulty = _records([*healthy(), *FAULTS[rule]()])
    alerts = scan(BATTERY, faulty, rated_capacity_ah=RATED_AH)
    assert {a.rule for a in alerts} == {rule}
    for alert in alerts:
        cited = {e.record_digest for e in alert.evidence}
        # Provable: every cited record is one of the stream's records, anchored under its root.
        assert cited <= {"0x" + r.digest.hex() for r in faulty}
        assert {e.root for e in alert.evidence} == {"0x" + ROOT.hex()}
        assert alert.rules == CURRENT_WARNING_RULES.ref


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_is_silent_just_inside_its_threshold(rule: RuleName) -> None:
    assert scan(BATTERY, _records(NEAR_MISSES[rule]), rated_capacity_ah=RATED_AH) == []


def test_a_healthy_stream_raises_nothing() -> None:
    assert scan(BATTERY, _records(healthy()), rated_capacity_ah=RATED_AH) == []


def test_records_of_another_battery_are_ignored() -> None:
    other = _records(capacity_drop(), battery_id="KR-BUSAN-BAT-00002")
    assert scan(BATTERY, other, rated_capacity_ah=RATED_AH) == []


def test_the_store_records_each_alert_once(tmp_path: Path, database_url: str | None) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    alerts = scan(BATTERY, _records([*spread_rising(), *capacity_drop()]), rated_capacity_ah=RATED_AH)
    assert len(alerts) >= 2
    with AlertStore.from_settings(settings) as store, AlertStore.from_settings(settings) as twin:
        assert store.record(alerts[:1]) == alerts[:1]
        assert twin.record(alerts) == alerts[1:]  # another process sharing the journal
        assert store.record(alerts) == []  # a re-scan of the same data raises nothing new
    assert settings.warnings_path.exists() is (database_url is None)
    with AlertStore.from_settings(settings) as store:  # and it survives a reopen
        stored = store.of_battery(BATTERY)
        assert [s.alert for s in stored] == sorted(
            alerts, key=lambda a: (a.observed_at.isoformat(), a.alert_id)
        )
        assert {s.status for s in stored} == {"open"}
        assert store.of_battery("KR-BUSAN-BAT-00002") == []
