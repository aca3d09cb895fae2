"""Performance evaluations: grade a battery from its journaled telemetry and record the result as a new
passport version (the Korean pre-removal evaluation, 탈거 전 성능평가).

``POST`` (inspector role) reads the battery's rated values from its passport, asks ``oracle.health`` for
a state-of-health assessment from the latest journaled diagnostic snapshot and every safety event, maps
it onto the record's A-D grade (``oracle.evaluation``), appends it to the passport's
``korea.performance_evaluations`` and writes the next version through the passport service (the
registry lets inspectors update any open passport). ``GET`` lists the recorded evaluations to callers
who may read the ``legitimate_interest`` tier, where they live.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import InspectorCaller, OpenRecord, PassportId, ReadableTiers, ServicesDep
from api.errors import Forbidden
from api.schemas import PassportVersionPublic
from oracle.evaluation import as_evaluation, rated_values
from oracle.health import GradingPolicy, HealthAssessment, evaluate_from_journal
from passport.model import (
    AccessTier,
    Organisation,
    PerformanceEvaluation,
)

router = APIRouter(tags=["evaluations"])


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


@router.post("/passports/{passport_id}/evaluations", status_code=201, operation_id="record_evaluation")
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
    evaluator = Organisation(name=body.evaluator_name or caller.name, identifier=body.evaluator_id)
    evaluation = as_evaluation(assessment, evaluator=evaluator, method=body.method)
    korea = passport.korea.model_copy(
        update={"performance_evaluations": [*passport.korea.performance_evaluations, evaluation]}
    )
    issued = writer.update(pid, passport.model_copy(update={"korea": korea}))
    return EvaluationPublic(
        assessment=assessment, evaluation=evaluation, version=PassportVersionPublic.of(issued)
    )


@router.get("/passports/{passport_id}/evaluations", operation_id="list_evaluations")
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
