"""What the page shows of device-driven health and early warnings (legitimate-interest readers only).

``device_health_view`` turns the passport's ``DeviceHealth`` record into the figures with their
provenance (policy id and digest, records and anchors, the evidence bundle's address);
``alert_views`` the battery's journaled alerts, each rule named by a catalogue message (translated in
the template: English and Korean).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from api.web.i18n import N_
from oracle.early_warnings import RuleName, StoredAlert
from passport.model import DeviceHealth

RULE_TITLES: Final[dict[RuleName, str]] = {
    "cell_voltage_spread_rising": N_("Cell voltage spread rising"),
    "temperature_rise_at_rest": N_("Temperature rise while parked"),
    "hot_fast_charging": N_("Repeated fast charging at high temperature"),
    "sudden_capacity_drop": N_("Sudden capacity drop"),
}
#: The unit each rule's measured value is in (the ``quantity`` filter's suffixes).
RULE_UNITS: Final[dict[RuleName, str]] = {
    "cell_voltage_spread_rising": "mv",
    "temperature_rise_at_rest": "c",
    "hot_fast_charging": "count",
    "sudden_capacity_drop": "percent",
}
SEVERITY_TITLES: Final[dict[str, str]] = {"warning": N_("warning"), "serious": N_("serious")}


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeviceHealthView(_View):
    """The figures on the current version and where they come from."""

    evaluated_at: datetime
    measured_at: datetime
    policy_id: str
    policy_digest: str
    soh_percent: float
    soh_uncertainty: float
    capacity_fade_percent: float
    resistance_increase_percent: float
    equivalent_full_cycles: float
    energy_throughput_kwh: float
    hours_hot: float
    hours_cold: float
    hours_high_soc: float
    fast_charge_share_percent: float
    grade: str
    record_count: int
    anchors: tuple[str, ...]
    evidence_url: str


class AlertView(_View):
    """One early warning: rule (a catalogue message), severity, when, measured value and its evidence."""

    title: str
    severity: str
    severity_title: str
    observed_at: datetime
    value: float
    threshold: float
    unit: str
    records: tuple[str, ...]
    status: str


def device_health_view(raw: Any, passport_id: str) -> DeviceHealthView | None:
    """The view of a passport's ``performance.dynamic.device_health`` (None when it has none)."""
    if raw is None:
        return None
    health = DeviceHealth.model_validate(raw)
    f = health.figures
    return DeviceHealthView(
        evaluated_at=health.evaluated_at.astimezone(UTC),
        measured_at=f.measured_at.astimezone(UTC),
        policy_id=health.policy.id,
        policy_digest=health.policy.digest,
        soh_percent=f.state_of_health_pct,
        soh_uncertainty=f.state_of_health_uncertainty_pct,
        capacity_fade_percent=f.capacity_fade_pct,
        resistance_increase_percent=f.resistance_increase_pct,
        equivalent_full_cycles=f.equivalent_full_cycles,
        energy_throughput_kwh=f.energy_throughput_kwh,
        hours_hot=f.hours_above_high_temperature,
        hours_cold=f.hours_below_low_temperature,
        hours_high_soc=f.hours_at_high_soc,
        fast_charge_share_percent=f.fast_charge_energy_share_pct,
        grade=f.grade.value,
        record_count=health.record_count,
        anchors=tuple(health.anchors),
        evidence_url=f"/api/v1/passports/{passport_id}/health/evidence",
    )


def alert_views(alerts: Sequence[StoredAlert]) -> tuple[AlertView, ...]:
    """Newest first."""
    return tuple(
        AlertView(
            title=RULE_TITLES[stored.alert.rule],
            severity=stored.alert.severity,
            severity_title=SEVERITY_TITLES[stored.alert.severity],
            observed_at=stored.alert.observed_at.astimezone(UTC),
            value=stored.alert.value,
            threshold=stored.alert.threshold,
            unit=RULE_UNITS[stored.alert.rule],
            records=tuple(e.record_digest for e in stored.alert.evidence),
            status=stored.status,
        )
        for stored in sorted(alerts, key=lambda s: s.alert.observed_at, reverse=True)
    )
