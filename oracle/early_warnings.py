"""Early warnings: rules over a battery's anchored device stream, raised as provable alerts.

Rules (thresholds are ``WarningRules`` fields; version ``kr-warn-2026-1``, identified like the other
policies by the SHA-256 of its canonical JSON, and never chosen by a caller):

* ``cell_voltage_spread_rising`` — a diagnostic snapshot's max-min cell voltage spread is at least
  ``spread_alarm_mv`` (40 mV) *and* has risen by at least ``spread_rise_mv`` (15 mV) over the lowest
  spread of the previous ``spread_window_days`` (60 days). A growing imbalance points to a weak or
  self-discharging cell (internal short precursor); healthy packs drift by a few mV a year.
* ``temperature_rise_at_rest`` — a parking period whose pack temperature rose by at least
  ``rest_rise_c`` (20 °C) from its minimum to at least ``rest_min_peak_c`` (40 °C). Parked, a pack only
  follows the ambient swing (a fraction of it); heating at rest means a heat source inside.
* ``hot_fast_charging`` — at least ``hot_fast_count`` (4) DC fast-charging sessions with a peak cell
  temperature at or above ``hot_fast_temp_c`` (50 °C, the BMS over-temperature warning level) within
  ``hot_fast_window_days`` (7 days): repeated fast charging hot accelerates SEI growth and plating.
  (Three sessions at 45 or 50 °C fired on 2-3 % of the pilot generator's *healthy* packs in a
  Busan summer; four at 50 °C on none of 300 packs over 365 days.)
* ``sudden_capacity_drop`` — measured capacity fell by at least ``capacity_drop_pct`` (5 % of rated)
  between two diagnostic snapshots at most ``capacity_drop_max_days`` (45 days) apart, against a
  normal fade of a few % a year.

Each alert cites the records it rests on (keccak record digests and the Merkle roots anchoring them),
so anyone can prove them with ``GET /api/v1/audit/records/{digest}/proof``; its id is the SHA-256 of
(rule, battery, cited digests), so re-scanning the same data records nothing twice. ``AlertStore`` is the
alert journal (SQLite at ``Settings.warnings_path``, or the ``alerts`` schema of PostgreSQL when
``PASSPORT_DATABASE_URL`` is set).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from oracle.device_health import UsedRecord
from oracle.errors import WarningStoreError
from oracle.readings import ChargingSession, DiagnosticSnapshot, ParkingPeriod
from passport.canonical import canonical_digest
from passport.db import Database, StorageError, open_database, open_sqlite
from passport.model import HealthPolicyRef, PolicyId
from passport.settings import Settings

RuleName = Literal[
    "cell_voltage_spread_rising", "temperature_rise_at_rest", "hot_fast_charging", "sudden_capacity_drop"
]
RULES: Final[tuple[RuleName, ...]] = (
    "cell_voltage_spread_rising",
    "temperature_rise_at_rest",
    "hot_fast_charging",
    "sudden_capacity_drop",
)


class WarningRules(BaseModel):
    """One named version of the early-warning thresholds (defaults: ``kr-warn-2026-1``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: PolicyId
    spread_alarm_mv: float = Field(default=40.0, gt=0)
    spread_rise_mv: float = Field(default=15.0, gt=0)
    spread_window_days: float = Field(default=60.0, gt=0)
    rest_rise_c: float = Field(default=20.0, gt=0)
    rest_min_peak_c: float = Field(default=40.0)
    hot_fast_temp_c: float = Field(default=50.0)
    hot_fast_count: int = Field(default=4, ge=1)
    hot_fast_window_days: float = Field(default=7.0, gt=0)
    capacity_drop_pct: float = Field(default=5.0, gt=0, le=100)
    capacity_drop_max_days: float = Field(default=45.0, gt=0)

    @property
    def digest(self) -> str:
        return canonical_digest(self.model_dump(mode="json")).hex()

    @property
    def ref(self) -> HealthPolicyRef:
        return HealthPolicyRef(id=self.id, digest=self.digest)


CURRENT_WARNING_RULES: Final = WarningRules(id="kr-warn-2026-1")


class AlertEvidence(BaseModel):
    """A record an alert rests on: its digest, the root anchoring it, and when it was observed."""

    model_config = ConfigDict(frozen=True)

    record_digest: str
    root: str
    observed_at: datetime


class Alert(BaseModel):
    """One early warning about one battery, with the readings that raised it."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    rule: RuleName
    battery_id: str
    severity: Literal["warning", "serious"]
    observed_at: datetime = Field(description="When the latest cited reading was observed.")
    value: float = Field(description="The measured quantity the rule compared (unit per rule).")
    threshold: float
    rules: HealthPolicyRef
    evidence: list[AlertEvidence]


def _evidence(record: UsedRecord) -> AlertEvidence:
    return AlertEvidence(
        record_digest="0x" + record.digest.hex(),
        root="0x" + record.root.hex(),
        observed_at=record.reading.observed_at,
    )


def _alert(
    rule: RuleName,
    battery_id: str,
    cited: Sequence[UsedRecord],
    value: float,
    threshold: float,
    rules: WarningRules,
    severity: Literal["warning", "serious"] = "warning",
) -> Alert:
    digests = sorted("0x" + r.digest.hex() for r in cited)
    alert_id = hashlib.sha256(json.dumps([rule, battery_id, digests]).encode()).hexdigest()
    return Alert(
        alert_id=alert_id,
        rule=rule,
        battery_id=battery_id,
        severity=severity,
        observed_at=max(r.reading.observed_at for r in cited),
        value=round(value, 3),
        threshold=threshold,
        rules=rules.ref,
        evidence=[_evidence(r) for r in sorted(cited, key=lambda r: (r.reading.observed_at, r.digest))],
    )


def _spread_rising(battery_id: str, diags: list[UsedRecord], rules: WarningRules) -> list[Alert]:
    alerts: list[Alert] = []
    window = timedelta(days=rules.spread_window_days)
    for i, current in enumerate(diags):
        reading = current.reading
        assert isinstance(reading, DiagnosticSnapshot)
        if reading.cell_voltage_spread_mv < rules.spread_alarm_mv:
            continue
        earlier = [d for d in diags[:i] if reading.measured_at - d.reading.observed_at <= window]
        if not earlier:
            continue
        base = min(earlier, key=lambda d: (_spread(d), d.reading.observed_at))
        rise = reading.cell_voltage_spread_mv - _spread(base)
        if rise >= rules.spread_rise_mv:
            alerts.append(
                _alert(
                    "cell_voltage_spread_rising",
                    battery_id,
                    [base, current],
                    rise,
                    rules.spread_rise_mv,
                    rules,
                )
            )
    return alerts


def _spread(record: UsedRecord) -> float:
    assert isinstance(record.reading, DiagnosticSnapshot)
    return record.reading.cell_voltage_spread_mv


def _rest_rise(battery_id: str, parks: list[UsedRecord], rules: WarningRules) -> list[Alert]:
    alerts: list[Alert] = []
    for record in parks:
        period = record.reading
        assert isinstance(period, ParkingPeriod)
        rise = period.temp_max_c - period.temp_min_c
        if rise >= rules.rest_rise_c and period.temp_max_c >= rules.rest_min_peak_c:
            alerts.append(
                _alert(
                    "temperature_rise_at_rest",
                    battery_id,
                    [record],
                    rise,
                    rules.rest_rise_c,
                    rules,
                    "serious",
                )
            )
    return alerts


def _hot_fast(battery_id: str, sessions: list[UsedRecord], rules: WarningRules) -> list[Alert]:
    hot = [
        s
        for s in sessions
        if isinstance(s.reading, ChargingSession)
        and s.reading.mode == "fast"
        and s.reading.max_cell_temp_c >= rules.hot_fast_temp_c
    ]
    alerts: list[Alert] = []
    window = timedelta(days=rules.hot_fast_window_days)
    i = 0
    # Non-overlapping groups: each run of ``hot_fast_count`` within the window raises one alert.
    while i + rules.hot_fast_count <= len(hot):
        group = hot[i : i + rules.hot_fast_count]
        if group[-1].reading.observed_at - group[0].reading.observed_at <= window:
            alerts.append(
                _alert("hot_fast_charging", battery_id, group, len(group), rules.hot_fast_count, rules)
            )
            i += rules.hot_fast_count
        else:
            i += 1
    return alerts


def _capacity_drop(
    battery_id: str, diags: list[UsedRecord], rated_capacity_ah: float, rules: WarningRules
) -> list[Alert]:
    alerts: list[Alert] = []
    for before, after in itertools.pairwise(diags):
        a, b = before.reading, after.reading
        assert isinstance(a, DiagnosticSnapshot)
        assert isinstance(b, DiagnosticSnapshot)
        if b.measured_at - a.measured_at > timedelta(days=rules.capacity_drop_max_days):
            continue
        drop = 100 * (a.capacity_ah - b.capacity_ah) / rated_capacity_ah
        if drop >= rules.capacity_drop_pct:
            alerts.append(
                _alert(
                    "sudden_capacity_drop",
                    battery_id,
                    [before, after],
                    drop,
                    rules.capacity_drop_pct,
                    rules,
                    "serious",
                )
            )
    return alerts


def scan(
    battery_id: str,
    records: Sequence[UsedRecord],
    *,
    rated_capacity_ah: float,
    rules: WarningRules = CURRENT_WARNING_RULES,
) -> list[Alert]:
    """Every alert the rules raise over ``records`` (a battery's anchored readings), oldest first."""
    ordered = sorted(
        (r for r in records if r.battery_id == battery_id), key=lambda r: (r.reading.observed_at, r.digest)
    )
    diags = [r for r in ordered if isinstance(r.reading, DiagnosticSnapshot)]
    parks = [r for r in ordered if isinstance(r.reading, ParkingPeriod)]
    sessions = [r for r in ordered if isinstance(r.reading, ChargingSession)]
    alerts = [
        *_spread_rising(battery_id, diags, rules),
        *_rest_rise(battery_id, parks, rules),
        *_hot_fast(battery_id, sessions, rules),
        *_capacity_drop(battery_id, diags, rated_capacity_ah, rules),
    ]
    return sorted(alerts, key=lambda a: (a.observed_at, a.rule, a.alert_id))


class StoredAlert(BaseModel):
    """An alert as journaled: when it was raised and whether it is still open."""

    alert: Alert
    raised_at: datetime
    status: Literal["open", "closed"]


#: The database component (PostgreSQL schema, migrations folder) of the alert journal.
COMPONENT: Final = "alerts"


class AlertStore:
    """The alert journal (SQLite, WAL, fsync at commit; or PostgreSQL): what was raised, once each, never
    lost."""

    def __init__(self, database: Database | str | Path) -> None:
        """``database``: an open database (its ``alerts`` migrations applied), or a SQLite file path."""
        self._where = str(database) if isinstance(database, str | Path) else repr(database)
        try:
            self._db = open_sqlite(database, COMPONENT) if isinstance(database, str | Path) else database
        except StorageError as exc:
            raise WarningStoreError(f"cannot open the alert store {self._where}: {exc}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertStore:
        """The journal at ``Settings.warnings_path``, or in PostgreSQL when ``database_url`` is set."""
        if settings.database_url is None:
            return cls(settings.warnings_path)
        try:
            return cls(open_database(settings, COMPONENT, settings.warnings_path))
        except StorageError as exc:
            raise WarningStoreError(f"cannot open the alert store: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, alerts: Sequence[Alert], *, now: datetime | None = None) -> list[Alert]:
        """Journal ``alerts``; returns those not recorded before (the newly raised ones)."""
        raised = (now or datetime.now(UTC)).isoformat()
        new: list[Alert] = []
        try:
            with self._db.transaction() as cur:
                for alert in alerts:
                    cur.execute(
                        "INSERT INTO alerts (alert_id, battery_id, rule, observed_at, raised_at, body) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (
                            alert.alert_id,
                            alert.battery_id,
                            alert.rule,
                            alert.observed_at.isoformat(),
                            raised,
                            alert.model_dump_json(),
                        ),
                    )
                    if cur.rowcount:
                        new.append(alert)
        except StorageError as exc:
            raise WarningStoreError(f"alert store {self._where}: {exc}") from None
        return new

    def of_battery(self, battery_id: str) -> list[StoredAlert]:
        """The battery's alerts, oldest observation first."""
        return self._select("WHERE battery_id = ? ORDER BY observed_at, alert_id", (battery_id,))

    def all(self) -> list[StoredAlert]:
        return self._select("ORDER BY battery_id, observed_at, alert_id", ())

    def _select(self, where: str, params: tuple[object, ...]) -> list[StoredAlert]:
        try:
            sql = "SELECT body, raised_at, status FROM alerts " + where  # noqa: S608 -- fixed clauses
            rows = self._db.query(sql, params)
        except StorageError as exc:
            raise WarningStoreError(f"alert store {self._where}: {exc}") from None
        return [
            StoredAlert(
                alert=Alert.model_validate_json(body), raised_at=datetime.fromisoformat(raised), status=status
            )
            for body, raised, status in rows
        ]
