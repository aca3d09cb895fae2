"""Catena-X BatteryPass 6.1.0 import and export.

The Catena-X aspect model (``urn:samm:io.catenax.battery.battery_pass:6.1.0``, Eclipse Tractus-X,
CC-BY-4.0) is the data-space format most European partners exchange battery passports in. This module
maps it to and from ``BatteryPassport``:

* **Import** validates the document against the shipped JSON schema, with dates and timestamps checked
  as calendar values (the generated schema only constrains their *pattern*, so ``7172-75-08`` would
  pass it), then maps it into the model. Every problem (schema, mapping, model rule) is collected and
  raised together as one ``DocumentValidationError``, each named by its JSON path in the Catena-X
  document. Nothing invalid is stored, and fields the model does not carry are listed in
  ``CatenaXImport.unmapped`` rather than dropped silently.
* **Export** maps a passport into a Catena-X document and validates it against the same schema before
  returning it: attributes Catena-X requires but the passport lacks are reported by path.

Catena-X requires some entries whatever the chemistry (nickel, lithium, cobalt and lead as active
materials; cadmium, mercury and lead as hazardous substances). When the passport has no such
material, export writes an entry located ``"not contained"`` with zero content, and import reads such
an entry back as absent.

One Catena-X dynamic value carries no time although the model timestamps every one: the dynamic
self-discharge rate is stamped with the document's ``metadata.lastModification`` (else ``issueDate``)
at 00:00 UTC, the moment the document vouches for it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from passport.canonical import parse_json_strict
from passport.errors import DocumentValidationError, InvalidIdentifier
from passport.ids import parse_passport_id
from passport.model import (
    BatteryCategory,
    BatteryPassport,
    Chemistry,
    ConcentrationUnit,
    DocumentRef,
    LifecycleStatus,
    RecycledElement,
    WarrantyUnit,
)
from passport.model.access import validation_problems
from passport.model.carbon import LIFECYCLE_STAGES
from passport.model.performance import Reading

logger = logging.getLogger(__name__)

SPEC_VERSION = "urn:io.catenax.battery.battery_pass:6.1.0"
SCHEMA_RESOURCE = "BatteryPass-schema.json"
NOT_CONTAINED = "not contained"
_NIL_UUID = "urn:uuid:00000000-0000-0000-0000-000000000000"
_CLIMATE_CHANGE_TOTAL = "Climate Change Total"
_CO2_UNIT = "kg CO2e / kWh"
_CO2_UNIT_SPELLINGS = {"kgco2/kwh", "kgco2e/kwh", "kgco2eq/kwh", "kgco2-eq/kwh", "kgco2-e/kwh"}

# Catena-X life-cycle stage names (free text there); the first spelling is the one we write.
_STAGE_NAMES: dict[str, tuple[str, ...]] = {
    "total": ("total", "whole life cycle", "total life cycle"),
    "raw_material_acquisition": ("raw material acquisition and pre-processing", "raw material acquisition"),
    "main_production": ("main product production", "main production"),
    "distribution": ("distribution",),
    "end_of_life": ("end of life and recycling", "end of life", "end-of-life and recycling"),
}
_STAGE_BY_NAME = {name: stage for stage, names in _STAGE_NAMES.items() for name in names}

_MASS_TO_KG = {
    "unit:gram": 1e-3,
    "unit:kilogram": 1.0,
    "unit:tonneMetricTon": 1e3,
    "unit:tonUsOrShortTonUkorus": 907.18474,
    "unit:ounceAvoirdupois": 0.028349523125,
    "unit:pound": 0.45359237,
}
_LENGTH_TO_MM = {
    "unit:millimetre": 1.0,
    "unit:centimetre": 10.0,
    "unit:metre": 1e3,
    "unit:kilometre": 1e6,
    "unit:inch": 25.4,
    "unit:foot": 304.8,
    "unit:yard": 914.4,
}
_WARRANTY_UNITS = {
    "unit:day": WarrantyUnit.DAY,
    "unit:month": WarrantyUnit.MONTH,
    "unit:year": WarrantyUnit.YEAR,
    "unit:cycle": WarrantyUnit.CYCLE,
    "unit:runningOrOperatingHour": WarrantyUnit.OPERATING_HOUR,
}
_CONCENTRATION_UNITS = {
    "unit:partPerMillion": ConcentrationUnit.PPM,
    "unit:percent": ConcentrationUnit.PERCENT,
    "unit:percentVolume": ConcentrationUnit.PERCENT_VOLUME,
    "unit:partPerThousand": ConcentrationUnit.PER_MILLE,
    "unit:partPerBillionUs": ConcentrationUnit.PPB,
    "unit:partPerTrillionUs": ConcentrationUnit.PPT,
}
_STATUSES = {
    "original": LifecycleStatus.ORIGINAL,
    "repurposed": LifecycleStatus.REPURPOSED,
    "re-used": LifecycleStatus.REUSED,
    "remanufactured": LifecycleStatus.REMANUFACTURED,
    "waste": LifecycleStatus.WASTE,
}
_CHEMISTRY_ALIASES = {"nmc": Chemistry.NCM, "lifepo4": Chemistry.LFP, "lmfp": Chemistry.LMFP}
_ACTIVE_ELEMENTS = ("nickel", "lithium", "cobalt")  # Catena-X's fixed keys besides lead
_HAZARDOUS_ELEMENTS = ("cadmium", "mercury", "lead")

# Dynamic readings: Catena-X path under performance.dynamic -> model field of DynamicPerformance.
_READINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("stateOfCharge",), "state_of_charge_percent"),
    (("fullCycles",), "full_cycles"),
    (("power", "fade"), "power_fade_percent"),
    (("power", "remaining"), "remaining_power_capability_w"),
    (("capacity", "fade"), "capacity_fade_percent"),
    (("capacity", "throughput"), "capacity_throughput_ah"),
    (("capacity", "capacity"), "remaining_capacity_ah"),
    (("roundTripEfficiency", "fade"), "round_trip_efficiency_fade_percent"),
    (("roundTripEfficiency", "remaining"), "round_trip_efficiency_percent"),
    (("resistance", "increase", "cell"), "cell_resistance_increase_percent"),
    (("resistance", "increase", "module"), "module_resistance_increase_percent"),
    (("resistance", "increase", "pack"), "pack_resistance_increase_percent"),
    (("resistance", "remaining", "cell"), "cell_resistance_ohm"),
    (("resistance", "remaining", "module"), "module_resistance_ohm"),
    (("resistance", "remaining", "pack"), "pack_resistance_ohm"),
    (("energy", "soce"), "state_of_certified_energy_percent"),
    (("energy", "remaining"), "remaining_energy_kwh"),
    (("energy", "throughput"), "energy_throughput_kwh"),
)

Problems = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class CatenaXImport:
    """An imported passport, and the paths of document fields the passport model does not carry."""

    passport: BatteryPassport
    unmapped: tuple[str, ...] = ()


# -- schema --------------------------------------------------------------------------------------


def catenax_schema() -> dict[str, Any]:
    """The Catena-X BatteryPass 6.1.0 JSON schema, as shipped (a fresh copy each call)."""
    text = resources.files("passport.interop").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _check_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)  # raises ValueError with the reason ("month must be in 1..12")
    return True


def _check_timestamp(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


@functools.cache
def _validator() -> Draft4Validator:
    # Built once: compiling the 190 kB schema costs far more than validating a document with it.
    schema = catenax_schema()
    # The generated schema checks dates and timestamps by regular expression only; adding format
    # keywords makes the format checker below reject impossible calendar values as well.
    components = schema["components"]["schemas"]
    components["DateTrait"]["format"] = "date"
    components["Timestamp"]["format"] = "date-time"
    checker = FormatChecker(formats=())
    checker.checks("date", raises=ValueError)(_check_date)
    checker.checks("date-time", raises=ValueError)(_check_timestamp)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=checker)


def _json_path(parts: Iterator[str | int] | Any) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _schema_problem(error: SchemaError) -> tuple[str, str]:
    path = _json_path(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        # Name the missing property itself, so the path points at what has to be added.
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [p for p in required if p not in error.instance]
        if missing:
            where = _json_path([*error.absolute_path, missing[0]])
            return where, "required by the Catena-X schema but missing"
    reason = error.message
    if error.cause is not None:
        reason = f"{reason} ({error.cause})"
    return path or "$", reason


def schema_problems(document: Any) -> Problems:
    """Every way ``document`` violates the Catena-X BatteryPass 6.1.0 schema, by JSON path."""
    errors = sorted(
        _validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [_schema_problem(e) for e in errors]


# -- import --------------------------------------------------------------------------------------


class _Missing:
    """Marks an absent value (distinct from JSON null)."""


_MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class _At:
    """A value in the Catena-X document with its path; reading a leaf marks it as mapped."""

    value: Any
    path: str
    seen: set[str] = field(repr=False, compare=False)

    def __getitem__(self, key: str) -> _At:
        value = self.value.get(key, _MISSING) if isinstance(self.value, Mapping) else _MISSING
        return _At(value, f"{self.path}.{key}" if self.path else key, self.seen)

    @property
    def present(self) -> bool:
        return self.value is not _MISSING and self.value is not None

    def each(self) -> list[_At]:
        if not isinstance(self.value, list):
            return []
        self.seen.add(self.path)
        return [_At(v, f"{self.path}[{i}]", self.seen) for i, v in enumerate(self.value)]

    def raw(self) -> Any:
        """The value as is (None when absent), marked as mapped."""
        if not self.present:
            return None
        self.seen.add(self.path)
        return self.value

    def text(self) -> str | None:
        value = self.raw()
        return value if isinstance(value, str) else None

    def number(self) -> float | int | None:
        value = self.raw()
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _leaf_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaf_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaf_paths(item, f"{path}[{i}]")
    else:
        yield path


def _model_path(loc: tuple[str | int, ...]) -> str:
    return _json_path(iter(loc))


class _Importer:
    """Maps one Catena-X document into the model's JSON, remembering where each value came from."""

    def __init__(self, document: Mapping[str, Any], allow_voluntary_category: bool) -> None:
        self.seen: set[str] = set()
        self.root = _At(document, "", self.seen)
        self.allow_voluntary_category = allow_voluntary_category
        self.problems: Problems = []
        # model path ("general.mass_kg") -> Catena-X path, to report model-rule failures by the
        # path of the document field they came from.
        self.origin: dict[str, str] = {}

    def problem(self, at: _At | str, reason: str) -> None:
        self.problems.append((at.path if isinstance(at, _At) else at, reason))

    def src(self, model_path: str, at: _At) -> None:
        self.origin[model_path] = at.path

    def locate(self, exc: ValidationError) -> Problems:
        """Model validation errors, each reported at the Catena-X path its value came from."""
        out: Problems = []
        for path, reason in validation_problems(exc):
            loc = path
            while loc and loc not in self.origin:
                loc = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", loc) if re.search(r"[.\[]", loc) else ""
            if loc:
                out.append((self.origin[loc], f"{reason} (passport attribute {path})"))
                continue
            # A rule across several attributes fails on their group, which has no single source;
            # its message names the attributes, so report it at the first one's source.
            named = [
                source
                for model_path, source in self.origin.items()
                if model_path.startswith(f"{path}.")
                and re.search(rf"\b{re.escape(model_path.removeprefix(path + '.'))}\b", reason)
            ]
            if named:
                also = f"; see also {', '.join(named[1:])}" if len(named) > 1 else ""
                out.append((named[0], f"{reason} (passport rule on {path}{also})"))
            else:
                out.append((path, f"{reason} (passport attribute; no Catena-X source)"))
        return out

    def unmapped(self, document: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(p for p in _leaf_paths(document) if p and p not in self.seen)

    # -- small readers ----------------------------------------------------------------------------

    def docs(self, at: _At, model_path: str) -> list[dict[str, Any]]:
        self.src(model_path, at)
        out = []
        for i, item in enumerate(at.each()):
            self.src(f"{model_path}[{i}]", item)
            out.append(
                {
                    "title": item["header"].text(),
                    "content": item["content"].text(),
                    "content_type": item["contentType"].text(),
                }
            )
        return out

    def date(self, at: _At, model_path: str) -> str | None:
        self.src(model_path, at)
        value = at.text()
        try:
            return date.fromisoformat(value).isoformat() if value is not None else None
        except ValueError:
            return None  # already reported by the schema's format check

    def reading(self, at: _At, model_path: str) -> dict[str, Any] | None:
        self.src(model_path, at)
        if not at.present:
            return None
        self.src(f"{model_path}.value", at["value"])
        self.src(f"{model_path}.measured_at", at["time"])
        return {"value": at["value"].number(), "measured_at": at["time"].text()}

    def identifiers(self, at: _At, model_path: str) -> list[dict[str, Any]]:
        self.src(model_path, at)
        out = []
        for i, item in enumerate(at.each()):
            self.src(f"{model_path}[{i}]", item)
            out.append(
                {"scheme": item["type"].text(), "identifier": item["id"].text(), "name": item["name"].text()}
            )
        return out

    def concentration(self, value: _At, unit: _At, model_path: str) -> dict[str, Any]:
        self.src(model_path, value)
        unit_text = unit.text()
        return {"value": value.number(), "unit": _CONCENTRATION_UNITS.get(unit_text or "", unit_text)}

    # -- groups -----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        doc = self.root
        spec = doc["specVersion"]
        if spec.present and spec.text() != SPEC_VERSION:
            self.problem(spec, f"this importer reads {SPEC_VERSION}, not {spec.value!r}")
        general = self.general()
        metadata = self.metadata(general)
        materials, recycled = self.materials()
        due_diligence: dict[str, Any] = {}
        circularity: dict[str, Any] = {"recycled_content": recycled, "end_of_life": {}}
        conformity: dict[str, Any] = {}
        self.sustainability(due_diligence, circularity)
        self.conformity(due_diligence, conformity)
        self.safety(circularity, conformity)
        self.handling(circularity)
        return {
            "metadata": metadata,
            "general": general,
            "carbon_footprint": self.carbon_footprint(general),
            "due_diligence": due_diligence,
            "materials": materials,
            "circularity": circularity,
            "performance": self.performance(metadata),
            "conformity": conformity,
        }

    def general(self) -> dict[str, Any]:
        ident, inner = self.root["identification"], self.root["identification"]["identification"]
        out: dict[str, Any] = {}

        category = ident["category"]
        self.src("general.category", category)
        value = category.text()
        if value is not None:
            try:
                parsed = BatteryCategory(value)
            except ValueError:
                self.problem(
                    category, f"{value!r} is not a battery category of Regulation (EU) 2023/1542 Art. 2"
                )
            else:
                if not parsed.passport_required and not self.allow_voluntary_category:
                    self.problem(
                        category,
                        f"{value} batteries are not subject to a battery passport (Art. 77(1): EV, LMT "
                        "and industrial batteries); import with allow_voluntary_category=True for a "
                        "voluntary one",
                    )
                out["category"] = parsed.value

        serials = [s for s in inner["serial"].each() if s["key"].value == "partInstanceId"]
        self.src("general.battery_id", inner["serial"])
        if len(serials) != 1:
            self.problem(
                inner["serial"].path or "identification.identification.serial",
                f"expected exactly one serial with key partInstanceId (the battery id), found {len(serials)}",
            )
        else:
            serials[0]["key"].raw()
            self.src("general.battery_id", serials[0]["value"])
            out["battery_id"] = serials[0]["value"].text()
        for batch in inner["batch"].each():
            if batch["key"].value == "batchId":
                batch["key"].raw()
                self.src("general.batch_id", batch["value"])
                out["batch_id"] = batch["value"].text()

        self.src("general.model_identifier", inner["type"]["manufacturerPartId"])
        out["model_identifier"] = inner["type"]["manufacturerPartId"].text()
        self.src("general.product_name", inner["type"]["nameAtManufacturer"])
        out["product_name"] = inner["type"]["nameAtManufacturer"].text()
        self.src("general.product_codes", inner["codes"])
        out["product_codes"] = [
            {"key": c["key"].text(), "value": c["value"].text()} for c in inner["codes"].each()
        ]
        self.src("general.classifications", inner["classification"])
        out["classifications"] = [
            {
                "standard": c["classificationStandard"].text(),
                "classification_id": c["classificationID"].text(),
                "description": c["classificationDescription"].text(),
            }
            for c in inner["classification"].each()
        ]
        carrier = inner["dataCarrier"]
        self.src("general.data_carrier", carrier)
        self.src("general.data_carrier.encoded_identifier", ident["idDmc"])
        if carrier.present or ident["idDmc"].present:
            out["data_carrier"] = {
                "carrier_type": carrier["carrierType"].text(),
                "layout": carrier["carrierLayout"].text(),
                "encoded_identifier": ident["idDmc"].text(),
            }

        operation = self.root["operation"]
        out["put_into_service"] = self.date(operation["intoServiceDate"], "general.put_into_service")
        maker = operation["manufacturer"]
        self.src("general.manufacturer", maker["manufacturer"])
        out["manufacturer"] = {"identifier": maker["manufacturer"].text()}
        out["manufacturing_date"] = self.date(maker["manufacturingDate"], "general.manufacturing_date")
        facilities = maker["facility"].each()
        self.src("general.manufacturing_place", maker["facility"])
        if facilities:  # further facilities stay unmapped: the model names one place of manufacture
            self.src("general.manufacturing_place", facilities[0])
            out["manufacturing_place"] = {"identifier": facilities[0]["facility"].text()}

        characteristics = self.root["characteristics"]
        warranty = characteristics["warranty"]
        self.src("general.warranty", warranty)
        if warranty.present:
            unit = warranty["lifeUnit"].text()
            out["warranty"] = {
                "value": warranty["lifeValue"].number(),
                "unit": _WARRANTY_UNITS.get(unit or "", unit),
            }
        dims = characteristics["physicalDimension"]
        weight = dims["weight"]
        # Reported at the number itself (the unit only scales it), not at the enclosing object.
        self.src("general.mass_kg", weight["value"])
        mass, mass_unit = weight["value"].number(), weight["unit"].text()
        if mass is not None and mass_unit in _MASS_TO_KG:
            out["mass_kg"] = mass * _MASS_TO_KG[mass_unit]
        sizes = {}
        for key in ("length", "width", "height"):
            self.src(f"general.dimensions.{key}_mm", dims[key])
            size, unit = dims[key]["value"].number(), dims[key]["unit"].text()
            if size is not None and unit in _LENGTH_TO_MM:
                sizes[f"{key}_mm"] = size * _LENGTH_TO_MM[unit]
        if sizes:
            out["dimensions"] = sizes

        commercial = self.root["commercial"]
        out["placed_on_market"] = self.date(commercial["placedOnMarket"], "general.placed_on_market")
        self.src("general.intended_use", commercial["purpose"])
        out["intended_use"] = [p.text() for p in commercial["purpose"].each()]

        status = self.root["sustainability"]["status"]
        self.src("general.status", status)
        if status.text() in _STATUSES:
            out["status"] = _STATUSES[status.text() or ""].name.lower()
        return out

    def metadata(self, general: dict[str, Any]) -> dict[str, Any]:
        meta = self.root["metadata"]
        out: dict[str, Any] = {
            "issued_on": self.date(meta["issueDate"], "metadata.issued_on"),
            "last_modified_on": self.date(meta["lastModification"], "metadata.last_modified_on"),
            "expires_on": self.date(meta["expirationDate"], "metadata.expires_on"),
        }
        for key, model_key in (
            ("version", "document_version"),
            ("status", "publication_status"),
            ("backupReference", "backup_reference"),
            ("registrationIdentifier", "registration_identifier"),
        ):
            self.src(f"metadata.{model_key}", meta[key])
            if meta[key].present:
                out[model_key] = meta[key].text()
        passport_id = meta["passportIdentifier"]
        self.src("general.passport_id", passport_id)
        general["passport_id"] = self._uuid(passport_id)
        predecessor = meta["predecessor"]
        self.src("metadata.predecessor", predecessor)
        if predecessor.present and predecessor.text() not in (_NIL_UUID, _NIL_UUID.removeprefix("urn:uuid:")):
            out["predecessor"] = self._uuid(predecessor)
        else:
            predecessor.raw()
        operator = meta["economicOperatorId"]
        self.src("general.economic_operator", operator)
        # The manufacturer placing its own battery on the market is the usual case; keep it implicit.
        if operator.present and operator.text() != general.get("manufacturer", {}).get("identifier"):
            general["economic_operator"] = {"identifier": operator.text()}
        else:
            operator.raw()
        return out

    def _uuid(self, at: _At) -> str | None:
        text = at.text()
        if text is None:
            return None
        try:
            return str(parse_passport_id(text))
        except InvalidIdentifier as exc:
            self.problem(at, str(exc))
            return None

    def sustainability(self, due_diligence: dict[str, Any], circularity: dict[str, Any]) -> None:
        docs = self.root["sustainability"]["documents"]
        eol = circularity["end_of_life"]
        eol["separate_collection"] = self.docs(
            docs["separateCollection"], "circularity.end_of_life.separate_collection"
        )
        eol["waste_prevention"] = self.docs(
            docs["wastePrevention"], "circularity.end_of_life.waste_prevention"
        )
        due_diligence["eu_taxonomy_disclosures"] = self.docs(
            docs["euTaxonomyDisclosureStatement"], "due_diligence.eu_taxonomy_disclosures"
        )
        due_diligence["sustainability_reports"] = self.docs(
            docs["sustainabilityReport"], "due_diligence.sustainability_reports"
        )

    def carbon_footprint(self, general: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"declarations": [], "rulebooks": []}
        classes: dict[str, _At] = {}
        plant = general.get("manufacturing_place", {}).get("identifier")
        for entry in self.root["sustainability"]["carbonFootprint"].each():
            if entry["type"].value != _CLIMATE_CHANGE_TOTAL:
                continue  # other impact categories stay unmapped: Art. 7 declares climate change only
            entry["type"].raw()
            lifecycle = entry["lifecycle"]
            stage = _STAGE_BY_NAME.get((lifecycle.text() or "").strip().casefold())
            if stage is None:
                self.problem(
                    lifecycle,
                    f"unknown life-cycle stage {lifecycle.value!r}; expected one of "
                    + ", ".join(repr(n[0]) for n in _STAGE_NAMES.values()),
                )
                continue
            unit = entry["unit"]
            if (unit.text() or "").replace(" ", "").casefold() not in _CO2_UNIT_SPELLINGS:
                self.problem(unit, f"unit {unit.value!r} cannot be read as kg CO2e per kWh")
                continue
            key = f"{stage}_kg_co2e_per_kwh"
            if key in out:
                self.problem(lifecycle, f"life-cycle stage {lifecycle.value!r} declared twice")
                continue
            self.src(f"carbon_footprint.{key}", entry["value"])
            out[key] = entry["value"].number()
            performance_class = entry["performanceClass"]
            if performance_class.present:
                classes[str(performance_class.raw())] = performance_class
            for model_key, cx_key in (("declarations", "declaration"), ("rulebooks", "rulebook")):
                for doc in self.docs(entry[cx_key], f"carbon_footprint.{model_key}"):
                    if doc not in out[model_key]:  # export repeats them on every stage's entry
                        out[model_key].append(doc)
            for facility in entry["manufacturingPlant"].each():
                if facility["facility"].value == plant:
                    facility["facility"].raw()
        if len(classes) > 1:
            self.problem(next(iter(classes.values())), f"conflicting performance classes {sorted(classes)}")
        elif classes:
            ((value, at),) = classes.items()
            self.src("carbon_footprint.performance_class", at)
            out["performance_class"] = value
        return out

    def materials(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        materials = self.root["materials"]
        active, hazardous = materials["active"], materials["hazardous"]
        out: dict[str, Any] = {"active_materials": [], "hazardous_substances": [], "composition": []}
        recycled: list[dict[str, Any]] = []

        chemistry = self.root["identification"]["chemistry"]
        self.src("materials.chemistry", chemistry)
        if chemistry.present:
            parsed, designation = _parse_chemistry(chemistry.text() or "")
            out["chemistry"] = parsed.value
            out["chemistry_designation"] = designation

        for key in (*_ACTIVE_ELEMENTS, "lead"):
            entry = active[key]
            if not entry.present or _not_contained(entry):
                continue
            path = f"materials.active_materials[{len(out['active_materials'])}]"
            self.src(path, entry)
            item = self._active(entry, key, path)
            if key == "lead":
                self.src(f"{path}.concentration", entry["concentration"])
                if entry["concentration"].present:
                    item["concentration"] = self.concentration(
                        entry["concentration"], entry["materialUnit"], f"{path}.concentration"
                    )
                item["impact_documents"] = self.docs(entry["impactOfSubstances"], f"{path}.impact_documents")
            out["active_materials"].append(item)
            if key != "lead":
                self.src(f"circularity.recycled_content[{len(recycled)}]", entry["recycled"])
                recycled.append({"element": key, "total_percent": entry["recycled"].number()})
        for entry in active["other"].each():
            path = f"materials.active_materials[{len(out['active_materials'])}]"
            self.src(path, entry)
            identifiers = self.identifiers(entry["materialIdentification"], f"{path}.identifiers")
            item = self._active(entry, identifiers[0]["name"] if identifiers else None, path)
            item["identifiers"] = identifiers
            self.src(f"{path}.recycled_share_percent", entry["recycled"])
            item["recycled_share_percent"] = entry["recycled"].number()
            out["active_materials"].append(item)

        for key in _HAZARDOUS_ELEMENTS:
            entry = hazardous[key]
            if entry.present and not _not_contained(entry):
                out["hazardous_substances"].append(
                    self._hazardous(entry, key, len(out["hazardous_substances"]))
                )
        for entry in hazardous["other"].each():
            index = len(out["hazardous_substances"])
            identifiers = self.identifiers(
                entry["materialIdentification"], f"materials.hazardous_substances[{index}].identifiers"
            )
            item = self._hazardous(entry, identifiers[0]["name"] if identifiers else None, index)
            item["identifiers"] = identifiers
            out["hazardous_substances"].append(item)

        lead = self._lead_recycled(active["lead"], hazardous["lead"])
        if lead is not None:
            self.src(f"circularity.recycled_content[{len(recycled)}]", lead)
            recycled.append({"element": RecycledElement.LEAD.value, "total_percent": lead.number()})

        for i, entry in enumerate(materials["composition"].each()):
            path = f"materials.composition[{i}]"
            self.src(path, entry)
            out["composition"].append(
                {
                    "location": entry["location"].text(),
                    "identifiers": self.identifiers(entry["id"], f"{path}.identifiers"),
                    "concentration": self.concentration(
                        entry["concentration"], entry["unit"], f"{path}.concentration"
                    ),
                    "critical": entry["critical"].raw(),
                    "recycled_share_percent": entry["recycled"].number(),
                    "renewable_share_percent": entry["renewable"].number(),
                    "documentation": self.docs(entry["documentation"], f"{path}.documentation"),
                }
            )

        critical: list[str] = []
        for item in out["active_materials"] + out["hazardous_substances"]:
            if item.get("critical") is True and item.get("name") and item["name"] not in critical:
                critical.append(item["name"])
        out["critical_raw_materials"] = critical
        return out, recycled

    def _active(self, entry: _At, name: str | None, path: str) -> dict[str, Any]:
        self.src(f"{path}.name", entry)
        return {
            "name": name,
            "location": entry["location"].text(),
            "critical": entry["critical"].raw(),
            "documentation": self.docs(entry["documentation"], f"{path}.documentation"),
        }

    def _hazardous(self, entry: _At, name: str | None, index: int) -> dict[str, Any]:
        path = f"materials.hazardous_substances[{index}]"
        self.src(path, entry)
        self.src(f"{path}.name", entry)
        return {
            "name": name,
            "concentration": self.concentration(
                entry["concentration"], entry["materialUnit"], f"{path}.concentration"
            ),
            "location": entry["location"].text(),
            "critical": entry["critical"].raw(),
            "impact_documents": self.docs(entry["impactOfSubstances"], f"{path}.impact_documents"),
            "documentation": self.docs(entry["documentation"], f"{path}.documentation"),
        }

    def _lead_recycled(self, active: _At, hazardous: _At) -> _At | None:
        # Catena-X states lead's recycled share twice (as an active and as a hazardous material).
        sources = [
            at["recycled"]
            for at in (active, hazardous)
            if at.present and not _not_contained(at) and at["recycled"].number() is not None
        ]
        if len(sources) == 2 and sources[0].value != sources[1].value:
            self.problem(sources[1], f"differs from {sources[0].path} ({sources[0].value})")
            return None
        if not sources:
            return None
        # A zero share stated only on trace lead among hazardous substances declares nothing.
        if len(sources) == 1 and sources[0].path.startswith("materials.hazardous") and sources[0].value == 0:
            return None
        return sources[0]

    def performance(self, metadata: dict[str, Any]) -> dict[str, Any]:
        perf = self.root["performance"]
        rated, dynamic = perf["rated"], perf["dynamic"]
        out_rated: dict[str, Any] = {}

        def block(model_key: str, at: _At, fields: dict[str, str]) -> None:
            self.src(f"performance.rated.{model_key}", at)
            if not at.present:
                return
            values = {}
            for cx_key, key in fields.items():
                self.src(f"performance.rated.{model_key}.{key}", at[cx_key])
                values[key] = at[cx_key].number()
            out_rated[model_key] = values

        block(
            "voltage",
            rated["voltage"],
            {"min": "min_v", "nominal": "nominal_v", "max": "max_v", "temperature": "temperature_c"},
        )
        block(
            "capacity",
            rated["capacity"],
            {
                "value": "rated_ah",
                "thresholdExhaustion": "exhaustion_threshold_percent",
                "temperature": "temperature_c",
            },
        )
        block("energy", rated["energy"], {"value": "rated_kwh", "temperature": "temperature_c"})
        block(
            "power",
            rated["power"],
            {
                "value": "original_w",
                "at80SoC": "at_80_percent_soc_w",
                "at20SoC": "at_20_percent_soc_w",
                "temperature": "temperature_c",
            },
        )
        block(
            "resistance",
            rated["resistance"],
            {"cell": "cell_ohm", "module": "module_ohm", "pack": "pack_ohm", "temperature": "temperature_c"},
        )
        block(
            "round_trip_efficiency",
            rated["roundTripEfficiency"],
            {
                "initial": "initial_percent",
                "50PercentLife": "at_50_percent_cycle_life_percent",
                "depthOfDischarge": "depth_of_discharge_percent",
                "temperature": "temperature_c",
            },
        )
        block("temperature_range", rated["temperature"], {"lower": "lower_c", "upper": "upper_c"})
        lifetime = rated["lifetime"]
        self.src("performance.rated.lifetime", lifetime)
        if lifetime.present:
            test = lifetime["cycleLifeTesting"]
            self.src("performance.rated.lifetime.cycles", test["cycles"])
            self.src("performance.rated.lifetime.years", lifetime["expectedYears"])
            self.src("performance.rated.lifetime.cycle_life_test", test)
            out_rated["lifetime"] = {
                "cycles": test["cycles"].number(),
                "years": lifetime["expectedYears"].number(),
                "cycle_life_test": {
                    "charge_c_rate": test["appliedChargeRate"].number(),
                    "discharge_c_rate": test["appliedDischargeRate"].number(),
                    "depth_of_discharge_percent": test["depthOfDischarge"].number(),
                    "temperature_c": test["temperature"].number(),
                },
                "reports": self.docs(lifetime["report"], "performance.rated.lifetime.reports"),
            }
        self.src("performance.rated.self_discharge_rate_percent", rated["selfDischargingRate"])
        out_rated["self_discharge_rate_percent"] = rated["selfDischargingRate"].number()
        out_rated["documents"] = self.docs(rated["performanceDocument"], "performance.rated.documents")
        out_rated["test_reports"] = self.docs(rated["testReport"], "performance.rated.test_reports")

        out_dynamic: dict[str, Any] = {}
        for keys, model_key in _READINGS:
            at = dynamic
            for key in keys:
                at = at[key]
            out_dynamic[model_key] = self.reading(at, f"performance.dynamic.{model_key}")
        rate = dynamic["selfDischargingRate"]
        self.src("performance.dynamic.self_discharge_rate_percent", rate)
        stamp = metadata.get("last_modified_on") or metadata.get("issued_on")
        if rate.present and stamp is not None:
            out_dynamic["self_discharge_rate_percent"] = {
                "value": rate.number(),
                "measured_at": f"{stamp}T00:00:00Z",
            }
        out_dynamic["documents"] = self.docs(dynamic["performanceDocument"], "performance.dynamic.documents")
        out_dynamic["negative_event_reports"] = self.docs(
            dynamic["negativeEvents"], "performance.dynamic.negative_event_reports"
        )
        out_dynamic["operating_environment_documents"] = self.docs(
            dynamic["operatingEnvironment"], "performance.dynamic.operating_environment_documents"
        )
        return {"rated": out_rated, "dynamic": out_dynamic}

    def conformity(self, due_diligence: dict[str, Any], conformity: dict[str, Any]) -> None:
        cx = self.root["conformity"]
        self.src("conformity.declaration_of_conformity_id", cx["declarationOfConformityId"])
        conformity["declaration_of_conformity_id"] = cx["declarationOfConformityId"].text()
        conformity["declarations_of_conformity"] = self.docs(
            cx["declarationOfConformity"], "conformity.declarations_of_conformity"
        )
        conformity["test_reports"] = self.docs(cx["resultOfTestReport"], "conformity.test_reports")
        due_diligence["third_party_assurances"] = self.docs(
            cx["thirdPartyAssurance"], "due_diligence.third_party_assurances"
        )
        due_diligence["policies"] = self.docs(cx["dueDiligencePolicy"], "due_diligence.policies")

    def safety(self, circularity: dict[str, Any], conformity: dict[str, Any]) -> None:
        safety = self.root["safety"]
        agents = []
        self.src("circularity.extinguishing_agents", safety["usableExtinguishAgent"])
        for i, agent in enumerate(safety["usableExtinguishAgent"].each()):
            path = f"circularity.extinguishing_agents[{i}]"
            self.src(path, agent)
            agents.append(
                {
                    "media": agent["media"].text(),
                    "fire_class": agent["fireClass"].text(),
                    "documents": self.docs(agent["document"], f"{path}.documents"),
                }
            )
        circularity["extinguishing_agents"] = agents
        for cx_key, model_key in (
            ("safetyMeasures", "safety_measures"),
            ("safeDischarging", "safe_discharging_documents"),
            ("dismantling", "dismantling_documents"),
            ("removalFromAppliance", "removal_documents"),
        ):
            circularity[model_key] = self.docs(safety[cx_key], f"circularity.{model_key}")
        conformity["label_meaning_documents"] = self.docs(
            safety["meaningOfLabels"], "conformity.label_meaning_documents"
        )

    def handling(self, circularity: dict[str, Any]) -> None:
        handling = self.root["handling"]
        content = handling["content"]
        self.src("circularity.spare_part_sources", content["producer"])
        circularity["spare_part_sources"] = [
            {"identifier": p["id"].text()} for p in content["producer"].each()
        ]
        self.src("circularity.spare_parts", content["sparePart"])
        circularity["spare_parts"] = [
            {"part_number": p["manufacturerPartId"].text(), "name": p["nameAtManufacturer"].text()}
            for p in content["sparePart"].each()
        ]
        applicable = handling["applicable"]
        # Derived on export from whether any spare part or source is listed; a contradiction is an error.
        if applicable.raw() is False and (circularity["spare_parts"] or circularity["spare_part_sources"]):
            self.problem(applicable, "is false although spare parts or their sources are listed")


def _not_contained(entry: _At) -> bool:
    location = entry["location"]
    if isinstance(location.value, str) and location.value.strip().casefold() == NOT_CONTAINED:
        # The whole stub is accounted for: it is how export says "absent".
        for key in entry.value:
            entry[key].raw()
        return True
    return False


def _parse_chemistry(text: str) -> tuple[Chemistry, str | None]:
    """``"Nickel Cobalt Manganese (NCM)"`` -> NCM; unrecognised text -> OTHER, keeping the text."""
    match = re.search(r"\(([^()]+)\)\s*$", text)
    candidates = ([match[1]] if match else []) + [text, re.sub(r"\s*\([^()]*\)\s*$", "", text)]
    for candidate in candidates:
        key = candidate.strip().casefold()
        for chemistry in Chemistry:
            if key in (chemistry.value.casefold(), chemistry.long_name.casefold()):
                return chemistry, None
        if key in _CHEMISTRY_ALIASES:
            return _CHEMISTRY_ALIASES[key], None
    return Chemistry.OTHER, text


def _load(document: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(document, str | bytes):
        # The one strict parser: depth bounded before parsing, duplicate keys, BOMs and UTF-16 refused
        # (a JsonParseError, itself a DocumentValidationError at path "$").
        document = parse_json_strict(document.encode("utf-8") if isinstance(document, str) else document)
    if not isinstance(document, Mapping):
        raise DocumentValidationError("a Catena-X BatteryPass is a JSON object", [("$", "not a JSON object")])
    return document


def import_catenax(
    document: Mapping[str, Any] | str | bytes, *, allow_voluntary_category: bool = False
) -> CatenaXImport:
    """Validate a Catena-X BatteryPass 6.1.0 document and map it into a ``BatteryPassport``.

    Raises ``DocumentValidationError`` whose ``problems`` list every invalid field by its JSON path
    in the document (schema violations, impossible dates, unmappable values, model rules). SLI and
    portable batteries need no passport (Art. 77(1)); they are refused unless
    ``allow_voluntary_category``.
    """
    doc = _load(document)
    problems = schema_problems(doc)
    importer = _Importer(doc, allow_voluntary_category)
    try:
        data = importer.run()
    except (TypeError, ValueError, KeyError, AttributeError):
        # Only a document that already broke the schema can derail the mapping; report those errors.
        if not problems:
            raise
        data = {}
    problems += [p for p in importer.problems if p not in problems]
    passport: BatteryPassport | None = None
    try:
        passport = BatteryPassport.model_validate(data)
    except ValidationError as exc:
        # Model rules are checked even when the schema already failed, so one import reports every
        # invalid field; a field already reported (say, refused and hence "missing") is not repeated.
        reported = {path for path, _ in problems}
        problems += [p for p in importer.locate(exc) if p[0] not in reported]
    if problems or passport is None:
        raise DocumentValidationError(
            _summary("Catena-X BatteryPass document is invalid", problems), problems
        )
    unmapped = importer.unmapped(doc)
    if unmapped:
        logger.info("Catena-X import of %s left %d fields unmapped", passport.passport_id, len(unmapped))
    return CatenaXImport(passport=passport, unmapped=unmapped)


def read_catenax(path: str | Path, *, allow_voluntary_category: bool = False) -> CatenaXImport:
    """``import_catenax`` of a JSON file."""
    return import_catenax(Path(path).read_bytes(), allow_voluntary_category=allow_voluntary_category)


def _summary(headline: str, problems: Problems) -> str:
    listed = "; ".join(f"{path}: {reason}" for path, reason in problems[:5])
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return f"{headline} ({len(problems)} problem{'s' * (len(problems) != 1)}): {listed}{more}"


# -- export --------------------------------------------------------------------------------------


def _docs(refs: list[DocumentRef]) -> list[dict[str, Any]]:
    return [{"contentType": r.content_type, "header": r.title, "content": r.content} for r in refs]


def _reading(reading: Reading[Any] | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {"value": reading.value, "time": reading.measured_at.isoformat()}


def _compact(value: Any) -> Any:
    """Drop keys whose value is None, so a missing required field shows as missing, not as null."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _identifiers(ids: list[Any]) -> list[dict[str, Any]]:
    return [{"type": i.scheme.value, "id": i.identifier, "name": i.name} for i in ids]


def _concentration_unit(unit: ConcentrationUnit) -> str:
    return next(k for k, v in _CONCENTRATION_UNITS.items() if v is unit)


def _stub(*, lead: bool = False, hazardous: bool = False) -> dict[str, Any]:
    stub: dict[str, Any] = {"location": NOT_CONTAINED, "critical": False, "documentation": []}
    if lead or hazardous:
        stub |= {"concentration": 0, "materialUnit": "unit:partPerMillion", "impactOfSubstances": []}
    if not hazardous or lead:
        stub["recycled"] = 0
    return stub


def export_catenax(passport: BatteryPassport) -> dict[str, Any]:
    """The passport as a Catena-X BatteryPass 6.1.0 document, validated against the schema.

    Raises ``DocumentValidationError`` listing, by Catena-X JSON path, every field the schema
    requires that the passport cannot supply (and values Catena-X cannot express).
    """
    problems: Problems = []
    document = _compact(_export(passport, problems))
    explained = {path for path, _ in problems}  # the mapping's reason beats the schema's "missing"
    problems += [p for p in schema_problems(document) if p[0] not in explained]
    if problems:
        raise DocumentValidationError(
            _summary("passport cannot be expressed as Catena-X BatteryPass 6.1.0", problems), problems
        )
    return document  # type: ignore[no-any-return]


def write_catenax(passport: BatteryPassport, path: str | Path) -> None:
    """``export_catenax`` to a JSON file (UTF-8, indented, trailing newline)."""
    text = json.dumps(export_catenax(passport), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def _export(p: BatteryPassport, problems: Problems) -> dict[str, Any]:
    g, m = p.general, p.materials
    status = {v: k for k, v in _STATUSES.items()}.get(g.status)
    if status is None:
        problems.append(
            ("sustainability.status", f"Catena-X 6.1.0 has no status for {g.status.name.lower()} batteries")
        )
    chemistry = (
        (m.chemistry_designation or m.chemistry.long_name)
        if m.chemistry is Chemistry.OTHER
        else f"{m.chemistry.long_name} ({m.chemistry.value})"
    )
    carrier = g.data_carrier
    return {
        "specVersion": SPEC_VERSION,
        "identification": {
            "category": g.category.value,
            "idDmc": carrier.encoded_identifier if carrier else None,
            "chemistry": chemistry,
            "identification": {
                "serial": [{"key": "partInstanceId", "value": g.battery_id}],
                "batch": [{"key": "batchId", "value": g.batch_id}] if g.batch_id else None,
                "type": {"manufacturerPartId": g.model_identifier, "nameAtManufacturer": g.product_name},
                "codes": [{"key": c.key, "value": c.value} for c in g.product_codes],
                "classification": [
                    {
                        "classificationStandard": c.standard,
                        "classificationID": c.classification_id,
                        "classificationDescription": c.description,
                    }
                    for c in g.classifications
                ],
                "dataCarrier": {"carrierType": carrier.carrier_type, "carrierLayout": carrier.layout}
                if carrier
                else None,
            },
        },
        "operation": {
            "intoServiceDate": _iso(g.put_into_service),
            "manufacturer": {
                "facility": [{"facility": g.manufacturing_place.identifier}],
                "manufacturer": g.manufacturer.identifier,
                "manufacturingDate": _iso(g.manufacturing_date),
            },
        },
        "characteristics": {
            "warranty": {
                "lifeValue": g.warranty.value,
                "lifeUnit": next(k for k, v in _WARRANTY_UNITS.items() if v is g.warranty.unit),
            }
            if g.warranty
            else None,
            "physicalDimension": {
                "weight": {"value": g.mass_kg, "unit": "unit:kilogram"},
                **{
                    key: {"value": getattr(g.dimensions, f"{key}_mm"), "unit": "unit:millimetre"}
                    for key in ("length", "width", "height")
                    if g.dimensions is not None and getattr(g.dimensions, f"{key}_mm") is not None
                },
            },
        },
        "metadata": {
            "version": p.metadata.document_version,
            "status": p.metadata.publication_status.value if p.metadata.publication_status else None,
            "expirationDate": _iso(p.metadata.expires_on),
            "issueDate": _iso(p.metadata.issued_on),
            "economicOperatorId": (g.economic_operator or g.manufacturer).identifier,
            "passportIdentifier": f"urn:uuid:{g.passport_id}",
            "predecessor": f"urn:uuid:{p.metadata.predecessor}" if p.metadata.predecessor else _NIL_UUID,
            "backupReference": p.metadata.backup_reference,
            "registrationIdentifier": p.metadata.registration_identifier,
            "lastModification": _iso(p.metadata.last_modified_on),
        },
        "commercial": {"placedOnMarket": _iso(g.placed_on_market), "purpose": list(g.intended_use)},
        "sustainability": {
            "documents": {
                "separateCollection": _docs(p.circularity.end_of_life.separate_collection),
                "wastePrevention": _docs(p.circularity.end_of_life.waste_prevention),
                "euTaxonomyDisclosureStatement": _docs(p.due_diligence.eu_taxonomy_disclosures),
                "sustainabilityReport": _docs(p.due_diligence.sustainability_reports),
            },
            "carbonFootprint": _export_carbon(p),
            "status": status,
        },
        "materials": _export_materials(p, problems),
        "performance": _export_performance(p),
        "conformity": {
            "declarationOfConformityId": p.conformity.declaration_of_conformity_id,
            "declarationOfConformity": _docs(p.conformity.declarations_of_conformity),
            "resultOfTestReport": _docs(p.conformity.test_reports),
            "thirdPartyAssurance": _docs(p.due_diligence.third_party_assurances),
            "dueDiligencePolicy": _docs(p.due_diligence.policies),
        },
        "safety": {
            "usableExtinguishAgent": [
                {"media": a.media, "fireClass": a.fire_class, "document": _docs(a.documents)}
                for a in p.circularity.extinguishing_agents
            ],
            "safetyMeasures": _docs(p.circularity.safety_measures),
            "meaningOfLabels": _docs(p.conformity.label_meaning_documents),
            "safeDischarging": _docs(p.circularity.safe_discharging_documents),
            "dismantling": _docs(p.circularity.dismantling_documents),
            "removalFromAppliance": _docs(p.circularity.removal_documents),
        },
        "handling": {
            "applicable": bool(p.circularity.spare_parts or p.circularity.spare_part_sources),
            "content": {
                "producer": [{"id": s.identifier} for s in p.circularity.spare_part_sources],
                "sparePart": [
                    {"manufacturerPartId": s.part_number, "nameAtManufacturer": s.name}
                    for s in p.circularity.spare_parts
                ],
            },
        },
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _export_carbon(p: BatteryPassport) -> list[dict[str, Any]]:
    cf = p.carbon_footprint
    values = {"total": cf.total_kg_co2e_per_kwh, **cf.stage_values()}
    plant = p.general.manufacturing_place.identifier
    entries = []
    for stage in ("total", *LIFECYCLE_STAGES):
        value = values[stage]
        if value is None:
            continue
        entries.append(
            {
                "lifecycle": _STAGE_NAMES[stage][0],
                "type": _CLIMATE_CHANGE_TOTAL,
                "unit": _CO2_UNIT,
                "value": value,
                "performanceClass": cf.performance_class,
                "rulebook": _docs(cf.rulebooks),
                "declaration": _docs(cf.declarations),
                "manufacturingPlant": [{"facility": plant}] if plant else [],
            }
        )
    return entries


def _export_materials(p: BatteryPassport, problems: Problems) -> dict[str, Any]:
    m, circ = p.materials, p.circularity
    by_name = {a.name.casefold(): a for a in m.active_materials}
    hazardous_by_name = {h.name.casefold(): h for h in m.hazardous_substances}
    active: dict[str, Any] = {}
    for key in (*_ACTIVE_ELEMENTS, "lead"):
        material = by_name.get(key)
        share = circ.recycled_share(RecycledElement(key))
        if material is None:
            if share is not None and (key != "lead" or "lead" not in hazardous_by_name):
                problems.append(
                    (f"materials.active.{key}", f"recycled content declared for {key}, which is not listed")
                )
            active[key] = _stub(lead=key == "lead")
            continue
        active[key] = {
            "location": material.location,
            "critical": material.critical,
            "documentation": _docs(material.documentation),
            "recycled": share.total_percent if share else None,
        }
        if key == "lead":
            concentration = material.concentration or (
                hazardous_by_name["lead"].concentration if "lead" in hazardous_by_name else None
            )
            active[key] |= {
                "concentration": concentration.value if concentration else None,
                "materialUnit": _concentration_unit(concentration.unit) if concentration else None,
                "impactOfSubstances": _docs(material.impact_documents),
            }
    fixed = {*_ACTIVE_ELEMENTS, "lead"}
    active["other"] = [
        {
            "location": a.location,
            "critical": a.critical,
            "documentation": _docs(a.documentation),
            "recycled": a.recycled_share_percent,
            "materialIdentification": _identifiers(a.identifiers),
        }
        for a in m.active_materials
        if a.name.casefold() not in fixed
    ]
    hazardous: dict[str, Any] = {}
    for key in _HAZARDOUS_ELEMENTS:
        substance = hazardous_by_name.get(key)
        if substance is None:
            hazardous[key] = _stub(lead=key == "lead", hazardous=True)
            continue
        hazardous[key] = _hazardous_entry(substance)
        if key == "lead":
            share = circ.recycled_share(RecycledElement.LEAD)
            # Catena-X demands a share even for trace lead; 0 there means none declared (see import).
            hazardous[key]["recycled"] = share.total_percent if share else 0
    hazardous["other"] = [
        _hazardous_entry(h) | {"materialIdentification": _identifiers(h.identifiers)}
        for h in m.hazardous_substances
        if h.name.casefold() not in _HAZARDOUS_ELEMENTS
    ]
    return {
        "active": active,
        "hazardous": hazardous,
        "composition": [
            {
                "id": _identifiers(c.identifiers),
                "concentration": c.concentration.value,
                "unit": _concentration_unit(c.concentration.unit),
                "critical": c.critical,
                "documentation": _docs(c.documentation),
                "recycled": c.recycled_share_percent,
                "location": c.location,
                "renewable": c.renewable_share_percent,
            }
            for c in m.composition
        ],
    }


def _hazardous_entry(h: Any) -> dict[str, Any]:
    return {
        "concentration": h.concentration.value,
        "materialUnit": _concentration_unit(h.concentration.unit),
        "location": h.location,
        "critical": h.critical,
        "impactOfSubstances": _docs(h.impact_documents),
        "documentation": _docs(h.documentation),
    }


def _export_performance(p: BatteryPassport) -> dict[str, Any]:
    r, d = p.performance.rated, p.performance.dynamic
    test = r.lifetime.cycle_life_test
    dynamic: dict[str, Any] = {}
    for keys, model_key in _READINGS:
        node = dynamic
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = _reading(getattr(d, model_key))
    dynamic |= {
        "selfDischargingRate": d.self_discharge_rate_percent.value if d.self_discharge_rate_percent else None,
        "performanceDocument": _docs(d.documents),
        "negativeEvents": _docs(d.negative_event_reports),
        "operatingEnvironment": _docs(d.operating_environment_documents),
    }
    return {
        "rated": {
            "voltage": {
                "min": r.voltage.min_v,
                "nominal": r.voltage.nominal_v,
                "max": r.voltage.max_v,
                "temperature": r.voltage.temperature_c,
            },
            "capacity": {
                "value": r.capacity.rated_ah,
                "thresholdExhaustion": r.capacity.exhaustion_threshold_percent,
                "temperature": r.capacity.temperature_c,
            },
            "energy": {"value": r.energy.rated_kwh, "temperature": r.energy.temperature_c}
            if r.energy
            else None,
            "power": {
                "value": r.power.original_w,
                "at80SoC": r.power.at_80_percent_soc_w,
                "at20SoC": r.power.at_20_percent_soc_w,
                "temperature": r.power.temperature_c,
            },
            "resistance": {
                "cell": r.resistance.cell_ohm,
                "module": r.resistance.module_ohm,
                "pack": r.resistance.pack_ohm,
                "temperature": r.resistance.temperature_c,
            },
            "roundTripEfficiency": {
                "initial": r.round_trip_efficiency.initial_percent,
                "50PercentLife": r.round_trip_efficiency.at_50_percent_cycle_life_percent,
                "depthOfDischarge": r.round_trip_efficiency.depth_of_discharge_percent,
                "temperature": r.round_trip_efficiency.temperature_c,
            },
            "temperature": {"lower": r.temperature_range.lower_c, "upper": r.temperature_range.upper_c},
            "lifetime": {
                "expectedYears": r.lifetime.years,
                "report": _docs(r.lifetime.reports),
                "cycleLifeTesting": {
                    "cycles": r.lifetime.cycles,
                    "appliedChargeRate": test.charge_c_rate if test else None,
                    "appliedDischargeRate": test.discharge_c_rate if test else None,
                    "depthOfDischarge": test.depth_of_discharge_percent if test else None,
                    "temperature": test.temperature_c if test else None,
                },
            },
            "selfDischargingRate": r.self_discharge_rate_percent,
            "performanceDocument": _docs(r.documents),
            "testReport": _docs(r.test_reports),
        },
        "dynamic": dynamic,
    }


__all__ = [
    "NOT_CONTAINED",
    "SPEC_VERSION",
    "CatenaXImport",
    "catenax_schema",
    "export_catenax",
    "import_catenax",
    "read_catenax",
    "schema_problems",
    "write_catenax",
]
