"""Organisations, addresses and facilities named in a passport."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, model_validator

from passport.model._base import PassportModel

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]  # ISO 3166-1 alpha-2
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
WebAddress = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)]


class PostalAddress(PassportModel):
    """A postal address (Art. 38(7): a single contact point)."""

    street: Text
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    city: Text
    country: CountryCode


class Organisation(PassportModel):
    """A manufacturer, operator, supplier, evaluator or inspector.

    ``identifier`` is a registry id (a Catena-X BPNL, a LEI, a Korean business registration number).
    The name is optional only because some data spaces (Catena-X) identify parties by id alone.
    """

    name: Text | None = None
    identifier: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    address: PostalAddress | None = None
    email: Email | None = None
    website: WebAddress | None = None

    @model_validator(mode="after")
    def _named_or_identified(self) -> Organisation:
        if self.name is None and self.identifier is None:
            raise ValueError("an organisation needs a name or an identifier")
        return self


class Facility(PassportModel):
    """A manufacturing plant or other site (Annex VI Part A 3: the geographical location)."""

    identifier: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None  # e.g. BPNA
    name: Text | None = None
    address: PostalAddress | None = None

    @model_validator(mode="after")
    def _locatable(self) -> Facility:
        if self.identifier is None and self.name is None and self.address is None:
            raise ValueError("a facility needs an identifier, a name or an address")
        return self
