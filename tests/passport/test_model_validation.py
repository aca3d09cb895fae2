"""Validation of the passport model: identifiers, units and ranges (table-driven)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from devtools.samples import sample_passport
from passport.model import (
    BatteryPassport,
    CarbonFootprint,
    Concentration,
    DocumentRef,
    RatedVoltage,
    RecycledContentShare,
    SafetyInspection,
    SubstanceId,
    TemperatureRange,
    Warranty,
)
from passport.model.general import PassportMetadata


def _with(passport: BatteryPassport, path: str, value: Any) -> dict[str, Any]:
    """The passport's JSON with the value at dotted ``path`` replaced."""
    data = passport.model_dump(mode="json")
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[leaf] = value
    return data


@pytest.fixture(scope="module")
def passport() -> BatteryPassport:
    return sample_passport()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("general.battery_id", "HES-E77N-2407-000123"),
        ("general.battery_id", "urn:kr:battery/ABC.123_x"),
        ("general.mass_kg", 0.35),
        ("general.status", "repurposed"),
        ("general.status", "re-used"),
        ("general.status", 3),
        ("circularity.renewable_content_percent", 0),
        ("circularity.renewable_content_percent", 100),
        ("performance.rated.temperature_range", {"lower_c": -40, "upper_c": 85}),
        ("performance.dynamic.state_of_charge_percent.measured_at", "2025-06-30T00:00:00Z"),
        ("performance.dynamic.state_of_charge_percent.uncertainty", 0),
        ("general.category", "industrial"),
        ("korea.performance_evaluations.0.grading_policy", {"id": "kr-2026-1", "digest": "ab" * 32}),
        ("korea.performance_evaluations.0.grading_policy", None),  # an outside body's evaluation
    ],
)
def test_valid_values_are_accepted(passport: BatteryPassport, path: str, value: Any) -> None:
    BatteryPassport.model_validate(_with(passport, path, value))


@pytest.mark.parametrize(
    ("path", "value", "error_loc"),
    [
        # identifiers
        ("general.battery_id", "ab", "general.battery_id"),
        ("general.battery_id", "bad id with spaces", "general.battery_id"),
        ("general.battery_id", "-leading-dash", "general.battery_id"),
        ("general.battery_id", "x" * 129, "general.battery_id"),
        ("general.passport_id", "not-a-uuid", "general.passport_id"),
        ("general.category", "hybrid", "general.category"),
        ("general.status", "scrapped", "general.status"),
        ("general.manufacturer", {}, "general.manufacturer"),
        (
            "general.manufacturing_place.address.country",
            "Korea",
            "general.manufacturing_place.address.country",
        ),
        # masses and dimensions
        ("general.mass_kg", 0, "general.mass_kg"),
        ("general.mass_kg", -477, "general.mass_kg"),
        ("general.mass_kg", 477_000_000, "general.mass_kg"),
        ("general.dimensions.length_mm", -1, "general.dimensions.length_mm"),
        # percentages
        ("circularity.renewable_content_percent", -0.1, "circularity.renewable_content_percent"),
        ("circularity.renewable_content_percent", 100.1, "circularity.renewable_content_percent"),
        ("performance.rated.capacity.exhaustion_threshold_percent", 120, "performance.rated.capacity"),
        (
            "performance.dynamic.state_of_charge_percent.value",
            101,
            "performance.dynamic.state_of_charge_percent",
        ),
        # voltages, power, capacity, resistance, temperature
        ("performance.rated.voltage.nominal_v", 900, "performance.rated.voltage"),
        ("performance.rated.voltage.min_v", 0, "performance.rated.voltage.min_v"),
        ("performance.rated.voltage.max_v", 697_000, "performance.rated.voltage.max_v"),
        ("performance.rated.power.original_w", 0, "performance.rated.power.original_w"),
        ("performance.rated.capacity.rated_ah", -111.2, "performance.rated.capacity.rated_ah"),
        ("performance.rated.resistance.cell_ohm", 0, "performance.rated.resistance.cell_ohm"),
        (
            "performance.rated.temperature_range",
            {"lower_c": 60, "upper_c": -30},
            "performance.rated.temperature_range",
        ),
        ("performance.rated.temperature_range.lower_c", -300, "performance.rated.temperature_range.lower_c"),
        ("performance.rated.lifetime.cycles", 0, "performance.rated.lifetime.cycles"),
        ("performance.rated.lifetime.cycle_life_test.charge_c_rate", 0, "performance.rated.lifetime"),
        # dynamic values: timestamps must be timezone-aware, counters whole and non-negative
        (
            "performance.dynamic.state_of_charge_percent.measured_at",
            "2025-06-30T09:00:00",
            "performance.dynamic",
        ),
        ("performance.dynamic.full_cycles.value", 12.5, "performance.dynamic.full_cycles"),
        ("performance.dynamic.deep_discharge_events.value", -1, "performance.dynamic.deep_discharge_events"),
        ("performance.dynamic.state_of_charge_percent.uncertainty", -1, "performance.dynamic"),
        ("performance.dynamic.max_temperature_c.value", -40, "performance.dynamic"),
        # carbon footprint
        ("carbon_footprint.total_kg_co2e_per_kwh", 90.0, "carbon_footprint"),
        ("carbon_footprint.main_production_kg_co2e_per_kwh", -1, "carbon_footprint.main_production"),
        ("carbon_footprint.performance_class", "b", "carbon_footprint.performance_class"),
        # dates
        ("metadata.expires_on", "2024-09-01", "metadata"),
        ("general.placed_on_market", "2024-01-01", "general"),
        ("general.put_into_service", "2024-07-14", "general"),
        ("metadata.issued_on", "2024-02-30", "metadata.issued_on"),
        # strictness
        ("general.nickname", "Ioniq pack", "general.nickname"),
        ("materials.chemistry", "NMC-ish", "materials.chemistry"),
        # the grading policy an evaluation names: a registry-style id and a SHA-256, nothing else
        *[
            ("korea.performance_evaluations.0.grading_policy", ref, "korea.performance_evaluations.0")
            for ref in (
                {"id": "kr-2026-1", "digest": "AB" * 32},
                {"id": "kr-2026-1", "digest": "ab" * 31},
                {"id": "kr 2026", "digest": "ab" * 32},
                {"id": "kr-2026-1"},
                {"id": "kr-2026-1", "digest": "ab" * 32, "repurpose_min_soh_pct": 10},
            )
        ],
    ],
)
def test_invalid_values_are_refused(passport: BatteryPassport, path: str, value: Any, error_loc: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        BatteryPassport.model_validate(_with(passport, path, value))
    locs = [".".join(str(p) for p in e["loc"]) for e in excinfo.value.errors()]
    assert any(loc.startswith(error_loc) for loc in locs), locs


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(passport: BatteryPassport, bad: float) -> None:
    with pytest.raises(ValidationError):
        BatteryPassport.model_validate(_with(passport, "general.mass_kg", bad))


@pytest.mark.parametrize(
    ("scheme", "identifier", "ok"),
    [
        ("CAS", "7439-93-2", True),  # lithium
        ("CAS", "7440-48-4", True),  # cobalt
        ("CAS", "21324-40-3", True),  # LiPF6
        ("CAS", "77-09-8", True),  # phenolphthalein
        ("CAS", "7439-93-3", False),  # wrong check digit
        ("CAS", "201-004-7", False),  # an EC number, not CAS-shaped
        ("CAS", "7439932", False),
        ("EC", "201-004-7", True),  # phenolphthalein
        ("EC", "231-148-6", True),
        ("EC", "231-148-7", False),
        ("EC", "7439-93-2", False),
        ("IUPAC", "lithium hexafluorophosphate", True),
    ],
)
def test_substance_identifiers_check_digits(scheme: str, identifier: str, ok: bool) -> None:
    data = {"scheme": scheme, "identifier": identifier, "name": "x"}
    if ok:
        SubstanceId.model_validate(data)
    else:
        with pytest.raises(ValidationError, match="not a valid"):
            SubstanceId.model_validate(data)


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        (0, "ppm", True),
        (1_000_000, "ppm", True),
        (1_000_001, "ppm", False),
        (100, "percent", True),
        (100.5, "percent", False),
        (999, "per_mille", True),
        (1001, "per_mille", False),
        (-1, "ppb", False),
        (5, "mg", False),
    ],
)
def test_concentrations_are_bounded_by_their_unit(value: float, unit: str, ok: bool) -> None:
    if ok:
        Concentration.model_validate({"value": value, "unit": unit})
    else:
        with pytest.raises(ValidationError):
            Concentration.model_validate({"value": value, "unit": unit})


@pytest.mark.parametrize(
    ("model", "data", "ok"),
    [
        (RatedVoltage, {"min_v": 480, "nominal_v": 697, "max_v": 806.4}, True),
        (RatedVoltage, {"min_v": 480, "nominal_v": 480, "max_v": 806.4}, True),
        (RatedVoltage, {"min_v": 700, "nominal_v": 697, "max_v": 806.4}, False),
        (RatedVoltage, {"min_v": 500, "nominal_v": 500, "max_v": 500}, False),
        (TemperatureRange, {"lower_c": -30, "upper_c": 60}, True),
        (TemperatureRange, {"lower_c": 20, "upper_c": 20}, False),
        (Warranty, {"value": 8, "unit": "year"}, True),
        (Warranty, {"value": 0, "unit": "year"}, False),
        (Warranty, {"value": 8, "unit": "decade"}, False),
        (RecycledContentShare, {"element": "cobalt", "total_percent": 16}, True),
        (
            RecycledContentShare,
            {
                "element": "cobalt",
                "pre_consumer_percent": 10,
                "post_consumer_percent": 6,
                "total_percent": 16,
            },
            True,
        ),
        (
            RecycledContentShare,
            {
                "element": "cobalt",
                "pre_consumer_percent": 10,
                "post_consumer_percent": 6,
                "total_percent": 15,
            },
            False,
        ),
        (RecycledContentShare, {"element": "cobalt", "pre_consumer_percent": 20, "total_percent": 16}, False),
        (RecycledContentShare, {"element": "manganese", "total_percent": 16}, False),
        (
            CarbonFootprint,
            {
                "total_kg_co2e_per_kwh": 61.3,
                "raw_material_acquisition_kg_co2e_per_kwh": 44.1,
                "main_production_kg_co2e_per_kwh": 14.6,
                "distribution_kg_co2e_per_kwh": 1.2,
                "end_of_life_kg_co2e_per_kwh": 1.4,
            },
            True,
        ),
        (CarbonFootprint, {"total_kg_co2e_per_kwh": 61.3, "main_production_kg_co2e_per_kwh": 14.6}, True),
        (DocumentRef, {"title": "Report", "content": "https://example.org/r.pdf"}, True),
        (DocumentRef, {"title": "Report", "content": "ipfs://bafkreigh2akiscaildc"}, True),
        (DocumentRef, {"title": "Report", "content": "see attachment"}, False),
        (DocumentRef, {"title": "Note", "content": "see attachment", "content_type": "text/plain"}, True),
        (DocumentRef, {"title": "x" * 101, "content": "https://example.org"}, False),
        (DocumentRef, {"title": "Report", "content": "https://example.org", "sha256": "AB" * 32}, False),
        (PassportMetadata, {"issued_on": "2024-09-02", "last_modified_on": "2024-09-01"}, False),
    ],
)
def test_unit_and_range_rules(model: type[Any], data: dict[str, Any], ok: bool) -> None:
    if ok:
        model.model_validate(data)
    else:
        with pytest.raises(ValidationError):
            model.model_validate(data)


def test_passport_id_must_differ_from_battery_id(passport: BatteryPassport) -> None:
    same = str(passport.passport_id)
    with pytest.raises(ValidationError, match="must differ"):
        BatteryPassport.model_validate(_with(passport, "general.battery_id", same))


def test_failed_safety_inspection_must_list_findings(passport: BatteryPassport) -> None:
    inspection = passport.korea.safety_inspections[0].model_dump(mode="json")
    with pytest.raises(ValidationError, match="must list its findings"):
        SafetyInspection.model_validate(inspection | {"result": "fail"})
    SafetyInspection.model_validate(inspection | {"result": "fail", "findings": ["swollen module 3"]})


def test_critical_flags_must_be_declared(passport: BatteryPassport) -> None:
    data = passport.model_dump(mode="json")
    data["materials"]["critical_raw_materials"].remove("cobalt")
    with pytest.raises(ValidationError, match="cobalt"):
        BatteryPassport.model_validate(data)


def test_passports_are_immutable(passport: BatteryPassport) -> None:
    with pytest.raises(ValidationError):
        passport.general.mass_kg = 1.0  # type: ignore[misc]


def test_status_serialises_by_name_and_parses_from_the_chain_enum(passport: BatteryPassport) -> None:
    from passport.model import LifecycleStatus

    assert passport.model_dump(mode="json")["general"]["status"] == "original"
    again = BatteryPassport.model_validate(_with(passport, "general.status", LifecycleStatus.REMANUFACTURED))
    assert again.general.status is LifecycleStatus.REMANUFACTURED


def test_timestamps_keep_their_offset(passport: BatteryPassport) -> None:
    reading = passport.performance.dynamic.state_of_charge_percent
    assert reading is not None
    assert reading.measured_at.utcoffset() is not None
    assert reading.measured_at == datetime.fromisoformat("2025-06-30T00:00:00+00:00")
