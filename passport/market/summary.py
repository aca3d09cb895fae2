"""The listing summary: what a buyer is shown, built only from a verified passport.

Every value names where it came from (the evaluation that set the grade, the inspection, the reading),
so a buyer can check it against the passport; the summary's digest goes into the signed sale terms.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from passport.canonical import canonical_digest
from passport.model import BatteryPassport
from passport.model.korea import InspectionStage, PerformanceEvaluation, SafetyInspection
from passport.model.units import WarrantyUnit


class Provenance(BaseModel):
    """Who produced a value, when, how, and under which policy or document."""

    model_config = ConfigDict(frozen=True)

    source: str  # the passport attribute it was read from
    by: str | None = None
    at: datetime | None = None
    method: str | None = None
    policy: str | None = None
    document: str | None = None


class GradeDisclosure(BaseModel):
    model_config = ConfigDict(frozen=True)

    grade: str
    state_of_health_percent: float
    evaluated_at: datetime
    provenance: Provenance


class InspectionDisclosure(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    result: str
    inspected_at: datetime
    inspector: str
    certificate_number: str | None = None
    findings: list[str] = []


class NegativeEventDisclosure(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    occurred_at: datetime
    description: str


class WarrantyDisclosure(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: float
    unit: str
    counted_from: date | None = None
    remaining: float | None = None  # in ``unit``; None when it cannot be worked out


class CustodyStep(BaseModel):
    """One custody transfer (a public lifecycle fact from the ledger's events)."""

    model_config = ConfigDict(frozen=True)

    from_address: str
    to_address: str
    block_number: int
    at: int | None = None
    from_name: str | None = None
    to_name: str | None = None


class ListingSummary(BaseModel):
    """The verified passport, as the market discloses it."""

    model_config = ConfigDict(frozen=True)

    passport_id: str
    version: int
    manifest_digest: str
    chemistry: str
    rated_capacity_ah: float
    status: str
    grade: GradeDisclosure | None
    latest_inspection: InspectionDisclosure | None
    pre_distribution_inspection: InspectionDisclosure | None
    post_distribution_inspection: InspectionDisclosure | None
    negative_events: list[NegativeEventDisclosure]
    warranty: WarrantyDisclosure | None
    custody: list[CustodyStep]
    verified_checks: int

    def digest(self) -> bytes:
        """SHA-256 of the summary's canonical JSON (what the sale terms commit to)."""
        return canonical_digest(self.model_dump(mode="json"))

    @property
    def soh_band(self) -> str | None:
        """The 10-point state-of-health band (``80-90``) the price index groups by."""
        if self.grade is None:
            return None
        low = min(90, int(self.grade.state_of_health_percent // 10) * 10)
        return f"{low}-{low + 10}"


def latest_evaluation(passport: BatteryPassport) -> PerformanceEvaluation | None:
    evaluations = passport.korea.performance_evaluations
    return max(evaluations, key=lambda e: e.evaluated_at) if evaluations else None


def latest_inspection(
    passport: BatteryPassport, stage: InspectionStage | None = None
) -> SafetyInspection | None:
    found = [i for i in passport.korea.safety_inspections if stage is None or i.stage is stage]
    return max(found, key=lambda i: i.inspected_at) if found else None


def _inspection(found: SafetyInspection | None) -> InspectionDisclosure | None:
    if found is None:
        return None
    return InspectionDisclosure(
        stage=found.stage.value,
        result=found.result.value,
        inspected_at=found.inspected_at,
        inspector=found.inspector.name or found.inspector.identifier or "unnamed",
        certificate_number=found.certificate_number,
        findings=list(found.findings),
    )


def _grade(passport: BatteryPassport) -> GradeDisclosure | None:
    evaluation = latest_evaluation(passport)
    if evaluation is None:
        return None
    policy = evaluation.grading_policy
    return GradeDisclosure(
        grade=evaluation.grade.value,
        state_of_health_percent=float(evaluation.state_of_health_percent),
        evaluated_at=evaluation.evaluated_at,
        provenance=Provenance(
            source="korea.performance_evaluations",
            by=evaluation.evaluator.name or evaluation.evaluator.identifier,
            at=evaluation.evaluated_at,
            method=evaluation.method,
            policy=None if policy is None else f"{policy.id} sha256:{policy.digest}",
            document=None if evaluation.report is None else evaluation.report.content,
        ),
    )


_DAYS = {WarrantyUnit.DAY: 1.0, WarrantyUnit.MONTH: 30.4375, WarrantyUnit.YEAR: 365.25}


def _warranty(passport: BatteryPassport, now: datetime) -> WarrantyDisclosure | None:
    warranty = passport.general.warranty
    if warranty is None:
        return None
    start = passport.general.put_into_service or passport.general.placed_on_market
    remaining: float | None = None
    if warranty.unit in _DAYS and start is not None:
        end = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            days=warranty.value * _DAYS[warranty.unit]
        )
        remaining = round(max(0.0, (end - now).total_seconds() / 86_400 / _DAYS[warranty.unit]), 2)
    elif warranty.unit is WarrantyUnit.CYCLE:
        cycles = passport.performance.dynamic.full_cycles
        if cycles is not None:
            remaining = max(0.0, warranty.value - float(cycles.value))
    return WarrantyDisclosure(
        value=warranty.value, unit=warranty.unit.value, counted_from=start, remaining=remaining
    )


def build_summary(
    passport: BatteryPassport,
    *,
    version: int,
    manifest_digest: bytes,
    status: str,
    custody: list[CustodyStep],
    verified_checks: int,
    now: datetime,
) -> ListingSummary:
    """The summary of a passport that has passed verification (the caller verifies first)."""
    events = sorted(passport.performance.dynamic.negative_events, key=lambda e: e.occurred_at)
    return ListingSummary(
        passport_id=str(uuid.UUID(str(passport.passport_id))),
        version=version,
        manifest_digest="0x" + manifest_digest.hex(),
        chemistry=passport.materials.chemistry.value,
        rated_capacity_ah=float(passport.performance.rated.capacity.rated_ah),
        status=status,
        grade=_grade(passport),
        latest_inspection=_inspection(latest_inspection(passport)),
        pre_distribution_inspection=_inspection(
            latest_inspection(passport, InspectionStage.PRE_DISTRIBUTION)
        ),
        post_distribution_inspection=_inspection(
            latest_inspection(passport, InspectionStage.POST_DISTRIBUTION)
        ),
        negative_events=[
            NegativeEventDisclosure(kind=e.kind.value, occurred_at=e.occurred_at, description=e.description)
            for e in events
        ],
        warranty=_warranty(passport, now),
        custody=custody,
        verified_checks=verified_checks,
    )
