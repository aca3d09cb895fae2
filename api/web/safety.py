"""The passport page's safety panel: the incident flag and distribution clearance (on-chain, public), the
latest inspection and the negative events (``legitimate_interest`` tier: None when the caller may not see
them, so the page says they are restricted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from api.web.i18n import N_

#: Labels of the model's coded values, marked for the catalogues (the template translates them).
STAGE_LABELS = {
    "pre_distribution": N_("Pre-distribution"),
    "post_distribution": N_("Post-distribution"),
    "clearance": N_("Clearance after an incident"),
}
RESULT_LABELS = {"pass": N_("Passed"), "conditional_pass": N_("Conditional pass"), "fail": N_("Failed")}
EVENT_LABELS = {
    "accident": N_("Accident"),
    "thermal_event": N_("Fire or thermal event"),
    "mechanical_damage": N_("Mechanical damage"),
    "water_ingress": N_("Water ingress"),
    "electrical_abuse": N_("Electrical abuse"),
    "deep_discharge": N_("Deep discharge"),
    "other": N_("Other"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InspectionSummary(_Frozen):
    stage: str
    result: str
    inspected_at: AwareDatetime
    valid_until: AwareDatetime | None
    inspector: str
    checks_passed: int
    checks_total: int


class NegativeEventSummary(_Frozen):
    kind: str
    occurred_at: AwareDatetime
    serious: bool
    description: str


class SafetyView(_Frozen):
    flagged: bool
    distribution_valid_until: AwareDatetime | None
    # None: restricted for this caller; empty: nothing recorded.
    latest_inspection: InspectionSummary | None
    inspections_visible: bool
    negative_events: tuple[NegativeEventSummary, ...] | None

    @property
    def cleared_for_distribution(self) -> bool:
        return self.distribution_valid_until is not None and self.distribution_valid_until > datetime.now(UTC)


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def safety_view(
    *,
    flagged: bool,
    distribution_valid_until: int,
    inspections: Sequence[Any] | None,
    negative_events: Sequence[Any] | None,
) -> SafetyView:
    """The panel from the ledger's safety state and, when readable, the passport's recorded items (JSON)."""
    latest = None
    if inspections:
        item = max((i for i in inspections if isinstance(i, dict)), key=lambda i: _when(i["inspected_at"]))
        checks = list(item.get("checks") or [])
        inspector = item.get("inspector") or {}
        latest = InspectionSummary(
            stage=str(item["stage"]),
            result=str(item["result"]),
            inspected_at=_when(item["inspected_at"]),
            valid_until=_when(item["valid_until"]) if item.get("valid_until") else None,
            inspector=str(inspector.get("name") or inspector.get("identifier") or ""),
            checks_passed=sum(1 for c in checks if c.get("passed")),
            checks_total=len(checks),
        )
    events = None
    if negative_events is not None:
        events = tuple(
            sorted(
                (
                    NegativeEventSummary(
                        kind=str(e["kind"]),
                        occurred_at=_when(e["occurred_at"]),
                        serious=bool(e.get("serious")),
                        description=str(e["description"]),
                    )
                    for e in negative_events
                    if isinstance(e, dict)
                ),
                key=lambda e: e.occurred_at,
                reverse=True,
            )
        )
    return SafetyView(
        flagged=flagged,
        distribution_valid_until=datetime.fromtimestamp(distribution_valid_until, UTC)
        if distribution_valid_until
        else None,
        latest_inspection=latest,
        inspections_visible=inspections is not None,
        negative_events=events,
    )
