"""Safety records as passport versions: inspections, incidents, shipments and storage.

Each record is appended to the passport document where the model keeps it and written as the next signed
version, so ``PassportService.verify`` covers it like any other version:

* an inspection goes to ``korea.safety_inspections`` and is written with the registry's
  ``recordInspection`` (inspector role), which also sets the on-chain gate: a passed pre-distribution
  inspection clears a used battery for distribution until its ``valid_until``; a passed clearance
  inspection lifts an incident flag;
* an incident goes to ``performance.dynamic.negative_events`` (Annex XIII) and is written with
  ``recordIncident`` by the custodian or an inspector; a ``serious`` one flags the battery, which blocks
  reuse, successors and custody moves to anyone but a recycler until a passed clearance inspection;
* a shipment (``korea.shipments``) or storage record (``korea.storage_records``) is an ordinary update by
  the custodian; a shipment is refused when its state of charge exceeds its packaging class's limit
  (``passport.model.safety``), or when a flagged battery is to go in a class for undamaged batteries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from passport.chain.records import SafetyState
from passport.errors import DocumentValidationError
from passport.ids import parse_passport_id, passport_id_bytes32
from passport.model import BatteryPassport
from passport.model.korea import InspectionStage, SafetyInspection
from passport.model.performance import NegativeEvent
from passport.model.safety import DAMAGED_CLASSES, InspectionKind, Shipment, StorageRecord
from passport.service.passport_service import PassportIdLike, PassportService
from passport.service.results import IssuedVersion

#: The on-chain inspection kind of each inspection stage.
KIND_OF_STAGE = {
    InspectionStage.PRE_DISTRIBUTION: InspectionKind.PRE_DISTRIBUTION,
    InspectionStage.POST_DISTRIBUTION: InspectionKind.POST_DISTRIBUTION,
    InspectionStage.CLEARANCE: InspectionKind.CLEARANCE,
}


@dataclass(frozen=True, slots=True)
class SafetyRecords:
    """Writes safety records through ``passports`` (acting as the writer) and reads the safety state."""

    passports: PassportService

    def state(self, passport_id: PassportIdLike) -> SafetyState:
        """The passport's on-chain safety state (distribution clearance, flag)."""
        return self.passports.chain.get_safety_state(passport_id_bytes32(parse_passport_id(passport_id)))

    def record_inspection(
        self, passport_id: PassportIdLike, document: BatteryPassport, inspection: SafetyInspection
    ) -> IssuedVersion:
        """Append ``inspection`` to ``document`` and write it with ``recordInspection`` (inspector role)."""
        if inspection.passed and inspection.valid_until is None:
            raise DocumentValidationError(
                "a passed inspection needs valid_until", [("valid_until", "required when result is pass")]
            )
        kind, passed = KIND_OF_STAGE[inspection.stage], inspection.passed
        until = int(inspection.valid_until.timestamp()) if passed and inspection.valid_until else 0
        korea = document.korea.model_copy(
            update={"safety_inspections": [*document.korea.safety_inspections, inspection]}
        )
        chain = self.passports.chain
        return self.passports.append(
            passport_id,
            document.model_copy(update={"korea": korea}),
            lambda pid, digest, sig: chain.record_inspection(
                pid, kind, inspection.passed, until, digest, sig
            ),
        )

    def report_incident(
        self, passport_id: PassportIdLike, document: BatteryPassport, event: NegativeEvent
    ) -> IssuedVersion:
        """Append ``event`` to the negative events and write it with ``recordIncident``."""
        dynamic = document.performance.dynamic
        dynamic = dynamic.model_copy(update={"negative_events": [*dynamic.negative_events, event]})
        performance = document.performance.model_copy(update={"dynamic": dynamic})
        chain = self.passports.chain
        return self.passports.append(
            passport_id,
            document.model_copy(update={"performance": performance}),
            lambda pid, digest, sig: chain.record_incident(pid, event.serious, digest, sig),
        )

    def report_incidents(
        self, passport_id: PassportIdLike, document: BatteryPassport, events: Sequence[NegativeEvent]
    ) -> IssuedVersion:
        """Append several negative events in one version; serious when any of them is."""
        if not events:
            raise DocumentValidationError("no events to report", [("events", "empty")])
        dynamic = document.performance.dynamic
        dynamic = dynamic.model_copy(update={"negative_events": [*dynamic.negative_events, *events]})
        performance = document.performance.model_copy(update={"dynamic": dynamic})
        serious = any(event.serious for event in events)
        chain = self.passports.chain
        return self.passports.append(
            passport_id,
            document.model_copy(update={"performance": performance}),
            lambda pid, digest, sig: chain.record_incident(pid, serious, digest, sig),
        )

    def record_shipment(
        self, passport_id: PassportIdLike, document: BatteryPassport, shipment: Shipment
    ) -> IssuedVersion:
        """Append ``shipment`` (custodian) after checking it against the battery's flag."""
        if self.state(passport_id).flagged and shipment.packaging_class not in DAMAGED_CLASSES:
            raise DocumentValidationError(
                "a battery flagged by a serious incident ships only as damaged/defective",
                [
                    (
                        "packaging_class",
                        f"is {shipment.packaging_class.value}; use one of "
                        + ", ".join(sorted(c.value for c in DAMAGED_CLASSES))
                        + " (ADR/IMDG P908/P911; never by air, IATA Special Provision A154)",
                    )
                ],
            )
        korea = document.korea.model_copy(update={"shipments": [*document.korea.shipments, shipment]})
        return self.passports.update(passport_id, document.model_copy(update={"korea": korea}))

    def record_storage(
        self, passport_id: PassportIdLike, document: BatteryPassport, storage: StorageRecord
    ) -> IssuedVersion:
        """Append ``storage`` (custodian) as the next version."""
        korea = document.korea.model_copy(
            update={"storage_records": [*document.korea.storage_records, storage]}
        )
        return self.passports.update(passport_id, document.model_copy(update={"korea": korea}))
