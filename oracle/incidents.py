"""Device safety events above a threshold, as passport negative events (EU 2023/1542 Annex XIII).

A collection device journals the BMS's safety events; those at or above ``DEVICE_EVENT_MIN_SEVERITY``
(``serious``: the BMS's own scale is info < warning < serious < critical) become negative events, each
linking the journaled record by its digest (``urn:battery-passport:record:0x…``), so a reader can ask
for the record's Merkle proof against its anchored root (``GET /api/v1/audit/records/{digest}/proof``).
A ``critical`` event makes the incident serious (it flags the battery). The threshold is the server's,
never the caller's; events already linked from the passport are not added twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from oracle.journal import Journal
from oracle.readings import SEVERITY_ORDER, SafetyEvent, parse_reading
from passport.canonical import canonical_json, parse_canonical_object
from passport.model import AnchorKind, DocumentRef, NegativeEvent, NegativeEventKind, ReporterRole

#: The lowest BMS severity that becomes a negative event, and the one that makes it serious.
DEVICE_EVENT_MIN_SEVERITY: Final = "serious"
DEVICE_EVENT_SERIOUS_SEVERITY: Final = "critical"
RECORD_URN_PREFIX: Final = "urn:battery-passport:record:0x"

#: Which Annex XIII negative-event kind each BMS safety event is.
EVENT_KINDS: Final[dict[str, NegativeEventKind]] = {
    "over_temperature": NegativeEventKind.THERMAL_EVENT,
    "thermal_runaway_warning": NegativeEventKind.THERMAL_EVENT,
    "under_temperature": NegativeEventKind.OTHER,
    "deep_discharge": NegativeEventKind.DEEP_DISCHARGE,
    "overcharge": NegativeEventKind.ELECTRICAL_ABUSE,
    "over_current": NegativeEventKind.ELECTRICAL_ABUSE,
    "insulation_fault": NegativeEventKind.ELECTRICAL_ABUSE,
    "cell_imbalance": NegativeEventKind.ELECTRICAL_ABUSE,
    "collision": NegativeEventKind.ACCIDENT,
}


def _linked(events: Iterable[NegativeEvent]) -> set[str]:
    return {d.content for e in events for d in e.documents if d.content.startswith(RECORD_URN_PREFIX)}


def device_negative_events(
    journal: Journal, battery_id: str, existing: Iterable[NegativeEvent] = ()
) -> list[NegativeEvent]:
    """The battery's journaled safety events at or above the threshold not yet in ``existing``."""
    floor = SEVERITY_ORDER[DEVICE_EVENT_MIN_SEVERITY]
    seen = _linked(existing)
    found: list[NegativeEvent] = []
    for record in journal.records_of_battery(battery_id, AnchorKind.SAFETY):
        reading = parse_reading(canonical_json(parse_canonical_object(record.canonical)["reading"]))
        if not isinstance(reading, SafetyEvent) or SEVERITY_ORDER[reading.severity] < floor:
            continue
        urn = RECORD_URN_PREFIX + record.digest.hex()
        if urn in seen:
            continue
        seen.add(urn)
        detail = f"BMS {reading.event.replace('_', ' ')} ({reading.severity})"
        found.append(
            NegativeEvent(
                kind=EVENT_KINDS[reading.event],
                occurred_at=reading.occurred_at,
                description=f"{detail}: {reading.description}" if reading.description else detail,
                reported_by=record.device_id,
                reporter_role=ReporterRole.DEVICE,
                serious=reading.severity == DEVICE_EVENT_SERIOUS_SEVERITY,
                documents=[DocumentRef(title="Journaled device record", content=urn, content_type="URL")],
            )
        )
    return found
