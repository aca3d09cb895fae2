"""General product information and passport metadata (Annex VI Part A, Annex XIII 1(a))."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from passport.ids import BATTERY_ID_PATTERN, validate_battery_id
from passport.model._base import PassportModel
from passport.model.access import LegitimateInterest, Public
from passport.model.lifecycle import LifecycleStatus
from passport.model.parties import Facility, Organisation
from passport.model.units import Kilograms, Millimetres, Warranty

# The pattern is shown in the JSON schema; the validator enforces the same set (with its own message).
BatteryId = Annotated[
    str,
    Field(json_schema_extra={"pattern": BATTERY_ID_PATTERN}),
    AfterValidator(validate_battery_id),
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BatteryCategory(StrEnum):
    """Battery categories of Art. 2 (values spelt as in Catena-X BatteryPass)."""

    EV = "EV"
    LMT = "LMT"
    INDUSTRIAL = "industrial"
    SLI = "SLI"
    PORTABLE = "portable"

    @property
    def passport_required(self) -> bool:
        """Art. 77(1): LMT, industrial (> 2 kWh) and EV batteries need a passport; others may have one."""
        return self in (BatteryCategory.EV, BatteryCategory.LMT, BatteryCategory.INDUSTRIAL)


def _parse_status(value: Any) -> Any:
    # Statuses are written by name in documents ("original"), but the chain client hands back the
    # IntEnum, and old callers may pass the on-chain integer; all three mean the same status.
    if isinstance(value, str) and not value.isdigit():
        try:
            return LifecycleStatus[value.upper().replace("-", "")]
        except KeyError:
            raise ValueError(f"unknown lifecycle status {value!r}") from None
    return value


def _status_name(status: LifecycleStatus) -> str:
    return status.name.lower()


Status = Annotated[
    LifecycleStatus,
    BeforeValidator(_parse_status),
    PlainSerializer(_status_name, return_type=str, when_used="json"),
]


class PublicationStatus(StrEnum):
    """The passport document's own state (not the battery's)."""

    DRAFT = "draft"
    APPROVED = "approved"
    INVALID = "invalid"
    EXPIRED = "expired"


class PassportMetadata(PassportModel):
    """Facts about the passport document: issue, expiry, predecessor, where a backup lives."""

    issued_on: Public[date]
    last_modified_on: Public[date | None] = None
    # Art. 77(8): the passport outlives the battery; expiry is optional and, if set, after issue.
    expires_on: Public[date | None] = None
    document_version: Public[ShortText] = "1.0.0"
    publication_status: Public[PublicationStatus | None] = None
    # The passport of the battery this one was repurposed or remanufactured from (Art. 77(6)).
    predecessor: Public[uuid.UUID | None] = None
    backup_reference: Public[ShortText | None] = None  # Art. 78(e): a backup copy via a third party
    registration_identifier: Public[ShortText | None] = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> PassportMetadata:
        if self.last_modified_on is not None and self.last_modified_on < self.issued_on:
            raise ValueError("last_modified_on is before issued_on")
        if self.expires_on is not None and self.expires_on <= self.issued_on:
            raise ValueError("expires_on is not after issued_on")
        return self


class Dimensions(PassportModel):
    """Outer dimensions of the battery."""

    length_mm: Millimetres | None = None
    width_mm: Millimetres | None = None
    height_mm: Millimetres | None = None


class DataCarrier(PassportModel):
    """The QR code (or other carrier) on the battery that leads to this passport (Art. 77(3))."""

    carrier_type: ShortText  # "QR", "DMC"
    layout: ShortText | None = None  # where on the battery it is printed
    encoded_identifier: ShortText | None = None  # what the carrier encodes


class ProductCode(PassportModel):
    """An additional product code (GTIN, TARIC, …)."""

    key: ShortText
    value: ShortText


class Classification(PassportModel):
    """A part classification under a named standard."""

    standard: ShortText
    classification_id: ShortText
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class GeneralProductInformation(PassportModel):
    """Who made which battery, where and when, what it weighs, and its current status."""

    battery_id: Public[BatteryId]
    # Annex XIII: the passport has its own unique identifier, distinct from the battery's.
    passport_id: Public[uuid.UUID]
    category: Public[BatteryCategory]
    model_identifier: Public[ShortText]
    product_name: Public[ShortText | None] = None
    batch_id: Public[ShortText | None] = None
    manufacturer: Public[Organisation]
    # The operator placing the battery on the market, when not the manufacturer (Art. 77(4)).
    economic_operator: Public[Organisation | None] = None
    manufacturing_date: Public[date]
    manufacturing_place: Public[Facility]
    placed_on_market: Public[date | None] = None
    # When this individual battery went into use: use data of one battery, never public.
    put_into_service: LegitimateInterest[date | None] = None
    mass_kg: Public[Kilograms]
    dimensions: Public[Dimensions | None] = None
    # Public: the registry contract already publishes the status on-chain as a lifecycle fact.
    status: Public[Status] = LifecycleStatus.ORIGINAL
    warranty: Public[Warranty | None] = None
    intended_use: Public[list[ShortText]] = Field(default_factory=list)
    data_carrier: Public[DataCarrier | None] = None
    product_codes: Public[list[ProductCode]] = Field(default_factory=list)
    classifications: Public[list[Classification]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> GeneralProductInformation:
        if str(self.passport_id) == self.battery_id.lower().removeprefix("urn:uuid:"):
            raise ValueError("the passport id must differ from the battery id")
        if self.placed_on_market is not None and self.placed_on_market < self.manufacturing_date:
            raise ValueError("placed_on_market is before manufacturing_date")
        if self.put_into_service is not None and self.put_into_service < self.manufacturing_date:
            raise ValueError("put_into_service is before manufacturing_date")
        return self
