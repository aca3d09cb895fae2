"""The recorded performance evaluation: ``oracle.health``'s assessment as the passport's A-D record.

``oracle.health`` grades a battery onto one of three routes (reuse or remanufacture, repurpose,
recycle). The Korean pre-removal evaluation (탈거 전 성능평가) the passport carries records an A-D grade
and a second-life route; this module is the one mapping between the two, and the one place that reads
the rated figures to grade against from a passport. The record names the grading policy version (id
and digest) the grade was computed under; only registered versions are recorded.
"""

from __future__ import annotations

from typing import Final

from oracle.errors import UngradableBattery
from oracle.health import GRADED_CATEGORIES, Grade, HealthAssessment, RatedValues, registered_policy
from passport.model import (
    BatteryPassport,
    EvaluationGrade,
    Organisation,
    PerformanceEvaluation,
    SecondLifeRoute,
)

ROUTES: Final[dict[Grade, SecondLifeRoute]] = {
    "reuse_or_remanufacture": SecondLifeRoute.REUSE,
    "repurpose": SecondLifeRoute.REPURPOSE,
    "recycle": SecondLifeRoute.RECYCLE,
}
#: Repurposable batteries are split into B and C at this SoH, graded on the lower bound like the route.
REPURPOSE_B_FLOOR_PCT: Final = 85.0
#: The record's notes field holds at most this many characters.
_NOTES_MAX: Final = 2000


def rated_values(passport: BatteryPassport) -> RatedValues:
    """The beginning-of-life figures ``oracle.health`` grades against, from the passport's public data.

    Raises ``UngradableBattery`` for a category the grading methods do not cover (e.g. SLI).
    """
    category = passport.general.category
    if category not in GRADED_CATEGORIES:
        raise UngradableBattery(
            f"{passport.general.category.value} batteries are not graded: general.category must be EV, "
            "LMT or industrial"
        )
    rated = passport.performance.rated
    return RatedValues(
        category=category,
        rated_capacity_ah=rated.capacity.rated_ah,
        initial_internal_resistance_mohm=rated.resistance.pack_ohm * 1000,
    )


def evaluation_grade(assessment: HealthAssessment) -> EvaluationGrade:
    """A-D: reuse is A, recycle D, and repurpose B or C split at ``REPURPOSE_B_FLOOR_PCT``."""
    if assessment.grade == "reuse_or_remanufacture":
        return EvaluationGrade.A
    if assessment.grade == "recycle":
        return EvaluationGrade.D
    lower = assessment.soh_pct - assessment.soh_uncertainty_pct
    return EvaluationGrade.B if lower >= REPURPOSE_B_FLOOR_PCT else EvaluationGrade.C


def as_evaluation(
    assessment: HealthAssessment, *, evaluator: Organisation, method: str
) -> PerformanceEvaluation:
    """The passport's evaluation record for ``assessment``, made by ``evaluator`` with ``method``.

    Raises ``UnknownGradingPolicy`` if the assessment was graded under anything but a registered policy
    version: a passport records only grades whose thresholds a reader can look up by id and digest.
    """
    policy = registered_policy(assessment.policy)
    return PerformanceEvaluation(
        evaluated_at=assessment.evaluated_at,
        evaluator=evaluator,
        method=method,
        # The record's SoH is a percentage of rated capacity; a fresh pack can measure a little above.
        state_of_health_percent=max(0.0, min(100.0, assessment.soh_pct)),
        remaining_capacity_ah=assessment.inputs.diagnostics.capacity_ah,
        grade=evaluation_grade(assessment),
        recommendation=ROUTES[assessment.grade],
        notes="; ".join(assessment.reasons)[:_NOTES_MAX] or None,
        grading_policy=policy.ref,
    )
