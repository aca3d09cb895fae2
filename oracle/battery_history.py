"""A battery's device history as its owner reads it: the journaled records, newest first, and one
summary per month and kind (charging sessions and energy, safety events by severity, parking hours and
temperature exposure, diagnostics and the latest measured capacity).

Everything is read from the oracle's journal (``records_battery`` index: battery, kind, observed time),
so the history includes readings not yet anchored; each record says how far anchoring got, and its
digest is what the proof route takes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oracle.journal import Journal, RecordState
from oracle.readings import ANCHOR_KIND, KIND_NAME

KINDS: tuple[str, ...] = tuple(ANCHOR_KIND)
# A period's length in hours, from the reading's own RFC 3339 times (SQLite honours their offsets).
_HOURS = (
    "(julianday(json_extract(doc, '$.reading.ended_at')) "
    "- julianday(json_extract(doc, '$.reading.started_at'))) * 24.0"
)
MAX_PAGE = 1000

_SELECT = (
    "SELECT r.id, r.kind, r.observed_at, r.device_id, r.seq, r.canonical, r.digest, "
    "COALESCE(b.state, 'pending') FROM records r LEFT JOIN batches b ON b.id = r.batch_id "
    "WHERE r.battery_id = ? "
)


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One journaled reading of the battery."""

    record_id: int
    kind: str
    observed_at: datetime
    device_id: str
    seq: int
    digest: str  # 0x-hex: the proof route's key
    state: RecordState
    reading: dict[str, Any]


@dataclass(slots=True)
class MonthSummary:
    """One calendar month (UTC) of one battery's readings."""

    month: str  # YYYY-MM
    charging_sessions: int = 0
    fast_charging_sessions: int = 0
    energy_charged_kwh: float = 0.0
    max_charging_cell_temp_c: float | None = None
    safety_events: int = 0
    safety_by_severity: dict[str, int] = field(default_factory=dict)
    parking_hours: float = 0.0
    parking_temp_min_c: float | None = None
    parking_temp_max_c: float | None = None
    hours_parked_above_35c: float = 0.0
    diagnostics: int = 0
    latest_capacity_ah: float | None = None
    latest_internal_resistance_mohm: float | None = None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _hours(reading: dict[str, Any]) -> float:
    return (_time(reading["ended_at"]) - _time(reading["started_at"])).total_seconds() / 3600.0


def _low(current: float | None, value: float) -> float:
    return value if current is None else min(current, value)


def _high(current: float | None, value: float) -> float:
    return value if current is None else max(current, value)


def summarise(records: Iterable[HistoryRecord]) -> list[MonthSummary]:
    """Per-month summaries of ``records`` (any order), oldest month first."""
    months: dict[str, MonthSummary] = {}
    latest_diag: dict[str, datetime] = {}
    for record in records:
        key = record.observed_at.astimezone(UTC).strftime("%Y-%m")
        month = months.setdefault(key, MonthSummary(month=key))
        reading = record.reading
        if record.kind == "charging":
            month.charging_sessions += 1
            month.fast_charging_sessions += reading.get("mode") == "fast"
            month.energy_charged_kwh += float(reading["energy_kwh"])
            month.max_charging_cell_temp_c = _high(
                month.max_charging_cell_temp_c, float(reading["max_cell_temp_c"])
            )
        elif record.kind == "safety":
            month.safety_events += 1
            severity = str(reading["severity"])
            month.safety_by_severity[severity] = month.safety_by_severity.get(severity, 0) + 1
        elif record.kind == "parking":
            hours = _hours(reading)
            month.parking_hours += hours
            month.parking_temp_min_c = _low(month.parking_temp_min_c, float(reading["temp_min_c"]))
            month.parking_temp_max_c = _high(month.parking_temp_max_c, float(reading["temp_max_c"]))
            if float(reading["temp_max_c"]) > 35.0:
                month.hours_parked_above_35c += hours
        elif record.kind == "diagnostics":
            month.diagnostics += 1
            if key not in latest_diag or record.observed_at >= latest_diag[key]:
                latest_diag[key] = record.observed_at
                month.latest_capacity_ah = float(reading["capacity_ah"])
                month.latest_internal_resistance_mohm = float(reading["internal_resistance_mohm"])
    for month in months.values():
        month.energy_charged_kwh = round(month.energy_charged_kwh, 3)
        month.parking_hours = round(month.parking_hours, 2)
        month.hours_parked_above_35c = round(month.hours_parked_above_35c, 2)
    return [months[key] for key in sorted(months)]


class BatteryHistory:
    """Reads one battery's device history from the journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def records(
        self,
        battery_id: str,
        *,
        kinds: Iterable[str] = KINDS,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[HistoryRecord]:
        """The battery's records of ``kinds`` observed in ``[since, until)``, newest first."""
        wanted = sorted({ANCHOR_KIND[kind] for kind in kinds})
        if not wanted:
            return []
        sql = _SELECT + f"AND r.kind IN ({','.join('?' for _ in wanted)}) "
        params: list[object] = [battery_id, *(int(kind) for kind in wanted)]
        if since is not None:
            sql += "AND r.observed_at >= ? "
            params.append(since.timestamp())
        if until is not None:
            sql += "AND r.observed_at < ? "
            params.append(until.timestamp())
        sql += "ORDER BY r.observed_at DESC, r.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._row(row) for row in self.journal.query(sql, params)]

    def months(
        self,
        battery_id: str,
        *,
        kinds: Iterable[str] = KINDS,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[MonthSummary]:
        """Per-month summaries of the battery's records of ``kinds`` in ``[since, until)``, oldest month
        first: what ``summarise`` computes from the records, aggregated inside SQLite (one pass over the
        ``records_battery`` index, no row decoded in Python), so a long history costs one query."""
        if self.journal.dialect != "sqlite":
            # The aggregation below is SQLite's SQL (json_extract, julianday, bare columns of MAX());
            # on PostgreSQL the same figures come from the reference ``summarise`` over the records.
            return summarise(self.records(battery_id, kinds=kinds, since=since, until=until))
        wanted = sorted({int(ANCHOR_KIND[kind]) for kind in kinds})
        if not wanted:
            return []
        where = f"battery_id = ? AND kind IN ({','.join('?' for _ in wanted)})"
        params: list[object] = [battery_id, *wanted]
        if since is not None:
            where += " AND observed_at >= ?"
            params.append(since.timestamp())
        if until is not None:
            where += " AND observed_at < ?"
            params.append(until.timestamp())
        source = (
            "SELECT strftime('%Y-%m', observed_at, 'unixepoch') AS month, kind, observed_at, "  # noqa: S608 — fixed SQL, values as parameters
            f"CAST(canonical AS TEXT) AS doc FROM records WHERE {where}"
        )
        months: dict[str, MonthSummary] = {}
        for month, kind, n, fast, energy, cell_max, hours, t_min, t_max, hot in self.journal.query(
            "SELECT month, kind, COUNT(*), "  # noqa: S608 — fixed SQL, values as parameters
            "SUM(json_extract(doc, '$.reading.mode') = 'fast'), "
            "SUM(json_extract(doc, '$.reading.energy_kwh')), "
            "MAX(json_extract(doc, '$.reading.max_cell_temp_c')), "
            f"SUM({_HOURS}), "
            "MIN(json_extract(doc, '$.reading.temp_min_c')), "
            "MAX(json_extract(doc, '$.reading.temp_max_c')), "
            f"SUM(CASE WHEN json_extract(doc, '$.reading.temp_max_c') > 35 THEN {_HOURS} ELSE 0 END) "
            f"FROM ({source}) GROUP BY month, kind",
            params,
        ):
            summary = months.setdefault(month, MonthSummary(month=month))
            name = KIND_NAME[kind]
            if name == "charging":
                summary.charging_sessions = int(n)
                summary.fast_charging_sessions = int(fast or 0)
                summary.energy_charged_kwh = round(float(energy or 0.0), 3)
                summary.max_charging_cell_temp_c = None if cell_max is None else float(cell_max)
            elif name == "safety":
                summary.safety_events = int(n)
            elif name == "parking":
                summary.parking_hours = round(float(hours or 0.0), 2)
                summary.parking_temp_min_c = None if t_min is None else float(t_min)
                summary.parking_temp_max_c = None if t_max is None else float(t_max)
                summary.hours_parked_above_35c = round(float(hot or 0.0), 2)
            elif name == "diagnostics":
                summary.diagnostics = int(n)
        if int(ANCHOR_KIND["safety"]) in wanted:
            for month, severity, n in self.journal.query(
                f"SELECT month, json_extract(doc, '$.reading.severity'), COUNT(*) FROM ({source}) "  # noqa: S608 — fixed SQL, values as parameters
                "WHERE kind = ? GROUP BY month, 2",
                [*params, int(ANCHOR_KIND["safety"])],
            ):
                months[month].safety_by_severity[str(severity)] = int(n)
        if int(ANCHOR_KIND["diagnostics"]) in wanted:
            # SQLite takes the bare columns of a MAX() aggregate from the row holding the maximum.
            for month, _, capacity, resistance in self.journal.query(
                "SELECT month, MAX(observed_at), json_extract(doc, '$.reading.capacity_ah'), "  # noqa: S608 — fixed SQL, values as parameters
                f"json_extract(doc, '$.reading.internal_resistance_mohm') FROM ({source}) "
                "WHERE kind = ? GROUP BY month",
                [*params, int(ANCHOR_KIND["diagnostics"])],
            ):
                months[month].latest_capacity_ah = float(capacity)
                months[month].latest_internal_resistance_mohm = float(resistance)
        return [months[key] for key in sorted(months)]

    def _row(self, row: tuple[Any, ...]) -> HistoryRecord:
        record_id, kind, observed_at, device_id, seq, canonical, digest, state = row
        envelope = json.loads(bytes(canonical))
        return HistoryRecord(
            record_id=int(record_id),
            kind=KIND_NAME[kind],
            observed_at=datetime.fromtimestamp(float(observed_at), UTC),
            device_id=str(device_id),
            seq=int(seq),
            digest="0x" + bytes(digest).hex(),
            state=state,
            reading=envelope["reading"],
        )
