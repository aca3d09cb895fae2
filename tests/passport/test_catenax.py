"""Catena-X BatteryPass 6.1.0 import and export.

Fixtures are derived from the Eclipse Tractus-X example (CC-BY-4.0); see fixtures/catenax/NOTICE.md.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from devtools.samples import sample_passport
from passport.errors import DocumentValidationError, JsonDuplicateKey, JsonEncodingError
from passport.interop import (
    SPEC_VERSION,
    catenax_schema,
    export_catenax,
    import_catenax,
    read_catenax,
    schema_problems,
    write_catenax,
)
from passport.model import (
    BatteryCategory,
    BatteryPassport,
    Chemistry,
    GradingPolicyRef,
    LifecycleStatus,
    RecycledElement,
)

FIXTURES = Path(__file__).parent / "fixtures" / "catenax"


@pytest.fixture
def example() -> dict[str, Any]:
    """The Tractus-X example, unmodified (invalid)."""
    document: dict[str, Any] = json.loads((FIXTURES / "BatteryPass.example.json").read_text())
    return document


@pytest.fixture
def corrected() -> dict[str, Any]:
    """The example with its invalid fields corrected (see NOTICE.md)."""
    document: dict[str, Any] = json.loads((FIXTURES / "BatteryPass.corrected.json").read_text())
    return document


def _problems(document: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(DocumentValidationError) as excinfo:
        import_catenax(document, **kwargs)
    return excinfo.value.problems


def test_raw_example_reports_every_invalid_field(example: dict[str, Any]) -> None:
    problems = dict(_problems(example))
    assert "not a 'date'" in problems["operation.intoServiceDate"]
    assert "month must be in 1..12" in problems["operation.intoServiceDate"]
    assert "not subject to a battery passport" in problems["identification.category"]
    assert (
        "placed_on_market is before manufacturing_date"
        in problems["operation.manufacturer.manufacturingDate"]
    )
    for path in (
        "materials.active.other[0].materialIdentification[0]",
        "materials.hazardous.other[0].materialIdentification[0]",
        "materials.composition[0].id[0]",
    ):
        assert "not a valid CAS number" in problems[path]
    assert len(problems) == 6


def test_raw_example_error_message_names_the_date(example: dict[str, Any]) -> None:
    with pytest.raises(DocumentValidationError, match=r"operation\.intoServiceDate: '7172-75-08'"):
        import_catenax(example)


def test_corrected_example_imports(corrected: dict[str, Any]) -> None:
    result = import_catenax(corrected)
    p = result.passport
    assert p.battery_id == "SN12345678"
    assert str(p.passport_id) == "550e8400-e29b-41d4-a716-446655440000"
    assert p.general.category is BatteryCategory.EV
    assert p.materials.chemistry is Chemistry.NCM
    assert p.general.mass_kg == pytest.approx(0.02)  # 20 g
    assert p.general.put_into_service is not None
    assert p.general.put_into_service.isoformat() == "2000-02-15"
    assert p.metadata.predecessor is None  # the nil UUID means none
    assert p.carbon_footprint.main_production_kg_co2e_per_kwh == 12.678
    share = p.circularity.recycled_share(RecycledElement.LEAD)
    assert share is not None
    assert share.total_percent == 12.5
    soc = p.performance.dynamic.state_of_charge_percent
    assert soc is not None
    assert soc.measured_at.utcoffset() is not None
    # Only the top-level source list has no home in the model, and it is reported, not dropped silently.
    assert result.unmapped == (
        "sources[0].header",
        "sources[0].category",
        "sources[0].type",
        "sources[0].content",
    )


def test_round_trip_import_export_import(corrected: dict[str, Any]) -> None:
    first = import_catenax(corrected).passport
    exported = export_catenax(first)
    assert schema_problems(exported) == []
    assert exported["specVersion"] == SPEC_VERSION
    second = import_catenax(exported)
    assert second.passport == first
    assert second.unmapped == ()
    assert export_catenax(second.passport) == exported


def test_round_trip_survives_sections(corrected: dict[str, Any]) -> None:
    passport = import_catenax(corrected).passport
    assert BatteryPassport.from_sections(passport.sections()) == passport


@pytest.mark.parametrize("chemistry", [Chemistry.NCM, Chemistry.NCA, Chemistry.LFP])
def test_sample_exports_valid_catenax(chemistry: Chemistry) -> None:
    exported = export_catenax(sample_passport(chemistry=chemistry))
    assert schema_problems(exported) == []
    again = import_catenax(exported)
    assert export_catenax(again.passport) == exported
    assert again.passport.materials.chemistry is chemistry


def test_export_ignores_the_korean_evaluation_and_its_grading_policy() -> None:
    # Catena-X has no place for the Korean records: a policy-graded evaluation changes nothing exported.
    sample = sample_passport()
    graded = sample.korea.performance_evaluations[0].model_copy(
        update={"grading_policy": GradingPolicyRef(id="kr-2026-1", digest="ab" * 32)}
    )
    korea = sample.korea.model_copy(update={"performance_evaluations": [graded]})
    passport = BatteryPassport.model_validate(sample.model_copy(update={"korea": korea}).model_dump())
    assert passport.korea.performance_evaluations[0].grading_policy is not None
    exported = export_catenax(passport)
    assert schema_problems(exported) == []
    assert exported == export_catenax(sample)


def test_voluntary_category_needs_consent(corrected: dict[str, Any]) -> None:
    corrected["identification"]["category"] = "SLI"
    assert [p for p, _ in _problems(corrected)] == ["identification.category"]
    voluntary = import_catenax(corrected, allow_voluntary_category=True).passport
    assert voluntary.general.category is BatteryCategory.SLI


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[leaf] = value


@pytest.mark.parametrize(
    ("path", "value", "reported_at", "reason"),
    [
        (
            "operation.manufacturer.manufacturingDate",
            "2000-02-30",
            "operation.manufacturer.manufacturingDate",
            "day is out of range",
        ),
        (
            "performance.dynamic.stateOfCharge.time",
            "2023-13-07T10:39:13Z",
            "performance.dynamic.stateOfCharge.time",
            "not a 'date-time'",
        ),
        (
            "performance.dynamic.stateOfCharge.time",
            "2023-12-07T10:39:13",
            "performance.dynamic.stateOfCharge.time",
            "timezone",
        ),
        (
            "performance.dynamic.stateOfCharge.value",
            150.0,
            "performance.dynamic.stateOfCharge.value",
            "less than or equal to 100",
        ),
        ("performance.rated.voltage.min", 5.0, "performance.rated.voltage", "min <= nominal <= max"),
        (
            "characteristics.physicalDimension.weight.value",
            -1.0,
            "characteristics.physicalDimension.weight.value",
            "greater than 0",
        ),
        ("identification.idDmc", "x" * 201, "identification.idDmc", "at most 200 characters"),
        ("identification.idDmc", "", "identification.idDmc", "at least 1 character"),
        ("metadata.passportIdentifier", "passport-1", "metadata.passportIdentifier", "does not match"),
        ("metadata.economicOperatorId", "BPNX0123456789ZZ", "metadata.economicOperatorId", "does not match"),
        ("identification.category", "incorporated", "identification.category", "not a battery category"),
        ("identification.category", "hybrid", "identification.category", "is not one of"),
        (
            "sustainability.carbonFootprint.0.lifecycle",
            "cradle to gate",
            "sustainability.carbonFootprint[0].lifecycle",
            "unknown life-cycle stage",
        ),
        (
            "sustainability.carbonFootprint.0.unit",
            "g CO2 / km",
            "sustainability.carbonFootprint[0].unit",
            "kg CO2e per kWh",
        ),
        (
            "materials.hazardous.lead.recycled",
            50.0,
            "materials.hazardous.lead.recycled",
            "differs from materials.active.lead.recycled",
        ),
        (
            "materials.active.nickel.recycled",
            101,
            "materials.active.nickel.recycled",
            "greater than the maximum",
        ),
        ("handling.applicable", False, "handling.applicable", "spare parts"),
        ("specVersion", "urn:io.catenax.battery.battery_pass:5.0.0", "specVersion", "this importer reads"),
        (
            "identification.identification.serial",
            [],
            "identification.identification.serial",
            "partInstanceId",
        ),
        ("identification", None, "identification", "is not of type 'object'"),
    ],
)
def test_import_reports_invalid_fields_by_path(
    corrected: dict[str, Any], path: str, value: Any, reported_at: str, reason: str
) -> None:
    _set(corrected, path, value)
    problems = _problems(corrected)
    assert any(p == reported_at and reason in r for p, r in problems), problems


def test_missing_required_field_is_named(corrected: dict[str, Any]) -> None:
    del corrected["performance"]["rated"]["voltage"]["nominal"]
    assert ("performance.rated.voltage.nominal", "required by the Catena-X schema but missing") in _problems(
        corrected
    )


@pytest.mark.parametrize("document", ["{not json", b"[1, 2]", "null"])
def test_non_documents_are_refused(document: str | bytes) -> None:
    assert _problems(document)[0][0] == "$"


def test_export_reports_what_catenax_cannot_express() -> None:
    passport = sample_passport(status=LifecycleStatus.RECYCLED)
    data = passport.model_dump(mode="json")
    data["performance"]["dynamic"]["state_of_charge_percent"] = None
    data["metadata"]["backup_reference"] = None
    with pytest.raises(DocumentValidationError) as excinfo:
        export_catenax(BatteryPassport.model_validate(data))
    problems = dict(excinfo.value.problems)
    assert "no status for recycled" in problems["sustainability.status"]
    assert "required" in problems["performance.dynamic.stateOfCharge"]
    assert "required" in problems["metadata.backupReference"]


def test_export_writes_absent_required_materials_as_not_contained() -> None:
    exported = export_catenax(sample_passport(chemistry=Chemistry.LFP))
    assert exported["materials"]["active"]["nickel"]["location"] == "not contained"
    assert exported["materials"]["active"]["lead"]["recycled"] == 0
    reimported = import_catenax(exported).passport
    assert {m.name for m in reimported.materials.active_materials} == {"lithium", "graphite"}
    assert reimported.circularity.recycled_share(RecycledElement.NICKEL) is None


def test_untimed_self_discharge_rate_is_stamped_with_the_document_date(corrected: dict[str, Any]) -> None:
    reading = import_catenax(corrected).passport.performance.dynamic.self_discharge_rate_percent
    assert reading is not None
    assert reading.value == 0.25
    assert reading.measured_at.isoformat() == "2000-01-01T00:00:00+00:00"  # metadata.lastModification


def test_file_round_trip(tmp_path: Path, corrected: dict[str, Any]) -> None:
    passport = import_catenax(corrected).passport
    write_catenax(passport, tmp_path / "pass.json")
    assert read_catenax(tmp_path / "pass.json").passport == passport


def test_schema_ships_as_package_data() -> None:
    shipped = resources.files("passport.interop").joinpath("BatteryPass-schema.json")
    assert shipped.is_file()
    schema = catenax_schema()
    assert schema["x-samm-aspect-model-urn"].endswith("battery_pass:6.1.0#BatteryPass")
    # The shipped file is the generated schema, unmodified: format keywords are added in memory only.
    assert "format" not in schema["components"]["schemas"]["DateTrait"]
    assert resources.files("passport.interop").joinpath("NOTICE.md").is_file()


def test_import_does_not_mutate_its_input(corrected: dict[str, Any]) -> None:
    before = copy.deepcopy(corrected)
    import_catenax(corrected)
    assert corrected == before


# -- strict parsing of incoming bytes ----------------------------------------------------------------


def test_deep_nesting_is_a_clear_error_not_a_crash() -> None:
    # In a fresh interpreter that has imported py_ecc (it raises the recursion limit to 100,000, so a
    # recursive parse overflows the C stack): a crash would show as a signal, not a message.
    script = (
        "import py_ecc.bn128, sys\n"
        "from passport.errors import JsonTooDeep\n"
        "from passport.interop import import_catenax\n"
        "try:\n"
        "    import_catenax(b'{\"a\":' * 100_000 + b'1' + b'}' * 100_000)\n"
        "except JsonTooDeep as exc:\n"
        "    print(exc.problems)\n"
        "    sys.exit(3)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 3, (run.returncode, run.stderr[-2000:])
    assert "nested too deeply" in run.stdout


def test_duplicate_keys_are_refused_not_last_wins(corrected: dict[str, Any]) -> None:
    text = json.dumps(corrected)
    marker = '"weight": {"value": '
    assert marker in text
    doubled = text.replace(marker, '"weight": {"value": 999999.0, "value": ', 1)
    with pytest.raises(JsonDuplicateKey, match="duplicate object key 'value'") as info:
        import_catenax(doubled.encode())
    assert info.value.problems[0][0] == "$"


@pytest.mark.parametrize(
    ("encode", "fragment"),
    [
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "byte-order mark"),
        (lambda text: text.encode("utf-16"), "UTF-16"),
        (lambda text: text.encode("utf-16-le"), "UTF-16"),
        (lambda text: "\ufeff" + text, "byte-order mark"),
    ],
)
def test_only_utf8_without_bom_is_read(
    corrected: dict[str, Any], encode: Callable[[str], str | bytes], fragment: str
) -> None:
    with pytest.raises(JsonEncodingError, match=fragment):
        import_catenax(encode(json.dumps(corrected)))
    assert import_catenax(json.dumps(corrected).encode()).passport  # the control: plain UTF-8 imports
