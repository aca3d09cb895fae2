"""Safety records of used batteries: inspection checks, shipments and storage, and the transport limits.

Korea's used-battery rules ask for safety inspections before and after a used battery is distributed and
set standards for its transport and storage; EU 2023/1542 Annex XIII asks for negative events to be kept
for the passport's life. The inspections themselves are ``korea.SafetyInspection``; incidents are the
passport's ``performance.dynamic.negative_events``. This module holds what those records are made of.

Transport limits on the state of charge at dispatch (``SOC_LIMITS``), per packaging class:

* ``air_pi965`` — lithium-ion batteries shipped alone by air, IATA Dangerous Goods Regulations Packing
  Instruction 965: at most 30 % of rated capacity (mandatory since 1 April 2016).
* ``road_sea_p903`` — ADR / IMDG Packing Instruction P903 (UN 3480): no state-of-charge limit.
* ``damaged_p908`` / ``critically_damaged_p911`` — damaged or defective batteries, ADR / IMDG P908 and
  P911: no state-of-charge limit, and never by air (IATA Special Provision A154), so there is no air class
  for them; a battery with an open serious-incident flag may only ship in these classes.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Final

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.documents import DocumentRef
from passport.model.parties import Facility, Organisation
from passport.model.units import Celsius, Percent

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
#: An EVM account address (the business a shipment goes to).
Account = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]


class InspectionKind(IntEnum):
    """What a safety inspection is for (same order as the contract's ``InspectionKind``)."""

    PRE_DISTRIBUTION = 0
    POST_DISTRIBUTION = 1
    CLEARANCE = 2  # after a serious incident: a pass lifts the battery's flag


class ReporterRole(StrEnum):
    """Who reported a negative event."""

    OWNER = "owner"
    WORKSHOP = "workshop"
    INSPECTOR = "inspector"
    CUSTODIAN = "custodian"
    DEVICE = "device"  # a collection device's safety event above its threshold


class InspectionCheck(PassportModel):
    """One check of an inspection: what was checked, the result, and the measured value if any."""

    name: Name  # e.g. "insulation resistance", "casing integrity", "cell voltage spread"
    passed: bool
    value: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None  # e.g. "540 MΩ"
    note: Note | None = None


class PackagingClass(StrEnum):
    """How a battery is packed and labelled for transport (see the module docstring for sources)."""

    AIR_PI965 = "air_pi965"
    ROAD_SEA_P903 = "road_sea_p903"
    DAMAGED_P908 = "damaged_p908"
    CRITICALLY_DAMAGED_P911 = "critically_damaged_p911"


#: Highest state of charge (percent of rated capacity) allowed at dispatch, per packaging class.
SOC_LIMITS: Final[dict[PackagingClass, float]] = {
    PackagingClass.AIR_PI965: 30.0,
    PackagingClass.ROAD_SEA_P903: 100.0,
    PackagingClass.DAMAGED_P908: 100.0,
    PackagingClass.CRITICALLY_DAMAGED_P911: 100.0,
}
#: Classes a damaged or flagged battery may ship in.
DAMAGED_CLASSES: Final = frozenset({PackagingClass.DAMAGED_P908, PackagingClass.CRITICALLY_DAMAGED_P911})
#: Where each limit comes from (shown with a refusal).
SOC_LIMIT_SOURCES: Final[dict[PackagingClass, str]] = {
    PackagingClass.AIR_PI965: "IATA DGR Packing Instruction 965 (UN 3480 by air): at most 30 % SoC",
    PackagingClass.ROAD_SEA_P903: "ADR/IMDG Packing Instruction P903: no SoC limit",
    PackagingClass.DAMAGED_P908: "ADR/IMDG Packing Instruction P908 (damaged/defective): no SoC limit",
    PackagingClass.CRITICALLY_DAMAGED_P911: "ADR/IMDG Packing Instruction P911 (critically damaged)",
}


class Shipment(PassportModel):
    """A transport of the battery between two parties, recorded by the custodian at dispatch."""

    shipment_id: Name
    from_party: Organisation
    to_party: Organisation
    to_account: Account | None = None  # the registered business custody is offered to, if any
    carrier: Organisation
    dispatched_at: AwareDatetime
    state_of_charge_percent: Percent
    packaging_class: PackagingClass
    un38_3_test_summary: DocumentRef  # UN Manual of Tests and Criteria 38.3 test summary
    labels: list[Name] = Field(default_factory=list)  # e.g. "UN3480", "Class 9A lithium battery mark"
    documents: list[DocumentRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _within_soc_limit(self) -> Shipment:
        limit = SOC_LIMITS[self.packaging_class]
        if self.state_of_charge_percent > limit:
            raise ValueError(
                f"state of charge {self.state_of_charge_percent:g} % exceeds the {limit:g} % allowed for "
                f"{self.packaging_class.value} ({SOC_LIMIT_SOURCES[self.packaging_class]})"
            )
        return self


class StorageConditions(PassportModel):
    """The conditions a battery was stored under."""

    min_temperature_c: Celsius | None = None
    max_temperature_c: Celsius | None = None
    relative_humidity_percent: Percent | None = None
    state_of_charge_percent: Percent | None = None
    fire_suppression: Name | None = None
    separated_from_combustibles: bool | None = None

    @model_validator(mode="after")
    def _ordered(self) -> StorageConditions:
        low, high = self.min_temperature_c, self.max_temperature_c
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_temperature_c {low:g} is above max_temperature_c {high:g}")
        return self


class StorageRecord(PassportModel):
    """A stay of the battery at a storage site and the conditions there."""

    site: Facility
    operator: Organisation
    stored_from: AwareDatetime
    stored_until: AwareDatetime | None = None
    conditions: StorageConditions
    documents: list[DocumentRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> StorageRecord:
        if self.stored_until is not None and self.stored_until < self.stored_from:
            raise ValueError("stored_until is before stored_from")
        return self
