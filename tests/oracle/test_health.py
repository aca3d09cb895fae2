"""Health evaluation: SoH methods and the grading policy, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from oracle.errors import InsufficientData
from oracle.health import (
    CURRENT_GRADING_POLICY,
    GradingPolicy,
    RatedValues,
    evaluate_from_journal,
    evaluate_health,
    grading_policy,
)
from oracle.readings import DiagnosticSnapshot, SafetyEvent, parse_reading
from passport.canonical import canonical_json
from passport.model import BatteryCategory
from tests.oracle.oracle_samples import Fleet, diagnostics, safety

EV = RatedValues(category=BatteryCategory.EV, rated_capacity_ah=200, initial_internal_resistance_mohm=80)
# Stationary storage is an industrial battery (EU 2023/1542 Art. 3): graded on Annex VII, Part A.
STATIONARY = RatedValues(
    category=BatteryCategory.INDUSTRIAL, rated_capacity_ah=200, initial_internal_resistance_mohm=80
)
WHEN = datetime(2025, 4, 1, tzinfo=UTC)


def snap(**overrides: Any) -> DiagnosticSnapshot:
    reading = parse_reading(
        canonical_json({k: v for k, v in diagnostics(**overrides).items() if v is not None})
    )
    assert isinstance(reading, DiagnosticSnapshot)
    return reading


def event(**overrides: Any) -> SafetyEvent:
    reading = parse_reading(canonical_json(safety(**overrides)))
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
