"""Quantities with their units: unit-suffixed names, constrained ranges, and unit enumerations.

The model never stores a bare number whose unit a reader has to guess: either the field name ends in
its unit (``mass_kg``, ``nominal_v``) and the type below bounds it, or the value travels with an
explicit unit enum (``Concentration``, ``Warranty``). Bounds are physical (no negative masses, no
percentages above 100) plus a generous sanity ceiling where a unit slip (mV for V, g for kg) would
otherwise pass unnoticed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from passport.model._base import PassportModel

Percent = Annotated[float, Field(ge=0, le=100)]
Kilograms = Annotated[float, Field(gt=0, le=100_000)]  # a containerised industrial battery is ~30 t
Millimetres = Annotated[float, Field(gt=0, le=100_000)]
# Up to 2 kV: EV packs run at 400-900 V, stationary strings at ~1.5 kV; a reading in mV fails loudly.
Volts = Annotated[float, Field(gt=0, le=2_000)]
AmpereHours = Annotated[float, Field(gt=0)]
NonNegativeAmpereHours = Annotated[float, Field(ge=0)]
KilowattHours = Annotated[float, Field(gt=0)]
NonNegativeKilowattHours = Annotated[float, Field(ge=0)]
Watts = Annotated[float, Field(gt=0)]
NonNegativeWatts = Annotated[float, Field(ge=0)]
Ohms = Annotated[float, Field(gt=0)]
# Resistance increase against the initial value; it can exceed 100 % late in life.
PercentIncrease = Annotated[float, Field(ge=0, le=10_000)]
Celsius = Annotated[float, Field(ge=-273.15, le=2_000)]  # thermal-runaway extremes exceed 1000 °C
CRate = Annotated[float, Field(gt=0, le=100)]
KgCo2ePerKwh = Annotated[float, Field(ge=0, le=10_000)]
Cycles = Annotated[int, Field(ge=0)]
EventCount = Annotated[int, Field(ge=0)]
Years = Annotated[float, Field(gt=0, le=100)]


class ConcentrationUnit(StrEnum):
    """Units a substance concentration may be declared in (mass fractions unless said otherwise)."""

    PERCENT = "percent"
    PERCENT_VOLUME = "percent_volume"
    PER_MILLE = "per_mille"
    PPM = "ppm"
    PPB = "ppb"
    PPT = "ppt"

    @property
    def full_scale(self) -> float:
        """The value that means "all of it" in this unit (the upper bound)."""
        return _FULL_SCALE[self]


_FULL_SCALE = {
    ConcentrationUnit.PERCENT: 100.0,
    ConcentrationUnit.PERCENT_VOLUME: 100.0,
    ConcentrationUnit.PER_MILLE: 1e3,
    ConcentrationUnit.PPM: 1e6,
    ConcentrationUnit.PPB: 1e9,
    ConcentrationUnit.PPT: 1e12,
}


class Concentration(PassportModel):
    """A concentration with its unit; bounded by the unit's full scale."""

    value: Annotated[float, Field(ge=0)]
    unit: ConcentrationUnit

    @model_validator(mode="after")
    def _within_full_scale(self) -> Concentration:
        if self.value > self.unit.full_scale:
            raise ValueError(f"{self.value} {self.unit.value} exceeds the whole ({self.unit.full_scale:g})")
        return self


class WarrantyUnit(StrEnum):
    """What a warranty period is counted in."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    CYCLE = "cycle"
    OPERATING_HOUR = "operating_hour"


class Warranty(PassportModel):
    """The commercial warranty period (Annex XIII 1(m)): a positive amount of a unit."""

    value: Annotated[float, Field(gt=0, le=1_000_000)]
    unit: WarrantyUnit
