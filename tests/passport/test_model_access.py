"""Access tiers: every attribute has one, condition and use data are never public, sections round-trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from devtools.samples import sample_passport
from passport.errors import DocumentValidationError
from passport.model import (
    AccessTier,
    BatteryPassport,
    PassportView,
    Public,
    iter_leaf_fields,
    merge_sections,
)

LEAVES = {path: tier for path, tier, _ in iter_leaf_fields(BatteryPassport)}

# Data about the condition and use of one individual battery (Annex XIII 4, Art. 14): never public.
CONDITION_AND_USE = (
    "performance.dynamic.",
    "korea.performance_evaluations",
    "korea.safety_inspections",
    "general.put_into_service",
)


@pytest.fixture(scope="module")
def passport() -> BatteryPassport:
    return sample_passport()


def test_every_leaf_has_a_tier() -> None:
    # iter_leaf_fields raises TypeError on an untagged non-group field; reaching here means none.
    assert len(LEAVES) > 100
    assert set(LEAVES.values()) == set(AccessTier)


def test_untagged_leaf_is_a_model_error() -> None:
    class Broken(BaseModel):
        tagged: Public[int] = 0
        untagged: list[int] = []

    with pytest.raises(TypeError, match=r"Broken\.untagged has no access tier"):
        list(iter_leaf_fields(Broken))


@pytest.mark.parametrize("path", [p for p in LEAVES if p.startswith(CONDITION_AND_USE)])
def test_condition_and_use_data_is_never_public(path: str) -> None:
    assert LEAVES[path] is not AccessTier.PUBLIC


def test_every_dynamic_value_is_restricted() -> None:
    dynamic = [p for p in LEAVES if p.startswith("performance.dynamic.")]
    assert len(dynamic) >= 25
    assert {LEAVES[p] for p in dynamic} == {AccessTier.LEGITIMATE_INTEREST}


@pytest.mark.parametrize(
    ("path", "tier"),
    [
        ("general.battery_id", AccessTier.PUBLIC),
        ("general.passport_id", AccessTier.PUBLIC),
        ("general.mass_kg", AccessTier.PUBLIC),
        ("general.status", AccessTier.PUBLIC),
        ("carbon_footprint.total_kg_co2e_per_kwh", AccessTier.PUBLIC),
        ("materials.hazardous_substances", AccessTier.PUBLIC),
        ("materials.composition", AccessTier.LEGITIMATE_INTEREST),
        ("performance.rated.capacity", AccessTier.PUBLIC),
        ("performance.rated.test_reports", AccessTier.AUTHORITY),
        ("circularity.recycled_content", AccessTier.PUBLIC),
        ("circularity.dismantling_documents", AccessTier.LEGITIMATE_INTEREST),
        ("circularity.safety_measures", AccessTier.LEGITIMATE_INTEREST),
        ("circularity.spare_part_sources", AccessTier.LEGITIMATE_INTEREST),
        ("due_diligence.report", AccessTier.PUBLIC),
        ("due_diligence.detailed_audit_reports", AccessTier.AUTHORITY),
        ("conformity.test_reports", AccessTier.AUTHORITY),
        ("korea.recycled_material_certificates", AccessTier.PUBLIC),
        ("korea.safety_inspections", AccessTier.LEGITIMATE_INTEREST),
        # Inside a leaf, the leaf's tier applies.
        ("performance.rated.capacity.rated_ah", AccessTier.PUBLIC),
        ("performance.dynamic.state_of_charge_percent.value", AccessTier.LEGITIMATE_INTEREST),
    ],
)
def test_annex_xiii_tiers(path: str, tier: AccessTier) -> None:
    assert BatteryPassport.tier_of(path) is tier


def test_tier_of_rejects_groups_and_unknown_paths() -> None:
    with pytest.raises(KeyError, match="is a group"):
        BatteryPassport.tier_of("performance.rated")
    with pytest.raises(KeyError, match="no attribute"):
        BatteryPassport.tier_of("general.colour")


def test_json_schema_shows_tiers() -> None:
    schema = json.dumps(BatteryPassport.model_json_schema())
    for tier in AccessTier:
        assert f'"x-access-tier": "{tier.value}"' in schema


def _paths(data: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every key in nested dicts (lists are leaves)."""
    out: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            out.add(path)
            out |= _paths(value, f"{path}.")
    return out


def test_sections_hold_exactly_their_tiers_leaves(passport: BatteryPassport) -> None:
    sections = passport.sections()
    assert set(sections) == set(AccessTier)
    for tier, data in sections.items():
        json.dumps(data)  # JSON-able as is
        leaves = {p for p in _paths(data) if p in LEAVES}
        assert leaves == {p for p, t in LEAVES.items() if t is tier}


def test_public_section_reveals_no_condition_or_use_data(passport: BatteryPassport) -> None:
    public = passport.sections()[AccessTier.PUBLIC]
    assert "dynamic" not in public["performance"]
    assert "put_into_service" not in public["general"]
    assert set(public["korea"]) == {"recycled_material_certificates"}
    text = json.dumps(public)
    for secret in ("state_of_charge", "negative_events", "vehicle BMS", "Low-speed front collision"):
        assert secret not in text


def test_sections_round_trip(passport: BatteryPassport) -> None:
    sections = passport.sections()
    assert BatteryPassport.from_sections(sections) == passport
    # Tier keys as plain strings, as passport.sections hands them back after loading.
    assert BatteryPassport.from_sections({str(t): d for t, d in sections.items()}) == passport
    # Through JSON text, as they are stored.
    reloaded = {t: json.loads(json.dumps(d)) for t, d in sections.items()}
    assert BatteryPassport.from_sections(reloaded) == passport


def test_sections_are_deterministic(passport: BatteryPassport) -> None:
    assert sample_passport().sections() == passport.sections()


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    [
        (lambda s: s.pop(AccessTier.AUTHORITY), "authority", "section missing"),
        (lambda s: s.update({"owner": {}}), "owner", "unknown access tier"),
        (
            lambda s: s[AccessTier.PUBLIC]["performance"].update(
                {"dynamic": s[AccessTier.LEGITIMATE_INTEREST]["performance"]["dynamic"]}
            ),
            "performance.dynamic.remaining_capacity_ah",
            "belongs to the legitimate_interest section",
        ),
        (
            lambda s: s[AccessTier.LEGITIMATE_INTEREST]["general"].update({"mass_kg": 1.0}),
            "general.mass_kg",
            "belongs to the public section",
        ),
        (
            lambda s: s[AccessTier.PUBLIC]["general"].update({"colour": "red"}),
            "general.colour",
            "unknown attribute",
        ),
        (lambda s: s[AccessTier.PUBLIC].update({"performance": []}), "performance", "must be a JSON object"),
        (
            lambda s: s[AccessTier.PUBLIC]["general"].update({"mass_kg": -5}),
            "general.mass_kg",
            "greater than 0",
        ),
        (lambda s: s[AccessTier.PUBLIC]["general"].pop("battery_id"), "general.battery_id", "Field required"),
    ],
)
def test_from_sections_reports_problems_by_path(
    passport: BatteryPassport, mutate: Any, path: str, reason: str
) -> None:
    sections: dict[Any, Any] = json.loads(json.dumps({str(k): v for k, v in passport.sections().items()}))
    sections = {AccessTier(k): v for k, v in sections.items()}
    mutate(sections)
    with pytest.raises(DocumentValidationError) as excinfo:
        BatteryPassport.from_sections(sections)
    assert any(p == path and reason in r for p, r in excinfo.value.problems), excinfo.value.problems


def test_public_view_sees_public_attributes_only(passport: BatteryPassport) -> None:
    public = passport.sections()[AccessTier.PUBLIC]
    view = PassportView.from_sections({AccessTier.PUBLIC: public})
    assert view.tiers == {AccessTier.PUBLIC}
    assert not view.is_complete
    assert view.get("general.battery_id") == passport.battery_id
    assert view.get("performance.rated.capacity.rated_ah") == 111.2
    assert view.get("performance.dynamic.state_of_charge_percent") is None
    assert view.get("general.put_into_service", "withheld") == "withheld"
    assert view.can_read("general.mass_kg")
    assert not view.can_read("performance.dynamic.full_cycles")
    with pytest.raises(DocumentValidationError, match="partial view"):
        view.to_passport()


def test_view_of_some_tiers(passport: BatteryPassport) -> None:
    view = PassportView.of(passport, {AccessTier.PUBLIC, AccessTier.LEGITIMATE_INTEREST})
    assert view.get("performance.dynamic.full_cycles.value") == 370
    assert view.get("conformity.test_reports") is None  # authority only
    full = PassportView.of(passport, set(AccessTier))
    assert full.is_complete
    assert full.to_passport() == passport


def test_merge_sections_validates_each_value(passport: BatteryPassport) -> None:
    public = json.loads(json.dumps(passport.sections()[AccessTier.PUBLIC]))
    public["performance"]["rated"]["voltage"]["nominal_v"] = 10_000
    with pytest.raises(DocumentValidationError) as excinfo:
        merge_sections({"public": public})
    assert [p for p, _ in excinfo.value.problems] == ["performance.rated.voltage.nominal_v"]


def test_merged_sections_equal_the_full_dump(passport: BatteryPassport) -> None:
    assert merge_sections(passport.sections()) == passport.model_dump(mode="json")
