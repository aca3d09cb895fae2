"""``passport.service.SafetyRecords`` on every chain backend: inspections, incidents, shipments and storage
each become a new, verifiable passport version, and the on-chain gates follow them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from devtools.samples import sample_passport
from passport.envelope import KeyRing
from passport.errors import ContractRevert, DocumentValidationError
from passport.ids import passport_id_bytes32
from passport.model import (
    AccessTier,
    BatteryPassport,
    DocumentRef,
    Facility,
    InspectionCheck,
    Organisation,
    PackagingClass,
    SafetyInspection,
    Shipment,
    StorageConditions,
    StorageRecord,
)
from passport.model import LifecycleStatus as S
from passport.model.korea import InspectionResult, InspectionStage
from passport.model.performance import NegativeEvent, NegativeEventKind
from passport.model.safety import ReporterRole
from passport.service import PassportService, SafetyRecords, VersionLog
from passport.store import EmbeddedStore
from tests.chain_backends import Actor, ChainBackend, only_event

BATTERY = "HES-E77N-2407-SAF001"
PID = uuid.UUID("5a0b6a2c-8d4e-4c1a-9b7f-2e5d8c6a1b91")
ALL = frozenset(AccessTier)
EVIDENCE = DocumentRef(title="Inspection photos", content="ipfs://bafkreiexampleevidence")


def inspection(stage: InspectionStage, result: InspectionResult, now: datetime) -> SafetyInspection:
    return SafetyInspection(
        stage=stage,
        inspected_at=now,
        inspector=Organisation(name="KTL battery safety lab", identifier="KR-123-45-67890"),
        result=result,
        findings=[] if result is InspectionResult.PASS else ["casing deformation at module 3"],
        method="KS C IEC 62619 visual, insulation and voltage checks",
        equipment=["Megger MIT1025", "Hioki BT3564"],
        checks=[
            InspectionCheck(name="insulation resistance", passed=True, value="540 MOhm"),
            InspectionCheck(name="casing integrity", passed=result is InspectionResult.PASS),
        ],
        valid_until=now + timedelta(days=30) if result is InspectionResult.PASS else None,
        evidence=[EVIDENCE],
    )


def accident(now: datetime, serious: bool) -> NegativeEvent:
    return NegativeEvent(
        kind=NegativeEventKind.THERMAL_EVENT if serious else NegativeEventKind.DEEP_DISCHARGE,
        occurred_at=now,
        description="cell venting after a collision" if serious else "left at 0 % for two weeks",
        reported_by="Seoul EV workshop",
        reporter_role=ReporterRole.WORKSHOP,
        serious=serious,
        documents=[EVIDENCE],
    )


@dataclass
class World:
    ledger: ChainBackend
    issuer: PassportService

    def as_(self, actor: Actor) -> SafetyRecords:
        return SafetyRecords(self.issuer.acting_as(actor.key))

    def current(self) -> BatteryPassport:
        return self.issuer.fetch(PID, ALL).passport()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.ledger.now(), UTC)


@pytest.fixture
def world(ledger: ChainBackend, tmp_path: Path, issuer: Actor, inspector: Actor, business: Actor) -> World:
    service = PassportService(
        issuer.client,
        EmbeddedStore(tmp_path / "store", durable=False),
        KeyRing(tmp_path / "keys"),
        versions=VersionLog(tmp_path / "versions.sqlite3"),
        trusted_issuers=[a.address for a in (issuer, inspector, business)],
        signer_key=issuer.key,
    )
    service.issue(sample_passport(BATTERY, passport_id=PID))
    return World(ledger, service)


def test_inspection_is_a_verifiable_version(world: World, inspector: Actor) -> None:
    issued = world.as_(inspector).record_inspection(
        PID, world.current(), inspection(InspectionStage.PRE_DISTRIBUTION, InspectionResult.PASS, world.now())
    )
    event = only_event(issued.receipt, "InspectionRecorded")
    assert (event["passed"], event["version"], issued.version) == (True, 2, 2)
    assert world.issuer.verify(PID).ok, world.issuer.verify(PID).failed()
    stored = world.current().korea.safety_inspections[-1]
    assert stored.checks[0].value == "540 MOhm"
    assert stored.evidence == [EVIDENCE]
    state = world.as_(inspector).state(PID)
    assert state.distribution_valid_until == int(stored.valid_until.timestamp())  # type: ignore[union-attr]


def test_passed_inspection_needs_a_validity(world: World, inspector: Actor) -> None:
    passed = inspection(InspectionStage.PRE_DISTRIBUTION, InspectionResult.PASS, world.now())
    with pytest.raises(DocumentValidationError, match="valid_until"):
        world.as_(inspector).record_inspection(
            PID, world.current(), passed.model_copy(update={"valid_until": None})
        )


def test_incident_is_a_verifiable_version_and_serious_blocks_reuse_until_cleared(
    world: World, inspector: Actor, issuer: Actor
) -> None:
    minor = world.as_(issuer).report_incident(PID, world.current(), accident(world.now(), serious=False))
    assert only_event(minor.receipt, "IncidentRecorded")["serious"] is False
    assert world.issuer.verify(PID).ok
    serious = world.as_(inspector).report_incident(PID, world.current(), accident(world.now(), serious=True))
    assert only_event(serious.receipt, "IncidentRecorded")["serious"] is True
    assert world.issuer.verify(PID).ok
    assert [e.serious for e in world.current().performance.dynamic.negative_events][-2:] == [False, True]
    assert world.as_(issuer).state(PID).flagged
    with pytest.raises(ContractRevert) as refused:
        world.issuer.change_status(PID, S.REUSED, world.current())
    assert refused.value.error == "SafetyRecordsPassportFlagged"
    failed = inspection(InspectionStage.CLEARANCE, InspectionResult.FAIL, world.now())
    world.as_(inspector).record_inspection(PID, world.current(), failed)
    assert world.as_(issuer).state(PID).flagged
    cleared = inspection(InspectionStage.CLEARANCE, InspectionResult.PASS, world.now())
    world.as_(inspector).record_inspection(PID, world.current(), cleared)
    assert not world.as_(issuer).state(PID).flagged
    reused = world.issuer.change_status(PID, S.REUSED, world.current())
    assert reused.status is S.REUSED
    assert world.issuer.verify(PID).ok


def test_shipment_and_storage_are_versions(world: World, issuer: Actor, business: Actor) -> None:
    shipment = Shipment(
        shipment_id="SHP-0001",
        from_party=Organisation(name="Hanbit Energy"),
        to_party=Organisation(name="Green Cycle"),
        to_account=business.address,
        carrier=Organisation(name="K-Logistics"),
        dispatched_at=world.now(),
        state_of_charge_percent=28,
        packaging_class=PackagingClass.AIR_PI965,
        un38_3_test_summary=DocumentRef(title="UN 38.3 test summary", content="https://example.com/t.pdf"),
        labels=["UN3480", "Lithium battery mark"],
    )
    first = world.as_(issuer).record_shipment(PID, world.current(), shipment)
    storage = StorageRecord(
        site=Facility(name="Incheon bonded warehouse"),
        operator=Organisation(name="K-Logistics"),
        stored_from=world.now(),
        conditions=StorageConditions(min_temperature_c=10, max_temperature_c=25, state_of_charge_percent=30),
    )
    second = world.as_(issuer).record_storage(PID, world.current(), storage)
    assert (first.version, second.version) == (2, 3)
    korea = world.current().korea
    assert (korea.shipments[-1], korea.storage_records[-1]) == (shipment, storage)
    assert world.issuer.verify(PID).ok
    assert world.issuer.chain.get_passport(passport_id_bytes32(PID)).version == 3  # type: ignore[union-attr]


def test_shipment_above_its_class_soc_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="exceeds the 30 % allowed for air_pi965"):
        Shipment(
            shipment_id="SHP-0002",
            from_party=Organisation(name="A"),
            to_party=Organisation(name="B"),
            carrier=Organisation(name="C"),
            dispatched_at=datetime(2026, 1, 1, tzinfo=UTC),
            state_of_charge_percent=31,
            packaging_class=PackagingClass.AIR_PI965,
            un38_3_test_summary=DocumentRef(title="UN 38.3", content="https://example.com/t.pdf"),
        )


def test_flagged_battery_ships_only_as_damaged(world: World, inspector: Actor, issuer: Actor) -> None:
    world.as_(inspector).report_incident(PID, world.current(), accident(world.now(), serious=True))
    shipment = Shipment(
        shipment_id="SHP-0003",
        from_party=Organisation(name="A"),
        to_party=Organisation(name="B"),
        carrier=Organisation(name="C"),
        dispatched_at=world.now(),
        state_of_charge_percent=20,
        packaging_class=PackagingClass.ROAD_SEA_P903,
        un38_3_test_summary=DocumentRef(title="UN 38.3", content="https://example.com/t.pdf"),
    )
    with pytest.raises(DocumentValidationError, match="damaged"):
        world.as_(issuer).record_shipment(PID, world.current(), shipment)
    damaged = shipment.model_copy(update={"packaging_class": PackagingClass.DAMAGED_P908})
    assert world.as_(issuer).record_shipment(PID, world.current(), damaged).version == 3
