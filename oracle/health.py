"""State of health and second-life grading from diagnostic snapshots and safety events.

State of health (SoH), by battery category (EU 2023/1542 Art. 14 and Annex VII):

* ``EV`` — **SOCE**, the state of certified energy the BMS reports (Annex VII, Part B): the pack's
  usable energy now over its certified energy when new.
* ``LMT`` / ``industrial`` (stationary storage included) — Annex VII, Part A lists remaining
  capacity, power fade and internal-resistance increase. We combine them as
  ``SoH = min(capacity retention, power retention)``: ``capacity retention = C / C_BOL``;
  ``power retention = R_BOL / R``, because within fixed voltage limits the deliverable power scales
  with 1/R. Taking the minimum grades a battery by its weakest dimension, which is what limits a
  second life.

Alongside SoH every assessment reports capacity fade ``1 - C/C_BOL`` and resistance increase
``R/R_BOL - 1``.

Grading (``GradingPolicy``; defaults documented per field):

* ``reuse_or_remanufacture`` — SoH and capacity retention ≥ 90 % with the cells' SoH within 3
  percentage points of each other (DIN DKE SPEC 99100's remanufacturing criterion);
* ``repurpose`` — SoH ≥ 80 % (the usual threshold for stationary storage) or a ≥ 90 % battery whose
  cells are too unbalanced to remanufacture;
* ``recycle`` — anything below, a resistance at or past end of life (+100 %, i.e. doubled, the common
  EOL definition alongside 80 % capacity), or any serious safety event, whatever the figures say.

Grades are decided on the lower bound ``SoH - uncertainty`` by default: a battery is only promised a
grade its measurement supports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oracle.errors import InsufficientData
from oracle.journal import Journal
from oracle.readings import (
    SEVERITY_ORDER,
    DiagnosticSnapshot,
    SafetyEvent,
    SafetyEventKind,
    Severity,
    parse_reading,
)
from passport.canonical import canonical_json, parse_canonical_object
from passport.model import AnchorKind, BatteryCategory

# Annex VII's state-of-health parameters are defined for these categories only (Art. 14).
GRADED_CATEGORIES: frozenset[BatteryCategory] = frozenset(
    {BatteryCategory.EV, BatteryCategory.LMT, BatteryCategory.INDUSTRIAL}
)
Grade = Literal["reuse_or_remanufacture", "repurpose", "recycle"]
Method = Literal["soce", "annex-vii-min-capacity-power"]

RECOMMENDATIONS: dict[Grade, str] = {
    "reuse_or_remanufacture": "Fit for reuse in an EV or for remanufacturing (DIN DKE SPEC 99100).",
    "repurpose": "Repurpose for a less demanding duty such as stationary energy storage.",
    "recycle": "Send to recycling (material recovery); not fit for a second life.",
}


class RatedValues(BaseModel):
    """Beginning-of-life figures from the passport's performance section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: BatteryCategory
    rated_capacity_ah: float = Field(gt=0, le=2000)
    initial_internal_resistance_mohm: float = Field(gt=0, le=5000)

    @field_validator("category")
    @classmethod
    def _graded(cls, category: BatteryCategory) -> BatteryCategory:
        if category not in GRADED_CATEGORIES:
            raise ValueError(f"{category.value} batteries are not graded: must be EV, LMT or industrial")
        return category


class GradingPolicy(BaseModel):
    """Thresholds for grading; every default is documented and every one can be overridden."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    remanufacture_min_soh_pct: float = Field(
        default=90.0, ge=0, le=100, description="DIN DKE SPEC 99100: >= 90 % of rated capacity."
    )
    remanufacture_max_cell_soh_spread_pct: float = Field(
        default=3.0, ge=0, le=100, description="DIN DKE SPEC 99100: cell SoH within 3 percentage points."
    )
    require_cell_soh_for_remanufacture: bool = Field(
        default=True,
        description="Without per-cell SoH the 3 % criterion cannot be shown; if False, fall back to the "
        "cell voltage spread below (a weaker proxy).",
    )
    fallback_max_cell_voltage_spread_mv: float = Field(default=30.0, ge=0)
    repurpose_min_soh_pct: float = Field(
        default=80.0, ge=0, le=100, description="~80 % suits stationary storage; below that, recycle."
    )
    end_of_life_resistance_increase_pct: float | None = Field(
        default=100.0, ge=0, description="Resistance doubled = end of life; None disables the check."
    )
    recycle_min_severity: Severity = Field(
        default="serious", description="A safety event this severe or worse forces recycling."
    )
    recycle_event_kinds: tuple[SafetyEventKind, ...] = Field(
        default=("thermal_runaway_warning",), description="Event kinds that force recycling at any severity."
    )
    grade_on_lower_bound: bool = Field(default=True, description="Grade on SoH minus its uncertainty.")
    soce_uncertainty_pct: float = Field(
        default=2.0, ge=0, description="BMS SOCE estimate, percentage points."
    )
    capacity_uncertainty_pct: float = Field(
        default=2.0, ge=0, description="Capacity measurement, relative %."
    )
    resistance_uncertainty_pct: float = Field(default=5.0, ge=0, description="DC resistance, relative %.")


class HealthInputs(BaseModel):
    """Exactly what an assessment was computed from."""

    model_config = ConfigDict(frozen=True)

    rated: RatedValues
    diagnostics: DiagnosticSnapshot
    diagnostics_record_digest: str | None = None  # the anchored record it came from, when known
    safety_events: list[SafetyEvent] = []


class HealthAssessment(BaseModel):
    """A graded state-of-health result with its method, inputs, uncertainty and evaluator."""

    model_config = ConfigDict(frozen=True)

    battery_id: str
    evaluated_at: datetime
    evaluator: str
    method: Method
    inputs: HealthInputs
    policy: GradingPolicy
    soh_pct: float
    soh_uncertainty_pct: float
    capacity_retention_pct: float
    capacity_fade_pct: float
    power_retention_pct: float
    resistance_increase_pct: float
    grade: Grade
    recommendation: str
    reasons: list[str]


def _forcing_events(events: Sequence[SafetyEvent], policy: GradingPolicy) -> list[SafetyEvent]:
    floor = SEVERITY_ORDER[policy.recycle_min_severity]
    return [e for e in events if SEVERITY_ORDER[e.severity] >= floor or e.event in policy.recycle_event_kinds]


def evaluate_health(
    battery_id: str,
    rated: RatedValues,
    diagnostics: DiagnosticSnapshot,
    safety_events: Sequence[SafetyEvent] = (),
    *,
    policy: GradingPolicy | None = None,
    evaluator: str,
    evaluated_at: datetime | None = None,
    diagnostics_record_digest: str | None = None,
) -> HealthAssessment:
    """Compute SoH, fade and resistance increase, and grade the battery (see the module docstring).

    ``evaluator`` names who/what evaluated (service and operator), recorded with the result.
    """
    policy = policy or GradingPolicy()
    capacity_retention = 100 * diagnostics.capacity_ah / rated.rated_capacity_ah
    power_retention = 100 * rated.initial_internal_resistance_mohm / diagnostics.internal_resistance_mohm
    resistance_increase = 100 * (
        diagnostics.internal_resistance_mohm / rated.initial_internal_resistance_mohm - 1
    )
    method: Method
    if rated.category is BatteryCategory.EV:
        method, soh = "soce", diagnostics.soce_pct
        uncertainty = policy.soce_uncertainty_pct
    else:
        method = "annex-vii-min-capacity-power"
        if capacity_retention <= power_retention:
            soh, uncertainty = capacity_retention, capacity_retention * policy.capacity_uncertainty_pct / 100
        else:
            soh, uncertainty = power_retention, power_retention * policy.resistance_uncertainty_pct / 100
    soh = min(soh, 100.0) if method != "soce" else soh
    graded = soh - uncertainty if policy.grade_on_lower_bound else soh
    capacity_graded = (
        capacity_retention * (1 - policy.capacity_uncertainty_pct / 100)
        if policy.grade_on_lower_bound
        else capacity_retention
    )
    basis = "lower bound " if policy.grade_on_lower_bound else ""

    reasons: list[str] = []
    grade: Grade
    forcing = _forcing_events(safety_events, policy)
    eol = policy.end_of_life_resistance_increase_pct
    if forcing:
        grade = "recycle"
        reasons += [
            f"safety event {e.event} ({e.severity}) at {e.occurred_at.isoformat()} forces recycling"
            for e in forcing
        ]
    elif eol is not None and resistance_increase >= eol:
        grade = "recycle"
        reasons.append(f"resistance increase {resistance_increase:.1f} % >= end-of-life {eol:.0f} %")
    elif graded < policy.repurpose_min_soh_pct:
        grade = "recycle"
        reasons.append(
            f"SoH {basis}{graded:.1f} % < {policy.repurpose_min_soh_pct:.0f} % (repurpose threshold)"
        )
    else:
        grade = "repurpose"
        threshold = policy.remanufacture_min_soh_pct
        if graded < threshold:
            reasons.append(f"SoH {basis}{graded:.1f} % < {threshold:.0f} % (remanufacture threshold)")
        elif capacity_graded < threshold:
            reasons.append(f"capacity retention {basis}{capacity_graded:.1f} % < {threshold:.0f} %")
        elif diagnostics.cell_soh_spread_pct is not None:
            spread = diagnostics.cell_soh_spread_pct
            if spread <= policy.remanufacture_max_cell_soh_spread_pct:
                grade = "reuse_or_remanufacture"
                reasons.append(
                    f"SoH {basis}{graded:.1f} % >= {threshold:.0f} %, cell SoH spread {spread:.1f} pp"
                )
            else:
                reasons.append(
                    f"cell SoH spread {spread:.1f} pp > {policy.remanufacture_max_cell_soh_spread_pct:.1f} pp"
                )
        elif policy.require_cell_soh_for_remanufacture:
            reasons.append("no per-cell SoH reported: the cell-uniformity criterion cannot be shown")
        elif diagnostics.cell_voltage_spread_mv <= policy.fallback_max_cell_voltage_spread_mv:
            grade = "reuse_or_remanufacture"
            reasons.append(
                f"SoH {basis}{graded:.1f} % >= {threshold:.0f} %, cell voltage spread "
                f"{diagnostics.cell_voltage_spread_mv:.0f} mV (proxy for cell SoH spread)"
            )
        else:
            reasons.append(
                f"cell voltage spread {diagnostics.cell_voltage_spread_mv:.0f} mV > "
                f"{policy.fallback_max_cell_voltage_spread_mv:.0f} mV"
            )
        if grade == "repurpose":
            reasons.append(
                f"SoH {basis}{graded:.1f} % >= {policy.repurpose_min_soh_pct:.0f} % suits repurposing"
            )

    return HealthAssessment(
        battery_id=battery_id,
        evaluated_at=evaluated_at or datetime.now(UTC),
        evaluator=evaluator,
        method=method,
        inputs=HealthInputs(
            rated=rated,
            diagnostics=diagnostics,
            diagnostics_record_digest=diagnostics_record_digest,
            safety_events=list(safety_events),
        ),
        policy=policy,
        soh_pct=round(soh, 3),
        soh_uncertainty_pct=round(uncertainty, 3),
        capacity_retention_pct=round(capacity_retention, 3),
        capacity_fade_pct=round(100 - capacity_retention, 3),
        power_retention_pct=round(power_retention, 3),
        resistance_increase_pct=round(resistance_increase, 3),
        grade=grade,
        recommendation=RECOMMENDATIONS[grade],
        reasons=reasons,
    )


def evaluate_from_journal(
    journal: Journal,
    battery_id: str,
    rated: RatedValues,
    *,
    policy: GradingPolicy | None = None,
    evaluator: str,
    evaluated_at: datetime | None = None,
) -> HealthAssessment:
    """Assess a battery from its latest journaled diagnostics and all its journaled safety events."""
    diagnostics = journal.records_of_battery(battery_id, AnchorKind.DIAGNOSTICS)
    if not diagnostics:
        raise InsufficientData(f"battery {battery_id} has no diagnostic snapshot in the journal")
    latest = diagnostics[-1]
    snapshot = _reading_of(latest.canonical)
    events = [_reading_of(r.canonical) for r in journal.records_of_battery(battery_id, AnchorKind.SAFETY)]
    assert isinstance(snapshot, DiagnosticSnapshot)  # the kind column says so
    return evaluate_health(
        battery_id,
        rated,
        snapshot,
        [e for e in events if isinstance(e, SafetyEvent)],
        policy=policy,
        evaluator=evaluator,
        evaluated_at=evaluated_at,
        diagnostics_record_digest="0x" + latest.digest.hex(),
    )


def _reading_of(record: bytes) -> object:
    return parse_reading(canonical_json(parse_canonical_object(record)["reading"]))
