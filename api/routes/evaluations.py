"""Performance evaluations: grade a battery from its journaled telemetry and record the result as a new
passport version (the Korean pre-removal evaluation, 탈거 전 성능평가).

``POST`` (inspector role) reads the battery's rated values from its passport, asks ``oracle.health`` for
a state-of-health assessment from the latest journaled diagnostic snapshot and every safety event,
appends it to the passport's ``korea.performance_evaluations`` and writes the next version through the
passport service (the registry lets inspectors update any open passport). ``GET`` lists the recorded
evaluations to callers who may read the ``legitimate_interest`` tier, where they live.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import InspectorCaller, OpenRecord, PassportId, ReadableTiers, ServicesDep
from api.errors import ApiError, Forbidden
from api.openapi import raises
from api.schemas import PassportVersionPublic
from oracle.health import (
    GRADED_CATEGORIES,
    Grade,
    GradingPolicy,
    HealthAssessment,
    RatedValues,
    evaluate_from_journal,
)
from passport.model import (
    AccessTier,
    BatteryPassport,
    EvaluationGrade,
    Organisation,
    PerformanceEvaluation,
    SecondLifeRoute,
)

router = APIRouter(tags=["evaluations"])

_ROUTES: dict[Grade, SecondLifeRoute] = {
    "reuse_or_remanufacture": SecondLifeRoute.REUSE,
    "repurpose": SecondLifeRoute.REPURPOSE,
    "recycle": SecondLifeRoute.RECYCLE,
}
# A-D is the grade the Korean record carries; the oracle's three routes map onto it, with repurposable
# batteries split at 85 % (graded on the lower bound, like the route itself).
_REPURPOSE_B_FLOOR = 85.0


class EvaluationCreate(BaseModel):
    """Who evaluated and how; the figures come from the battery's journaled telemetry."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(default="BMS diagnostics via the collection device", min_length=1, max_length=200)
    evaluator_name: str | None = Field(default=None, min_length=1, max_length=200)
    evaluator_id: str | None = Field(default=None, min_length=1, max_length=100)
    policy: GradingPolicy = Field(default_factory=GradingPolicy)


class EvaluationPublic(BaseModel):
    assessment: HealthAssessment
    evaluation: PerformanceEvaluation
    version: PassportVersionPublic


def rated_values(passport: BatteryPassport) -> RatedValues:
    """The beginning-of-life figures ``oracle.health`` grades against, from the passport's public data."""
    category = passport.general.category
    if category not in GRADED_CATEGORIES:
        raise ApiError(
            f"{category.value} batteries are not graded",
            status=422,
            title="Cannot evaluate",
            errors=[{"field": "general.category", "reason": "must be EV, LMT or industrial"}],
        )
    rated = passport.performance.rated
    return RatedValues(
        category=category,
        rated_capacity_ah=rated.capacity.rated_ah,
        initial_internal_resistance_mohm=rated.resistance.pack_ohm * 1000,
    )


def as_evaluation(
    assessment: HealthAssessment, body: EvaluationCreate, fallback_name: str
) -> PerformanceEvaluation:
    lower = assessment.soh_pct - assessment.soh_uncertainty_pct
    grade = {
        "reuse_or_remanufacture": EvaluationGrade.A,
        "repurpose": EvaluationGrade.B if lower >= _REPURPOSE_B_FLOOR else EvaluationGrade.C,
        "recycle": EvaluationGrade.D,
    }[assessment.grade]
    diagnostics = assessment.inputs.diagnostics
    return PerformanceEvaluation(
        evaluated_at=assessment.evaluated_at,
        evaluator=Organisation(name=body.evaluator_name or fallback_name, identifier=body.evaluator_id),
        method=body.method,
        # The record's SoH is a percentage of rated capacity; a fresh pack can measure a little above.
        state_of_health_percent=max(0.0, min(100.0, assessment.soh_pct)),
        remaining_capacity_ah=diagnostics.capacity_ah,
        grade=grade,
        recommendation=_ROUTES[assessment.grade],
        notes="; ".join(assessment.reasons)[:2000] or None,
    )


@router.post("/passports/{passport_id}/evaluations", status_code=201, operation_id="record_evaluation")
@raises(409, 502)
def record_evaluation(
    caller: InspectorCaller,
    pid: PassportId,
    record: OpenRecord,
    body: EvaluationCreate,
    services: ServicesDep,
) -> EvaluationPublic:
    """Grade the battery from its telemetry and record the evaluation as a new passport version."""
    writer = services.passports_for(caller)
    journal, _, _ = services.oracle()
    passport = services.current_document(pid)
    assessment = evaluate_from_journal(
        journal, passport.battery_id, rated_values(passport), policy=body.policy, evaluator=caller.name
    )
    evaluation = as_evaluation(assessment, body, caller.name)
    korea = passport.korea.model_copy(
        update={"performance_evaluations": [*passport.korea.performance_evaluations, evaluation]}
    )
    issued = writer.update(pid, passport.model_copy(update={"korea": korea}))
    return EvaluationPublic(
        assessment=assessment, evaluation=evaluation, version=PassportVersionPublic.of(issued)
    )


@router.get("/passports/{passport_id}/evaluations", operation_id="list_evaluations")
@raises(403, 502)
def list_evaluations(
    pid: PassportId, tiers: ReadableTiers, services: ServicesDep
) -> list[PerformanceEvaluation]:
    """The recorded evaluations (``legitimate_interest`` tier: owners, custodians, inspectors, …)."""
    if AccessTier.LEGITIMATE_INTEREST not in tiers:
        raise Forbidden(
            "evaluations are legitimate-interest data; this caller may not read them for this battery"
        )
    fetched = services.passports_for(None).fetch(pid, tiers)
    raw = fetched.view.get("korea.performance_evaluations", [])
    return [PerformanceEvaluation.model_validate(item) for item in raw]
