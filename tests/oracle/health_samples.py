"""A battery's synthetic anchored stream and its health evidence bundle (oracle and CLI suites)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from oracle.device_health import HealthEvidence, UsedRecord, build_evidence, compute_health, health_policy
from oracle.health import RatedValues
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import AnchoredRecord, RecordProofs
from passport.model import BatteryCategory, DeviceHealth
from tests.builders import charging, diagnostics, parking, safety
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet, anchorer, journal_keyring

RATED = RatedValues(
    category=BatteryCategory.EV, rated_capacity_ah=200.0, initial_internal_resistance_mohm=90.0
)


def stream() -> list[dict[str, Any]]:
    return [
        # 1 h slow charge 60 -> 100 %: 15 min at or above 90 %; peak 46 °C counts as an hour hot.
        charging(
            started_at="2025-03-01T08:00:00Z",
            ended_at="2025-03-01T09:00:00Z",
            soc_start_pct=60,
            soc_end_pct=100,
            energy_kwh=10,
            max_cell_temp_c=46,
        ),
        # Parked 1 h after that charge (high SoC for its 10 h); -20..0 °C: half its time <= -10 °C.
        parking(
            started_at="2025-03-01T10:00:00Z",
            ended_at="2025-03-01T20:00:00Z",
            temp_min_c=-20,
            temp_max_c=0,
        ),
        charging(
            started_at="2025-03-02T08:00:00Z",
            ended_at="2025-03-02T08:30:00Z",
            soc_start_pct=20,
            soc_end_pct=80,
            energy_kwh=30,
            avg_power_kw=60,
            max_power_kw=100,
            mode="fast",
        ),
        safety(occurred_at="2025-03-02T10:15:00Z", severity="warning"),
        diagnostics(measured_at="2025-03-04T00:00:00Z", capacity_ah=190.0),
        diagnostics(
            measured_at="2025-03-05T00:00:00Z",
            capacity_ah=180.0,
            soce_pct=93.5,
            internal_resistance_mohm=99.0,
            capacity_throughput_ah=120_000,
            energy_throughput_kwh=41_000,
        ),
    ]


def anchored_stream(journal: Journal, *, extra_battery: bool = True) -> tuple[Fleet, list[AnchoredRecord]]:
    fleet = Fleet(journal, Ingestor(journal))
    for n in range(2):
        fleet.device(n).register(journal)
    assert fleet.ingestor.ingest(fleet.upload(0, stream())).status == "accepted"
    if extra_battery:  # another battery's readings share the batches: they must not be used
        assert fleet.ingestor.ingest(fleet.upload(1, [diagnostics(capacity_ah=100.0)])).status == "accepted"
    store, chain = FakeStore(), FakeChain()
    anchorer(journal, store, chain, batch_size=3).drain()
    proofs = RecordProofs(journal, store, keyring=journal_keyring(journal))
    return fleet, proofs.battery_history(fleet.battery_id(0), chain=chain)


def health_of(history: list[AnchoredRecord], battery_id: str) -> DeviceHealth:
    return compute_health(
        battery_id,
        RATED,
        [UsedRecord.of(a) for a in history],
        health_policy(),
        evaluated_at=datetime(2025, 3, 6, tzinfo=UTC),
    )


def evidence_bundle(journal: Journal) -> HealthEvidence:
    fleet, history = anchored_stream(journal)
    health = health_of(history, fleet.battery_id(0))
    evidence = build_evidence(uuid4(), 2, fleet.battery_id(0), RATED, health, history)
    # The bundle travels as JSON: verify what a reader parses back.
    return HealthEvidence.parse(evidence.model_dump_json())
