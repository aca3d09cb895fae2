"""Carbon-footprint declarations (Art. 7 of Regulation (EU) 2023/1542) computed from activity data.

Each manufacturing process contributes ``quantity x emission factor`` kg CO2e to one life-cycle stage
(raw material acquisition and pre-processing, main product production, distribution, end of life and
recycling). The functional unit is one kWh of the total energy the battery delivers over its expected
service life (usable energy per full cycle x expected full-equivalent cycles), so each stage's
footprint is its kg CO2e divided by that energy. Stages are rounded to four decimals and the total is
defined as the sum of the rounded stages, so the declared stages always add up to the declared total.

The performance classes Art. 7(2) calls for are set by a delegated act not yet adopted; the thresholds
here (``ILLUSTRATIVE_CLASSES``) are placeholders, named as such in every declaration that uses them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from passport.materials.documents import Hex32, MaterialModel, Text
from passport.materials.errors import CarbonFootprintError
from passport.model.carbon import CarbonFootprint
from passport.model.documents import DocumentRef

CARBON_DECLARATION_TYPE: Final = "battery-passport-ledger/carbon-footprint-declaration/v1"
_QUANTUM = Decimal("0.0001")


class Stage(StrEnum):
    """The life-cycle stages of Annex II, in reporting order (names as ``passport.model.carbon``)."""

    RAW_MATERIAL_ACQUISITION = "raw_material_acquisition"
    MAIN_PRODUCTION = "main_production"
    DISTRIBUTION = "distribution"
    END_OF_LIFE = "end_of_life"


#: (class, upper bound in kg CO2e/kWh, inclusive), best first. Placeholders until the delegated act.
ILLUSTRATIVE_CLASSES: Final[tuple[tuple[str, float], ...]] = (
    ("A", 0.05),
    ("B", 0.07),
    ("C", 0.09),
    ("D", 0.11),
    ("E", math.inf),
)
ILLUSTRATIVE_SCHEME: Final = (
    "illustrative A-E (0.05/0.07/0.09/0.11 kg CO2e/kWh); not the Art. 7(2) delegated act"
)


class EmissionFactor(MaterialModel):
    """A documented emission factor: kg CO2e per unit of an activity, and where it comes from."""

    factor_id: Text
    unit: Text
    kg_co2e_per_unit: Annotated[float, Field(ge=0, le=1_000_000)]
    source: Text


class Activity(MaterialModel):
    """Activity data of one manufacturing process: how much of what, in which life-cycle stage."""

    process: Text
    stage: Stage
    factor_id: Text
    quantity: Annotated[float, Field(gt=0, le=1e12)]
    unit: Text


class ProcessFootprint(MaterialModel):
    """One process's contribution, in kg CO2e and per kWh of lifetime energy (unrounded)."""

    process: Text
    stage: Stage
    kg_co2e: float
    kg_co2e_per_kwh: float


class StageFootprint(MaterialModel):
    """One stage's footprint: kg CO2e, and kg CO2e/kWh rounded to four decimals."""

    stage: Stage
    kg_co2e: float
    kg_co2e_per_kwh: float


class CarbonFootprintDeclaration(MaterialModel):
    """The signed carbon-footprint declaration of a passport (Art. 7(1))."""

    type: Literal["battery-passport-ledger/carbon-footprint-declaration/v1"] = CARBON_DECLARATION_TYPE
    passport_id: Hex32
    battery_model: Text
    plant: Text
    usable_energy_kwh: Annotated[float, Field(gt=0, le=100_000)]
    expected_full_cycles: Annotated[int, Field(gt=0, le=1_000_000)]
    lifetime_energy_kwh: float
    factors: list[EmissionFactor]
    activities: Annotated[list[Activity], Field(min_length=1)]
    processes: list[ProcessFootprint]
    stages: list[StageFootprint]
    total_kg_co2e_per_kwh: float
    performance_class: Text
    class_scheme: Text
    study: DocumentRef

    @model_validator(mode="after")
    def _recomputes(self) -> CarbonFootprintDeclaration:
        expected = _computed(self.usable_energy_kwh, self.expected_full_cycles, self.factors, self.activities)
        if (self.lifetime_energy_kwh, self.processes, self.stages) != expected[:3]:
            raise ValueError("the processes and stages are not what the activity data and factors give")
        if self.total_kg_co2e_per_kwh != expected[3]:
            raise ValueError(
                f"the stages add up to {expected[3]} kg CO2e/kWh, not the total {self.total_kg_co2e_per_kwh}"
            )
        return self

    def to_passport(self, declaration: DocumentRef | None = None) -> CarbonFootprint:
        """The passport's carbon-footprint section from this declaration (linked if ``declaration``)."""
        per_stage = {s.stage: s.kg_co2e_per_kwh for s in self.stages}
        return CarbonFootprint(
            total_kg_co2e_per_kwh=self.total_kg_co2e_per_kwh,
            raw_material_acquisition_kg_co2e_per_kwh=per_stage[Stage.RAW_MATERIAL_ACQUISITION],
            main_production_kg_co2e_per_kwh=per_stage[Stage.MAIN_PRODUCTION],
            distribution_kg_co2e_per_kwh=per_stage[Stage.DISTRIBUTION],
            end_of_life_kg_co2e_per_kwh=per_stage[Stage.END_OF_LIFE],
            performance_class=self.performance_class,
            study=self.study,
            declarations=[declaration] if declaration is not None else [],
        )


def _computed(
    usable_energy_kwh: float,
    cycles: int,
    factors: Sequence[EmissionFactor],
    activities: Sequence[Activity],
) -> tuple[float, list[ProcessFootprint], list[StageFootprint], float]:
    by_id = {f.factor_id: f for f in factors}
    if len(by_id) != len(factors):
        raise ValueError("an emission factor id is listed twice")
    lifetime = Decimal(repr(usable_energy_kwh)) * cycles
    processes = []
    stage_kg = dict.fromkeys(Stage, Decimal(0))
    for activity in activities:
        factor = by_id.get(activity.factor_id)
        if factor is None:
            raise ValueError(
                f"process {activity.process!r} uses unknown emission factor {activity.factor_id!r}"
            )
        if factor.unit != activity.unit:
            raise ValueError(
                f"process {activity.process!r} is in {activity.unit!r}, its factor per {factor.unit!r}"
            )
        kg = Decimal(repr(activity.quantity)) * Decimal(repr(factor.kg_co2e_per_unit))
        stage_kg[activity.stage] += kg
        processes.append(
            ProcessFootprint(
                process=activity.process,
                stage=activity.stage,
                kg_co2e=float(kg),
                kg_co2e_per_kwh=float(kg / lifetime),
            )
        )
    stages = [
        StageFootprint(
            stage=stage,
            kg_co2e=float(kg),
            kg_co2e_per_kwh=float((kg / lifetime).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)),
        )
        for stage, kg in stage_kg.items()
    ]
    total = float(sum((Decimal(repr(s.kg_co2e_per_kwh)) for s in stages), Decimal(0)))
    return float(lifetime), processes, stages, total


def performance_class(total: float, classes: Sequence[tuple[str, float]] = ILLUSTRATIVE_CLASSES) -> str:
    """The first class whose upper bound the total does not exceed."""
    for name, bound in classes:
        if total <= bound:
            return name
    raise CarbonFootprintError(f"no performance class covers {total} kg CO2e/kWh")


def declare_carbon_footprint(
    *,
    passport_id: str,
    battery_model: str,
    plant: str,
    usable_energy_kwh: float,
    expected_full_cycles: int,
    factors: Sequence[EmissionFactor],
    activities: Sequence[Activity],
    study: DocumentRef,
    classes: Sequence[tuple[str, float]] = ILLUSTRATIVE_CLASSES,
    class_scheme: str = ILLUSTRATIVE_SCHEME,
) -> CarbonFootprintDeclaration:
    """Compute the declaration; ``CarbonFootprintError`` if a factor is missing or units disagree."""
    if usable_energy_kwh <= 0 or expected_full_cycles <= 0:
        raise CarbonFootprintError("usable energy and expected cycles must be positive")
    try:
        lifetime, processes, stages, total = _computed(
            usable_energy_kwh, expected_full_cycles, factors, activities
        )
        return CarbonFootprintDeclaration(
            passport_id=passport_id,
            battery_model=battery_model,
            plant=plant,
            usable_energy_kwh=usable_energy_kwh,
            expected_full_cycles=expected_full_cycles,
            lifetime_energy_kwh=lifetime,
            factors=list(factors),
            activities=list(activities),
            processes=processes,
            stages=stages,
            total_kg_co2e_per_kwh=total,
            performance_class=performance_class(total, classes),
            class_scheme=class_scheme,
            study=study,
        )
    except ValueError as exc:
        raise CarbonFootprintError(str(exc)) from exc


__all__ = [
    "CARBON_DECLARATION_TYPE",
    "ILLUSTRATIVE_CLASSES",
    "ILLUSTRATIVE_SCHEME",
    "Activity",
    "CarbonFootprintDeclaration",
    "EmissionFactor",
    "ProcessFootprint",
    "Stage",
    "StageFootprint",
    "declare_carbon_footprint",
    "performance_class",
]
