"""Performance and durability (Art. 10, Annex IV, Annex XIII 1(g)-(p) and 4).

Rated values describe the battery model as placed on the market and are public. Dynamic values
describe the state of one individual battery, how it has been used and what happened to it: they are
for persons with a legitimate interest only (Annex XIII 4, Art. 14), never public.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.access import Authority, LegitimateInterest, Public
from passport.model.device_health import DeviceHealth
from passport.model.documents import DocumentRef
from passport.model.safety import ReporterRole
from passport.model.units import (
    AmpereHours,
    Celsius,
    CRate,
    Cycles,
    EventCount,
    KilowattHours,
    NonNegativeAmpereHours,
    NonNegativeKilowattHours,
    NonNegativeWatts,
    Ohms,
    Percent,
    PercentIncrease,
    Volts,
    Watts,
    Years,
)

V = TypeVar("V")
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


# -- rated (static) values -----------------------------------------------------------------------


class RatedVoltage(PassportModel):
    """Minimum, nominal and maximum voltage (Annex XIII 1(h)); min ≤ nominal ≤ max."""

    min_v: Volts
    nominal_v: Volts
    max_v: Volts
    temperature_c: Celsius | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RatedVoltage:
        if not self.min_v <= self.nominal_v <= self.max_v or self.min_v == self.max_v:
            raise ValueError(
                f"voltages must satisfy min < max and min <= nominal <= max "
                f"(got {self.min_v:g} / {self.nominal_v:g} / {self.max_v:g} V)"
            )
        return self


class RatedCapacity(PassportModel):
    """Rated capacity (Annex XIII 1(g)) and the capacity threshold for exhaustion (1(k), EV only)."""

    rated_ah: AmpereHours
    exhaustion_threshold_percent: Percent | None = None
    temperature_c: Celsius | None = None


class RatedEnergy(PassportModel):
    """Rated (certified usable) energy."""

    rated_kwh: KilowattHours
    temperature_c: Celsius | None = None


class RatedPower(PassportModel):
    """Original power capability (Annex XIII 1(i)), also at 80 % and 20 % state of charge."""

    original_w: Watts
    at_80_percent_soc_w: Watts | None = None
    at_20_percent_soc_w: Watts | None = None
    temperature_c: Celsius | None = None


class RatedResistance(PassportModel):
    """Initial internal resistance of cell, module and pack (Annex XIII 1(o))."""

    cell_ohm: Ohms
    module_ohm: Ohms | None = None
    pack_ohm: Ohms
    temperature_c: Celsius | None = None


class RatedRoundTripEfficiency(PassportModel):
    """Initial round-trip efficiency and at 50 % of cycle life (Annex XIII 1(n))."""

    initial_percent: Percent
    at_50_percent_cycle_life_percent: Percent | None = None
    depth_of_discharge_percent: Percent | None = None
    temperature_c: Celsius | None = None


class TemperatureRange(PassportModel):
    """The temperature range the battery can withstand when not in use (Annex XIII 1(l))."""

    lower_c: Celsius
    upper_c: Celsius

    @model_validator(mode="after")
    def _ordered(self) -> TemperatureRange:
        if self.lower_c >= self.upper_c:
            raise ValueError(f"lower_c {self.lower_c:g} is not below upper_c {self.upper_c:g}")
        return self


class CycleLifeTest(PassportModel):
    """Conditions of the cycle-life test (Annex XIII 1(p): its C-rate)."""

    charge_c_rate: CRate
    discharge_c_rate: CRate
    depth_of_discharge_percent: Percent
    temperature_c: Celsius


class ExpectedLifetime(PassportModel):
    """Expected lifetime in cycles (Annex XIII 1(j)) and years, with the test behind it."""

    cycles: Annotated[int, Field(gt=0)]
    years: Years | None = None
    cycle_life_test: CycleLifeTest | None = None
    reports: list[DocumentRef] = Field(default_factory=list)


class RatedPerformance(PassportModel):
    """Rated values of the battery model: public, except the test reports behind them."""

    capacity: Public[RatedCapacity]
    energy: Public[RatedEnergy | None] = None
    voltage: Public[RatedVoltage]
    power: Public[RatedPower]
    resistance: Public[RatedResistance]
    round_trip_efficiency: Public[RatedRoundTripEfficiency]
    temperature_range: Public[TemperatureRange]
    lifetime: Public[ExpectedLifetime]
    self_discharge_rate_percent: Public[Percent | None] = None  # per month, at rated conditions
    documents: Public[list[DocumentRef]] = Field(default_factory=list)
    # Annex XIII 3: test reports proving compliance are for notified bodies and authorities.
    test_reports: Authority[list[DocumentRef]] = Field(default_factory=list)


# -- dynamic values ------------------------------------------------------------------------------


class MeasurementMethod(StrEnum):
    """How a dynamic value was obtained."""

    BMS_ESTIMATE = "bms_estimate"  # the battery management system's on-board estimate
    DIAGNOSTIC_TEST = "diagnostic_test"  # a workshop diagnostic with an external tester
    LABORATORY_TEST = "laboratory_test"
    CALCULATED = "calculated"  # derived from other readings
    COUNTED = "counted"  # an event or cycle counter


class Reading(PassportModel, Generic[V]):
    """A dynamic value with the time it refers to and, where known, how, by whom and how precisely.

    ``uncertainty`` is in the value's own unit (the field name says which), as a ± half-width.
    """

    value: V
    measured_at: AwareDatetime
    method: MeasurementMethod | None = None
    originator: Name | None = None  # who measured or reported it: a BMS, a workshop, a lab
    uncertainty: Annotated[float, Field(ge=0)] | None = None


class NegativeEventKind(StrEnum):
    """What kind of harmful event a battery went through."""

    ACCIDENT = "accident"
    THERMAL_EVENT = "thermal_event"
    MECHANICAL_DAMAGE = "mechanical_damage"
    WATER_INGRESS = "water_ingress"
    ELECTRICAL_ABUSE = "electrical_abuse"
    DEEP_DISCHARGE = "deep_discharge"
    OTHER = "other"


class NegativeEvent(PassportModel):
    """A negative event in the life of this battery, such as an accident (Annex XIII 4)."""

    kind: NegativeEventKind
    occurred_at: AwareDatetime
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    reported_by: Name | None = None
    documents: list[DocumentRef] = Field(default_factory=list)
    # A serious event flags the battery on the ledger until a passed clearance inspection.
    serious: bool = False
    reporter_role: ReporterRole | None = None


class DynamicPerformance(PassportModel):
    """The state, use history and events of this one battery; every value is timestamped."""

    remaining_capacity_ah: LegitimateInterest[Reading[AmpereHours] | None] = None
    capacity_fade_percent: LegitimateInterest[Reading[Percent] | None] = None
    capacity_throughput_ah: LegitimateInterest[Reading[NonNegativeAmpereHours] | None] = None
    remaining_energy_kwh: LegitimateInterest[Reading[NonNegativeKilowattHours] | None] = None
    state_of_certified_energy_percent: LegitimateInterest[Reading[Percent] | None] = None
    energy_throughput_kwh: LegitimateInterest[Reading[NonNegativeKilowattHours] | None] = None
    state_of_charge_percent: LegitimateInterest[Reading[Percent] | None] = None
    remaining_power_capability_w: LegitimateInterest[Reading[NonNegativeWatts] | None] = None
    power_fade_percent: LegitimateInterest[Reading[Percent] | None] = None
    cell_resistance_ohm: LegitimateInterest[Reading[Ohms] | None] = None
    module_resistance_ohm: LegitimateInterest[Reading[Ohms] | None] = None
    pack_resistance_ohm: LegitimateInterest[Reading[Ohms] | None] = None
    cell_resistance_increase_percent: LegitimateInterest[Reading[PercentIncrease] | None] = None
    module_resistance_increase_percent: LegitimateInterest[Reading[PercentIncrease] | None] = None
    pack_resistance_increase_percent: LegitimateInterest[Reading[PercentIncrease] | None] = None
    round_trip_efficiency_percent: LegitimateInterest[Reading[Percent] | None] = None
    round_trip_efficiency_fade_percent: LegitimateInterest[Reading[Percent] | None] = None
    self_discharge_rate_percent: LegitimateInterest[Reading[Percent] | None] = None
    full_cycles: LegitimateInterest[Reading[Cycles] | None] = None
    min_temperature_c: LegitimateInterest[Reading[Celsius] | None] = None  # lowest seen over life
    max_temperature_c: LegitimateInterest[Reading[Celsius] | None] = None  # highest seen over life
    deep_discharge_events: LegitimateInterest[Reading[EventCount] | None] = None
    overcharge_events: LegitimateInterest[Reading[EventCount] | None] = None
    negative_events: LegitimateInterest[list[NegativeEvent]] = Field(default_factory=list)
    negative_event_reports: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    operating_environment_documents: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    documents: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    # The oracle's device-driven figures with their provenance (policy, records, anchors).
    device_health: LegitimateInterest[DeviceHealth | None] = None

    @model_validator(mode="after")
    def _extremes_ordered(self) -> DynamicPerformance:
        low, high = self.min_temperature_c, self.max_temperature_c
        if low is not None and high is not None and low.value > high.value:
            raise ValueError(f"min_temperature_c {low.value:g} is above max_temperature_c {high.value:g}")
        return self


class PerformanceAndDurability(PassportModel):
    """Rated values of the model and dynamic values of the individual battery."""

    rated: RatedPerformance
    dynamic: DynamicPerformance = Field(default_factory=DynamicPerformance)
