"""Health evaluation: SoH methods and the grading policy, table-driven."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785

from oracle.errors import ImplausibleReading, InsufficientData, ReadingRejected, UnknownGradingPolicy
from oracle.health import (
    CURRENT_GRADING_POLICY,
    GRADING_POLICIES,
    GradingPolicy,
    RatedValues,
    evaluate_from_journal,
    evaluate_health,
    grading_policy,
    registered_policy,
)
from oracle.readings import DiagnosticSnapshot, SafetyEvent
from passport.model import BatteryCategory
from tests.builders import diagnostics, reading_model, safety
from tests.oracle.oracle_samples import Fleet

EV = RatedValues(category=BatteryCategory.EV, rated_capacity_ah=200, initial_internal_resistance_mohm=80)
# Stationary storage is an industrial battery (EU 2023/1542 Art. 3): graded on Annex VII, Part A.
STATIONARY = RatedValues(
    category=BatteryCategory.INDUSTRIAL, rated_capacity_ah=200, initial_internal_resistance_mohm=80
)
WHEN = datetime(2025, 4, 1, tzinfo=UTC)


def snap(**overrides: Any) -> DiagnosticSnapshot:
    reading = reading_model("diagnostics", **overrides)
    assert isinstance(reading, DiagnosticSnapshot)
    return reading


def event(**overrides: Any) -> SafetyEvent:
    reading = reading_model("safety", **overrides)
    assert isinstance(reading, SafetyEvent)
    return reading


GRADES: list[tuple[str, RatedValues, dict[str, Any], list[dict[str, Any]], dict[str, Any], str, str]] = [
    # (case, rated, diagnostics overrides, safety events, policy overrides, grade, fragment of a reason)
    (
        "healthy EV",
        EV,
        {"soce_pct": 96, "capacity_ah": 195},
        [],
        {},
        "reuse_or_remanufacture",
        "cell SoH spread",
    ),
    (
        "EV at 92 % minus 2 % uncertainty",
        EV,
        {"soce_pct": 92, "capacity_ah": 190},
        [],
        {},
        "reuse_or_remanufacture",
        ">= 90",
    ),
    (
        "EV at 91 %: lower bound 89 %",
        EV,
        {"soce_pct": 91, "capacity_ah": 190},
        [],
        {},
        "repurpose",
        "< 90 % (remanufacture",
    ),
    (
        "EV at 91 %, point estimate",
        EV,
        {"soce_pct": 91, "capacity_ah": 190},
        [],
        {"grade_on_lower_bound": False},
        "reuse_or_remanufacture",
        ">= 90",
    ),
    (
        "EV cells unbalanced",
        EV,
        {"soce_pct": 96, "capacity_ah": 195, "cell_soh_spread_pct": 4.5},
        [],
        {},
        "repurpose",
        "cell SoH spread 4.5 pp > 3.0",
    ),
    (
        "EV, no per-cell SoH",
        EV,
        {"soce_pct": 96, "capacity_ah": 195, "cell_soh_spread_pct": None},
        [],
        {},
        "repurpose",
        "cannot be shown",
    ),
    (
        "EV, voltage proxy allowed",
        EV,
        {"soce_pct": 96, "capacity_ah": 195, "cell_soh_spread_pct": None},
        [],
        {"require_cell_soh_for_remanufacture": False},
        "reuse_or_remanufacture",
        "proxy",
    ),
    (
        "EV, proxy spread too wide",
        EV,
        {"soce_pct": 96, "capacity_ah": 195, "cell_soh_spread_pct": None, "cell_voltage_spread_mv": 80},
        [],
        {"require_cell_soh_for_remanufacture": False},
        "repurpose",
        "80 mV > 30 mV",
    ),
    (
        "EV SOCE ok but capacity low",
        EV,
        {"soce_pct": 96, "capacity_ah": 170},
        [],
        {},
        "repurpose",
        "capacity retention",
    ),
    ("EV at 84 %", EV, {"soce_pct": 84, "capacity_ah": 170}, [], {}, "repurpose", "suits repurposing"),
    (
        "EV at 81 %: lower bound 79 %",
        EV,
        {"soce_pct": 81, "capacity_ah": 165},
        [],
        {},
        "recycle",
        "< 80 % (repurpose",
    ),
    ("EV at 60 %", EV, {"soce_pct": 60, "capacity_ah": 120}, [], {}, "recycle", "< 80 %"),
    (
        "resistance doubled",
        EV,
        {"soce_pct": 95, "capacity_ah": 195, "internal_resistance_mohm": 165},
        [],
        {},
        "recycle",
        "end-of-life 100 %",
    ),
    (
        "EOL check disabled",
        EV,
        {"soce_pct": 95, "capacity_ah": 195, "internal_resistance_mohm": 165},
        [],
        {"end_of_life_resistance_increase_pct": None},
        "reuse_or_remanufacture",
        ">= 90",
    ),
    (
        "serious event forces recycle",
        EV,
        {"soce_pct": 98, "capacity_ah": 198},
        [{"severity": "serious"}],
        {},
        "recycle",
        "over_temperature (serious)",
    ),
    (
        "warning does not",
        EV,
        {"soce_pct": 98, "capacity_ah": 198},
        [{"severity": "warning"}],
        {},
        "reuse_or_remanufacture",
        ">= 90",
    ),
    (
        "runaway warning at any severity",
        EV,
        {"soce_pct": 98, "capacity_ah": 198},
        [{"event": "thermal_runaway_warning", "severity": "info"}],
        {},
        "recycle",
        "thermal_runaway_warning",
    ),
    (
        "stricter severity floor",
        EV,
        {"soce_pct": 98, "capacity_ah": 198},
        [{"severity": "warning"}],
        {"recycle_min_severity": "warning"},
        "recycle",
        "(warning)",
    ),
    (
        "stationary: capacity limits",
        STATIONARY,
        {"capacity_ah": 170, "internal_resistance_mohm": 85},
        [],
        {},
        "repurpose",
        "SoH lower bound 83.3 %",
    ),
    (
        "stationary: resistance limits",
        STATIONARY,
        {"capacity_ah": 196, "internal_resistance_mohm": 110},
        [],
        {},
        "recycle",
        "SoH lower bound 69.1 %",
    ),
    (
        "stationary: healthy",
        STATIONARY,
        {"capacity_ah": 196, "internal_resistance_mohm": 82},
        [],
        {},
        "reuse_or_remanufacture",
        ">= 90",
    ),
]


@pytest.mark.parametrize(
    ("case", "rated", "diag", "events", "policy", "grade", "reason"), GRADES, ids=[g[0] for g in GRADES]
)
def test_grading_policy(
    case: str,
    rated: RatedValues,
    diag: dict[str, Any],
    events: list[dict[str, Any]],
    policy: dict[str, Any],
    grade: str,
    reason: str,
) -> None:
    result = evaluate_health(
        "KR-BUSAN-BAT-00001",
        rated,
        snap(**diag),
        [event(**e) for e in events],
        policy=GradingPolicy(id="test-variant", **policy),
        evaluator="test-suite",
        evaluated_at=WHEN,
    )
    assert result.grade == grade, result.reasons
    assert any(reason in r for r in result.reasons), result.reasons
    assert result.recommendation


def test_figures_and_provenance() -> None:
    result = evaluate_health(
        "KR-BUSAN-BAT-00001", EV, snap(soce_pct=93.5, capacity_ah=180, internal_resistance_mohm=100),
        evaluator="oracle/health@inspector-7", evaluated_at=WHEN, diagnostics_record_digest="0xabc",
    )  # fmt: skip
    assert result.method == "soce"
    assert result.soh_pct == 93.5
    assert result.soh_uncertainty_pct == 2.0
    assert result.capacity_retention_pct == 90.0
    assert result.capacity_fade_pct == 10.0
    assert result.resistance_increase_pct == 25.0
    assert result.power_retention_pct == 80.0
    assert result.evaluator == "oracle/health@inspector-7"
    assert result.inputs.rated == EV
    assert result.inputs.diagnostics_record_digest == "0xabc"
    assert result.policy == grading_policy(CURRENT_GRADING_POLICY)  # the server's current version
    # The whole result is a JSON document (it goes into the passport's restricted section).
    assert GradingPolicy.model_validate(result.model_dump(mode="json")["policy"]) == result.policy


def test_annex_vii_method_takes_the_weaker_dimension() -> None:
    result = evaluate_health(
        "B-1", STATIONARY, snap(capacity_ah=180, internal_resistance_mohm=100), evaluator="t"
    )
    assert result.method == "annex-vii-min-capacity-power"
    assert result.soh_pct == 80.0  # power retention 80/100 beats capacity 90 %
    assert result.soh_uncertainty_pct == 4.0  # 5 % of 80


def test_from_journal_uses_latest_diagnostics_and_all_safety_events(fleet: Fleet) -> None:
    with pytest.raises(InsufficientData):
        evaluate_from_journal(fleet.journal, Fleet.battery_id(0), EV, evaluator="t")
    fleet.ingestor.ingest(
        fleet.upload(
            0,
            [
                diagnostics(measured_at="2025-01-01T00:00:00Z", soce_pct=99, capacity_ah=199),
                diagnostics(measured_at="2025-03-01T00:00:00Z", soce_pct=95, capacity_ah=194),
                safety(severity="warning"),
            ],
        )
    )
    ack = fleet.journal.records_of_battery(Fleet.battery_id(0))
    result = evaluate_from_journal(fleet.journal, Fleet.battery_id(0), EV, evaluator="t")
    assert result.inputs.diagnostics.soce_pct == 95
    assert result.inputs.diagnostics_record_digest == "0x" + ack[1].digest.hex()
    assert len(result.inputs.safety_events) == 1
    assert result.grade == "reuse_or_remanufacture"
    fleet.ingestor.ingest(fleet.upload(0, [safety(severity="critical", event="insulation_fault")]))
    assert evaluate_from_journal(fleet.journal, Fleet.battery_id(0), EV, evaluator="t").grade == "recycle"


@pytest.mark.parametrize("category", [BatteryCategory.SLI, BatteryCategory.PORTABLE, "ev", "stationary"])
def test_rated_values_take_the_models_graded_categories_only(category: Any) -> None:
    # One BatteryCategory: the passport model's. Ungraded categories and the old lowercase spellings fail.
    with pytest.raises(ValueError, match="category"):
        RatedValues(category=category, rated_capacity_ah=200, initial_internal_resistance_mohm=80)


# -- the policy registry ---------------------------------------------------------------------------


def test_current_policy_is_registered_and_its_digest_is_pinned() -> None:
    policy = grading_policy()
    assert policy.id == CURRENT_GRADING_POLICY == "kr-2026-1"
    assert GRADING_POLICIES[policy.id] is policy
    # A published version never changes: editing a threshold (or a default it relies on) must fail here
    # and be published under a new id instead.
    assert policy.digest == "b5a144584625d33f7927219bf46651611c69ddabea299baf77067d495d1ce29d"


@pytest.mark.parametrize("policy_id", sorted(GRADING_POLICIES))
def test_policy_digest_recomputes_independently(policy_id: str) -> None:
    # Recomputed with the rfc8785 library and hashlib directly, not through passport.canonical.
    policy = grading_policy(policy_id)
    document = json.loads(policy.model_dump_json())
    assert policy.digest == hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    assert policy.ref.id == policy_id
    assert policy.ref.digest == policy.digest


@pytest.mark.parametrize("policy_id", ["kr-2099-9", "", "KR-2026-1"])
def test_unknown_policy_ids_are_refused(policy_id: str) -> None:
    with pytest.raises(UnknownGradingPolicy, match="kr-2026-1"):
        grading_policy(policy_id or "nope")


def test_a_lookalike_of_a_registered_version_is_not_it() -> None:
    lenient = GradingPolicy(id=CURRENT_GRADING_POLICY, repurpose_min_soh_pct=10.0)
    assert lenient.digest != grading_policy().digest
    with pytest.raises(UnknownGradingPolicy, match="digest"):
        registered_policy(lenient)
    with pytest.raises(UnknownGradingPolicy):
        registered_policy(GradingPolicy(id="my-own"))
    assert registered_policy(grading_policy()) is grading_policy()


def test_the_default_grade_is_the_current_policys() -> None:
    reading = snap(soce_pct=60, capacity_ah=120)
    default = evaluate_health("B-1", EV, reading, evaluator="t", evaluated_at=WHEN)
    explicit = evaluate_health("B-1", EV, reading, policy=grading_policy(), evaluator="t", evaluated_at=WHEN)
    assert default == explicit
    assert default.grade == "recycle"


# -- plausibility ----------------------------------------------------------------------------------

RESISTANCE = ["diagnostics.internal_resistance_mohm"]
PLAUSIBILITY: list[tuple[str, RatedValues, dict[str, Any], list[str]]] = [
    # (case, rated, diagnostics overrides, the readings refused: [] = accepted and graded)
    ("capacity 162 % of rated (the audit's)", EV, {"capacity_ah": 324.0}, ["diagnostics.capacity_ah"]),
    ("capacity 111 % of rated", EV, {"capacity_ah": 222.0}, ["diagnostics.capacity_ah"]),
    ("capacity 110 % of rated: a fresh pack", EV, {"capacity_ah": 220.0}, []),
    ("stationary capacity 150 %", STATIONARY, {"capacity_ah": 300.0}, ["diagnostics.capacity_ah"]),
    ("SOCE 108 %", EV, {"soce_pct": 108.0}, ["diagnostics.soce_pct"]),
    ("SOCE 105 %", EV, {"soce_pct": 105.0}, []),
    ("SOCE 108 % is not the stationary method", STATIONARY, {"soce_pct": 108.0}, []),
    ("resistance 30 % of new", EV, {"internal_resistance_mohm": 24.0}, RESISTANCE),
    ("resistance 50 % of new", EV, {"internal_resistance_mohm": 40.0}, []),
    ("resistance 10x new: a failed battery, graded", EV, {"internal_resistance_mohm": 800.0}, []),
    (
        "every implausible reading is named",
        EV,
        {"capacity_ah": 324.0, "soce_pct": 109.0, "internal_resistance_mohm": 8.0},
        ["diagnostics.capacity_ah", "diagnostics.soce_pct", "diagnostics.internal_resistance_mohm"],
    ),
]


@pytest.mark.parametrize(("case", "rated", "diag", "refused"), PLAUSIBILITY, ids=[p[0] for p in PLAUSIBILITY])
def test_implausible_readings_are_rejected(
    case: str, rated: RatedValues, diag: dict[str, Any], refused: list[str]
) -> None:
    reading = snap(**diag)
    if not refused:
        assert evaluate_health("B-1", rated, reading, evaluator="t", evaluated_at=WHEN).grade
        return
    with pytest.raises(ImplausibleReading) as rejected:
        evaluate_health("B-1", rated, reading, evaluator="t", evaluated_at=WHEN)
    assert [path for path, _ in rejected.value.problems] == refused
    assert isinstance(rejected.value, ReadingRejected)  # the API's 422 "Invalid reading", with fields


def test_the_audits_reading_no_longer_grades_a() -> None:
    # 162 % of rated capacity graded A/reuse under a caller's lenient thresholds; now no policy grades it.
    reading = snap(capacity_ah=324.0, soce_pct=99.0)
    for policy in (grading_policy(), GradingPolicy(id="lenient", repurpose_min_soh_pct=0.0)):
        with pytest.raises(ImplausibleReading, match="162 % of the rated 200 Ah"):
            evaluate_health("B-1", EV, reading, policy=policy, evaluator="t")


@pytest.mark.parametrize("resistance", [-5.0, 0.0, 1e9])
def test_negative_zero_or_absurd_resistance_never_reaches_grading(resistance: float) -> None:
    with pytest.raises(ReadingRejected, match="internal_resistance_mohm"):
        snap(internal_resistance_mohm=resistance)
