"""The pilot's safety step: inspections around every used-pack transfer, and injected incidents.

Hooked into ``Pilot.retire`` for each removed pack that goes on to a second life (the recycling route
needs no inspection: a recycler may always take a battery):

1. for the first ``SafetyConfig.incidents`` such packs, an incident is recorded as a passport version;
   the first ``SafetyConfig.serious`` of them are serious (a thermal event reported by the collector, the
   custodian), which flags the battery on-chain. The pilot then *tries* the transfer to the repurposer,
   and the registry refuses it (``SafetyRecordsPassportFlagged``: counted as a blocked transfer); an
   inspector's passed clearance inspection lifts the flag. The others are minor (a deep discharge a
   workshop reported, written by the inspector);
2. a pre-distribution inspection (passed, valid ``inspection_validity_days``) before the transfer;
3. a post-distribution inspection once the receiving business holds the pack.

Each is a signed passport version (``passport.service.SafetyRecords``) written on the current document,
so nothing recorded earlier is lost; ``report()`` counts them for the pilot's JSON report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from passport.chain.records import TxReceipt
from passport.errors import ContractRevert
from passport.ids import passport_id_bytes32
from passport.model import AccessTier, BatteryPassport, InspectionCheck, Organisation, SafetyInspection
from passport.model.korea import InspectionResult, InspectionStage
from passport.model.performance import NegativeEvent, NegativeEventKind
from passport.model.safety import ReporterRole
from passport.service import IssuedVersion, PassportService, SafetyRecords
from scripts.errors import PilotError

INSPECTOR = Organisation(name="Pilot safety inspection body", identifier="KR-PILOT-INSPECT")
METHOD = "visual, insulation resistance and cell voltage checks (pilot procedure)"
EQUIPMENT = ["insulation tester", "cell voltage logger"]


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """How many removed packs get an injected incident, and how many of those are serious."""

    incidents: int = 3
    serious: int = 1
    inspection_validity_days: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.serious <= self.incidents:
            raise ValueError("serious must be between 0 and incidents")
        if self.inspection_validity_days < 1:
            raise ValueError("inspection_validity_days must be at least 1")


class SafetyPilot:
    """Writes the pilot's inspections and incidents and counts them."""

    def __init__(
        self,
        config: SafetyConfig,
        *,
        inspector: PassportService,
        custodian: PassportService,
        chain_time: Callable[[], int],
        tx: Callable[[str, TxReceipt], TxReceipt],
    ) -> None:
        self.config = config
        self._inspector = SafetyRecords(inspector)
        self._custodian = SafetyRecords(custodian)
        self._chain_time = chain_time
        self._tx = tx
        self.transfers = 0
        self.inspections: Counter[str] = Counter()
        self.incidents: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()
        self.cleared = 0
        self.flagged: list[UUID] = []

    def _document(self, pid: UUID) -> BatteryPassport:
        return self._inspector.passports.fetch(pid, frozenset(AccessTier)).passport()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._chain_time(), UTC)

    def _write(self, kind: str, issued: IssuedVersion) -> None:
        self._tx(kind, issued.receipt)

    def _inspect(self, pid: UUID, stage: InspectionStage) -> None:
        now = self._now()
        inspection = SafetyInspection(
            stage=stage,
            inspected_at=now,
            inspector=INSPECTOR,
            result=InspectionResult.PASS,
            method=METHOD,
            equipment=EQUIPMENT,
            checks=[
                InspectionCheck(name="casing integrity", passed=True),
                InspectionCheck(name="insulation resistance", passed=True, value=">500 MOhm"),
                InspectionCheck(name="cell voltage spread", passed=True),
            ],
            valid_until=now + timedelta(days=self.config.inspection_validity_days),
        )
        self._write(
            "record_inspection", self._inspector.record_inspection(pid, self._document(pid), inspection)
        )
        self.inspections[stage.value] += 1

    def before_distribution(self, pid: UUID, offer: Callable[[], TxReceipt]) -> None:
        """Inject this pack's incident if it is due one, then inspect it before the transfer.

        ``offer`` makes the custody offer; it is tried while a serious incident's flag is open, and the
        registry must refuse it.
        """
        index = self.transfers
        self.transfers += 1
        if index < self.config.incidents:
            serious = index < self.config.serious
            self._incident(pid, serious)
            if serious:
                try:
                    offer()
                except ContractRevert as refused:
                    self.blocked[refused.error] += 1
                else:
                    raise PilotError(f"passport {pid}: a flagged battery's custody offer was accepted")
                self._inspect(pid, InspectionStage.CLEARANCE)
                if self._inspector.state(pid).flagged:
                    raise PilotError(f"passport {pid}: a passed clearance left the flag on")
                self.cleared += 1
        self._inspect(pid, InspectionStage.PRE_DISTRIBUTION)

    def after_distribution(self, pid: UUID) -> None:
        """The receiving business's post-distribution inspection (recorded by the inspector)."""
        self._inspect(pid, InspectionStage.POST_DISTRIBUTION)

    def _incident(self, pid: UUID, serious: bool) -> None:
        now = self._now()
        if serious:
            event = NegativeEvent(
                kind=NegativeEventKind.THERMAL_EVENT,
                occurred_at=now,
                description="cell venting and smoke during collection (injected by the pilot)",
                reported_by="pilot collector",
                reporter_role=ReporterRole.CUSTODIAN,
                serious=True,
            )
            issued = self._custodian.report_incident(pid, self._document(pid), event)
            self.flagged.append(pid)
        else:
            event = NegativeEvent(
                kind=NegativeEventKind.DEEP_DISCHARGE,
                occurred_at=now,
                description="left fully discharged for weeks before removal (injected by the pilot)",
                reported_by="pilot workshop",
                reporter_role=ReporterRole.WORKSHOP,
            )
            issued = self._inspector.report_incident(pid, self._document(pid), event)
        self._write("record_incident", issued)
        self.incidents["serious" if serious else "minor"] += 1

    def report(self) -> dict[str, Any]:
        """Counts for the pilot report; ``flags_open`` is read back from the ledger."""
        chain = self._inspector.passports.chain
        still = sum(1 for pid in self.flagged if chain.get_safety_state(passport_id_bytes32(pid)).flagged)
        return {
            "transfers_inspected": self.transfers,
            "inspections": dict(sorted(self.inspections.items())),
            "inspections_total": sum(self.inspections.values()),
            "incidents": dict(sorted(self.incidents.items())),
            "incidents_total": sum(self.incidents.values()),
            "blocked_transfers": dict(sorted(self.blocked.items())),
            "blocked_total": sum(self.blocked.values()),
            "cleared": self.cleared,
            "flags_open": still,
        }
