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

**Policies are server-side and versioned.** ``GRADING_POLICIES`` is the registry of known versions, each
named by an id (``kr-2026-1``) and identified by its digest: the SHA-256 of its RFC 8785 canonical JSON
(``GradingPolicy.digest``). A version never changes once published (its digest is pinned in the
tests); different thresholds are a new id. The evaluation a passport records names the id and digest it
was graded under, and ``oracle.evaluation`` records only registered versions.

**Implausible readings are rejected, not graded** (``ImplausibleReading``, naming the reading): a
measured capacity above ``plausible_max_capacity_pct`` of rated (new packs measure up to ~105 %), a
SOCE above ``plausible_max_soce_pct``, or a DC resistance below ``plausible_min_resistance_pct`` of the
beginning-of-life value (resistance does not fall with age). Such a reading means a wrong rated value
or a faulty measurement; grading it would record a grade nothing supports. Absurdly high resistance is
not rejected: it is what a failed battery looks like, and grades it ``recycle``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oracle.errors import ImplausibleReading, InsufficientData, UnknownGradingPolicy
from oracle.journal import Journal
from oracle.readings import (
    SEVERITY_ORDER,
    DiagnosticSnapshot,
    SafetyEvent,
    SafetyEventKind,
    Severity,
    parse_reading,
)
from passport.canonical import canonical_digest, canonical_json, parse_canonical_object
from passport.model import AnchorKind, BatteryCategory, GradingPolicyRef, PolicyId

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
    """One named version of the grading thresholds; the defaults are those of ``kr-2026-1``.

    The server grades under a registered version only (``GRADING_POLICIES``); other instances serve
    simulations and tests, and ``oracle.evaluation`` refuses to record what they grade.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: PolicyId = Field(description="The version's name; different thresholds are a different id.")

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
    plausible_max_capacity_pct: float = Field(
        default=110.0, gt=100, description="Measured capacity above this % of rated is rejected."
    )
    plausible_max_soce_pct: float = Field(
        default=105.0, gt=100, description="A SOCE above this % is rejected (a few % over 100 is normal)."
    )
    plausible_min_resistance_pct: float = Field(
        default=50.0, gt=0, lt=100, description="DC resistance below this % of its initial value is rejected."
    )

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of this version's RFC 8785 canonical JSON: what a recorded evaluation names."""
        return canonical_digest(self.model_dump(mode="json")).hex()

    @property
    def ref(self) -> GradingPolicyRef:
        """The id and digest a passport's evaluation record carries."""
        return GradingPolicyRef(id=self.id, digest=self.digest)


#: The version the server grades under unless ``Settings.grading_policy`` names another.
CURRENT_GRADING_POLICY: Final = "kr-2026-1"
#: Every known version by id. Published versions are never edited: a change is a new id.
GRADING_POLICIES: Final[Mapping[str, GradingPolicy]] = MappingProxyType(
    {policy.id: policy for policy in (GradingPolicy(id="kr-2026-1"),)}
)


def grading_policy(policy_id: str | None = None) -> GradingPolicy:
    """The registered version ``policy_id`` (default: the current one); ``UnknownGradingPolicy`` if none."""
    policy = GRADING_POLICIES.get(policy_id or CURRENT_GRADING_POLICY)
    if policy is None:
        known = ", ".join(sorted(GRADING_POLICIES))
        raise UnknownGradingPolicy(f"no grading policy {policy_id!r}; known versions: {known}")
    return policy


def registered_policy(policy: GradingPolicy) -> GradingPolicy:
    """``policy`` if it is exactly a registered version (same id, same thresholds); else raise."""
    known = grading_policy(policy.id)
    if known != policy:
        raise UnknownGradingPolicy(
            f"grading policy {policy.id!r} has digest {policy.digest}, not the registered {known.digest}"
        )
    return known


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


def check_plausible(rated: RatedValues, diagnostics: DiagnosticSnapshot, policy: GradingPolicy) -> None:
    """Raise ``ImplausibleReading`` listing every reading the policy's plausibility limits refuse."""
    problems: list[tuple[str, str]] = []
    capacity_pct = 100 * diagnostics.capacity_ah / rated.rated_capacity_ah
    if capacity_pct > policy.plausible_max_capacity_pct:
        problems.append(
            (
                "diagnostics.capacity_ah",
                f"{diagnostics.capacity_ah:g} Ah is {capacity_pct:.0f} % of the rated "
                f"{rated.rated_capacity_ah:g} Ah (plausible: at most "
                f"{policy.plausible_max_capacity_pct:g} %)",
            )
        )
    if rated.category is BatteryCategory.EV and diagnostics.soce_pct > policy.plausible_max_soce_pct:
        problems.append(
            (
                "diagnostics.soce_pct",
                f"SOCE {diagnostics.soce_pct:g} % is above the plausible {policy.plausible_max_soce_pct:g} %",
            )
        )
    resistance_pct = 100 * diagnostics.internal_resistance_mohm / rated.initial_internal_resistance_mohm
    if resistance_pct < policy.plausible_min_resistance_pct:
        problems.append(
            (
                "diagnostics.internal_resistance_mohm",
                f"{diagnostics.internal_resistance_mohm:g} mΩ is {resistance_pct:.0f} % of the initial "
                f"{rated.initial_internal_resistance_mohm:g} mΩ (plausible: at least "
                f"{policy.plausible_min_resistance_pct:g} %)",
            )
        )
    if problems:
        raise ImplausibleReading(
            "implausible diagnostic reading: " + "; ".join(f"{path}: {why}" for path, why in problems),
            problems,
        )


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

    ``policy`` defaults to the current registered version. ``evaluator`` names who/what evaluated
    (service and operator), recorded with the result. Raises ``ImplausibleReading`` for a reading the
    policy's plausibility limits refuse.
    """
    policy = policy or grading_policy()
    check_plausible(rated, diagnostics, policy)
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
