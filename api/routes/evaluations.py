"""Performance evaluations: grade a battery from its journaled telemetry and record the result as a new
passport version (the Korean pre-removal evaluation, 탈거 전 성능평가).

``POST`` (inspector role) reads the battery's rated values from its passport, asks ``oracle.health`` for
a state-of-health assessment from the latest journaled diagnostic snapshot and every safety event, graded
under the server's configured grading policy version (never thresholds from the request), maps
it onto the record's A-D grade (``oracle.evaluation``), appends it to the passport's
``korea.performance_evaluations`` and writes the next version through the passport service (the
registry lets inspectors update any open passport). ``GET`` lists the recorded evaluations to callers
who may read the ``legitimate_interest`` tier, where they live.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from api.deps import InspectorCaller, MaybeCaller, OpenRecord, PassportId, ReadableTiers, ServicesDep
from api.errors import Conflict, Forbidden
from api.openapi import raises
from api.owners import log_restricted_read
from api.schemas import PassportVersionPublic
from oracle.evaluation import as_evaluation, rated_values
from oracle.health import GRADING_POLICIES, HealthAssessment, evaluate_from_journal
from passport.model import (
    AccessTier,
    Organisation,
    PerformanceEvaluation,
)

router = APIRouter(tags=["evaluations"])
_POLICY_IDS: list[JsonValue] = list(sorted(GRADING_POLICIES))


class EvaluationCreate(BaseModel):
    """Who evaluated and how; the figures come from the battery's journaled telemetry and the thresholds
    from the server's grading policy, so a body carrying thresholds (or any unknown field) is refused."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(default="BMS diagnostics via the collection device", min_length=1, max_length=200)
    evaluator_name: str | None = Field(default=None, min_length=1, max_length=200)
    evaluator_id: str | None = Field(default=None, min_length=1, max_length=100)
    policy_id: Annotated[str, Field(max_length=64, json_schema_extra={"enum": _POLICY_IDS})] | None = Field(
        default=None,
        description="The grading policy version the caller expects; 409 if the server grades under another.",
    )

    @field_validator("policy_id")
    @classmethod
    def _known(cls, policy_id: str | None) -> str | None:
        if policy_id is not None and policy_id not in GRADING_POLICIES:
            raise ValueError(f"unknown grading policy; known versions: {', '.join(sorted(GRADING_POLICIES))}")
        return policy_id


class EvaluationPublic(BaseModel):
    assessment: HealthAssessment
    evaluation: PerformanceEvaluation
    version: PassportVersionPublic


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
    policy = services.grading
    if body.policy_id is not None and body.policy_id != policy.id:
        raise Conflict(f"this server grades under policy {policy.id}, not {body.policy_id}")
    writer = services.passports_for(caller)
    journal, _, _ = services.oracle()
    passport = services.current_document(pid)
    assessment = evaluate_from_journal(
        journal, passport.battery_id, rated_values(passport), policy=policy, evaluator=caller.name
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
@raises(403, 502)
def list_evaluations(
    caller: MaybeCaller, pid: PassportId, tiers: ReadableTiers, services: ServicesDep
) -> list[PerformanceEvaluation]:
    """The recorded evaluations (``legitimate_interest`` tier: owners, custodians, inspectors, …)."""
    if AccessTier.LEGITIMATE_INTEREST not in tiers:
        raise Forbidden(
            "evaluations are legitimate-interest data; this caller may not read them for this battery"
        )
    fetched = services.passports_for(None).fetch(pid, tiers)
    log_restricted_read(services, caller, pid, fetched.record, tiers, "evaluations")
    raw = fetched.view.get("korea.performance_evaluations", [])
    return [PerformanceEvaluation.model_validate(item) for item in raw]
