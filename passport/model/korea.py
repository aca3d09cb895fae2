"""Korean battery life-cycle extensions (배터리 전주기 이력관리).

Korea's life-cycle system adds three kinds of record to the EU attribute set: the performance
evaluation of an EV battery before it is removed from the vehicle (탈거 전 성능평가), safety
inspections of a used battery before and after it is distributed for reuse (안전검사), and
certificates for recycled material (재생원료 인증).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.access import LegitimateInterest, Public
from passport.model.documents import DocumentRef, Sha256Hex
from passport.model.parties import Organisation
from passport.model.safety import InspectionCheck, Shipment, StorageRecord
from passport.model.units import AmpereHours, Percent

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
#: A grading policy version's name, e.g. ``kr-2026-1``.
PolicyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class EvaluationGrade(StrEnum):
    """Grade of a used-battery performance evaluation, best first."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class SecondLifeRoute(StrEnum):
    """What an evaluation recommends doing with the battery next."""

    REUSE = "reuse"
    REPURPOSE = "repurpose"
    REMANUFACTURE = "remanufacture"
    RECYCLE = "recycle"


class GradingPolicyRef(PassportModel):
    """The grading policy version an evaluation was graded under: its id and the SHA-256 of its RFC 8785
    canonical JSON, so a reader can tell which thresholds produced the grade and check them."""

    id: PolicyId
    digest: Sha256Hex


class PerformanceEvaluation(PassportModel):
    """The result of evaluating a battery's performance before its removal from the vehicle.

    ``grading_policy`` is set when the grade was computed by this ledger's oracle; an evaluation made by
    an outside body under its own procedure (``method``, ``report``) has none.
    """

    evaluated_at: AwareDatetime
    evaluator: Organisation
    method: Name  # the test procedure or standard followed
    state_of_health_percent: Percent
    remaining_capacity_ah: AmpereHours | None = None
    grade: EvaluationGrade
    recommendation: SecondLifeRoute
    report: DocumentRef | None = None
    notes: Note | None = None
    grading_policy: GradingPolicyRef | None = None


class InspectionStage(StrEnum):
    """When a safety inspection took place relative to the used battery's distribution."""

    PRE_DISTRIBUTION = "pre_distribution"
    POST_DISTRIBUTION = "post_distribution"
    CLEARANCE = "clearance"  # after a serious incident, to lift the battery's flag


class InspectionResult(StrEnum):
    """Outcome of a safety inspection."""

    PASS = "pass"  # noqa: S105 -- an inspection outcome, not a password
    CONDITIONAL_PASS = "conditional_pass"  # noqa: S105 -- likewise
    FAIL = "fail"


class SafetyInspection(PassportModel):
    """A safety inspection of this battery: who, when, how, the result per check, and what was found.

    Only a ``pass`` counts as passed on the ledger (a conditional pass still has conditions to meet);
    ``valid_until`` is when a passed result lapses.
    """

    stage: InspectionStage
    inspected_at: AwareDatetime
    inspector: Organisation
    result: InspectionResult
    findings: list[Note] = Field(default_factory=list)
    certificate_number: Name | None = None
    report: DocumentRef | None = None
    method: Name | None = None  # the procedure or standard followed
    equipment: list[Name] = Field(default_factory=list)
    checks: list[InspectionCheck] = Field(default_factory=list)
    valid_until: AwareDatetime | None = None
    evidence: list[DocumentRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _failures_say_why(self) -> SafetyInspection:
        if self.result is not InspectionResult.PASS and not self.findings:
            raise ValueError(f"a {self.result.value} inspection must list its findings")
        if self.valid_until is not None and self.valid_until <= self.inspected_at:
            raise ValueError("valid_until must be after inspected_at")
        return self

    @property
    def passed(self) -> bool:
        return self.result is InspectionResult.PASS


class RecycledMaterialCertificate(PassportModel):
    """A certificate for recycled material used in the battery."""

    certificate_id: Name
    issuer: Organisation
    material: Name  # e.g. "nickel", "cobalt sulfate"
    recycled_share_percent: Percent
    issued_on: date
    valid_until: date | None = None
    document: DocumentRef | None = None

    @model_validator(mode="after")
    def _validity_ordered(self) -> RecycledMaterialCertificate:
        if self.valid_until is not None and self.valid_until < self.issued_on:
            raise ValueError("valid_until is before issued_on")
        return self


class KoreanExtensions(PassportModel):
    """Korean life-cycle records. Evaluations and inspections describe one battery: never public."""

    performance_evaluations: LegitimateInterest[list[PerformanceEvaluation]] = Field(default_factory=list)
    safety_inspections: LegitimateInterest[list[SafetyInspection]] = Field(default_factory=list)
    # Transport and storage of the used battery (the conditions Korea's used-battery rules set).
    shipments: LegitimateInterest[list[Shipment]] = Field(default_factory=list)
    storage_records: LegitimateInterest[list[StorageRecord]] = Field(default_factory=list)
    # Certificates back the public recycled-content declaration, so they are public like it.
    recycled_material_certificates: Public[list[RecycledMaterialCertificate]] = Field(default_factory=list)
