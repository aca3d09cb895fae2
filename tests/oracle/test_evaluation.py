"""The passport's A-D evaluation record from ``oracle.health``'s three routes (``oracle.evaluation``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devtools.samples import sample_passport
from oracle.errors import UngradableBattery, UnknownGradingPolicy
from oracle.evaluation import REPURPOSE_B_FLOOR_PCT, as_evaluation, evaluation_grade, rated_values
from oracle.health import (
    CURRENT_GRADING_POLICY,
    Grade,
    GradingPolicy,
    HealthAssessment,
    RatedValues,
    evaluate_health,
    grading_policy,
)
from oracle.readings import DiagnosticSnapshot, parse_reading
from passport.canonical import canonical_digest, canonical_json
from passport.model import (
    BatteryCategory,
    EvaluationGrade,
    Organisation,
    PerformanceEvaluation,
    SecondLifeRoute,
)
from tests.builders import diagnostics

EV = RatedValues(category=BatteryCategory.EV, rated_capacity_ah=200, initial_internal_resistance_mohm=80)


def assessment() -> HealthAssessment:
    reading = parse_reading(canonical_json(diagnostics()))
    assert isinstance(reading, DiagnosticSnapshot)
    return evaluate_health(
        "KR-BUSAN-BAT-00001", EV, reading, evaluator="test", evaluated_at=datetime(2025, 4, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("grade", "soh", "uncertainty", "expected"),
    [
        ("reuse_or_remanufacture", 97.0, 2.0, EvaluationGrade.A),
        ("repurpose", REPURPOSE_B_FLOOR_PCT + 2.0, 2.0, EvaluationGrade.B),  # lower bound on the floor
        ("repurpose", REPURPOSE_B_FLOOR_PCT + 1.9, 2.0, EvaluationGrade.C),  # lower bound just below it
        ("repurpose", 81.0, 0.0, EvaluationGrade.C),
        ("recycle", 95.0, 0.0, EvaluationGrade.D),  # e.g. forced by a safety event: D whatever the SoH
    ],
)
def test_grades(grade: Grade, soh: float, uncertainty: float, expected: EvaluationGrade) -> None:
    graded = assessment().model_copy(
        update={"grade": grade, "soh_pct": soh, "soh_uncertainty_pct": uncertainty}
    )
    assert evaluation_grade(graded) is expected


def test_the_record_carries_the_assessment() -> None:
    result = assessment()
    record = as_evaluation(result, evaluator=Organisation(name="Inspector Co"), method="BMS diagnostics")
    assert record.grade is evaluation_grade(result)
    assert (
        record.recommendation
        is {
            "reuse_or_remanufacture": SecondLifeRoute.REUSE,
            "repurpose": SecondLifeRoute.REPURPOSE,
            "recycle": SecondLifeRoute.RECYCLE,
        }[result.grade]
    )
    assert record.state_of_health_percent == min(100.0, result.soh_pct)
    assert record.remaining_capacity_ah == result.inputs.diagnostics.capacity_ah
    assert record.evaluator.name == "Inspector Co"
    assert record.notes == "; ".join(result.reasons)


def test_rated_values_from_the_passport() -> None:
    passport = sample_passport()
    rated = rated_values(passport)
    assert rated.rated_capacity_ah == passport.performance.rated.capacity.rated_ah
    assert rated.initial_internal_resistance_mohm == pytest.approx(
        passport.performance.rated.resistance.pack_ohm * 1000
    )


def test_a_category_without_a_grading_method_is_refused() -> None:
    passport = sample_passport()
    sli = passport.model_copy(
        update={"general": passport.general.model_copy(update={"category": BatteryCategory.SLI})}
    )
    with pytest.raises(UngradableBattery, match=r"(?i)sli"):
        rated_values(sli)


def test_the_record_names_the_policy_version_it_was_graded_under() -> None:
    result = assessment()
    record = as_evaluation(result, evaluator=Organisation(name="Inspector Co"), method="BMS diagnostics")
    assert record.grading_policy is not None
    assert record.grading_policy.id == CURRENT_GRADING_POLICY
    # The digest recomputes from the registry's version, and from the assessment's own copy of it.
    assert record.grading_policy.digest == grading_policy(record.grading_policy.id).digest
    assert record.grading_policy.digest == canonical_digest(result.policy.model_dump(mode="json")).hex()
    # It survives the passport's JSON round trip (the record is committed by digest).
    again = PerformanceEvaluation.model_validate_json(record.model_dump_json())
    assert again.grading_policy == record.grading_policy


@pytest.mark.parametrize(
    "policy",
    [
        GradingPolicy(id="caller-chosen", repurpose_min_soh_pct=10.0),
        GradingPolicy(id=CURRENT_GRADING_POLICY, remanufacture_min_soh_pct=50.0),  # a lookalike
    ],
    ids=["unregistered id", "registered id, other thresholds"],
)
def test_only_registered_versions_are_recorded(policy: GradingPolicy) -> None:
    reading = assessment().inputs.diagnostics
    graded = evaluate_health("KR-BUSAN-BAT-00001", EV, reading, policy=policy, evaluator="test")
    with pytest.raises(UnknownGradingPolicy):
        as_evaluation(graded, evaluator=Organisation(name="Inspector Co"), method="BMS diagnostics")
