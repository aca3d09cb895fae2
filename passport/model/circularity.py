"""Circularity and resource efficiency (Art. 8, Art. 74, Annex XIII 1(e)-(f), 2(b)-(d))."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from passport.model._base import PassportModel
from passport.model.access import LegitimateInterest, Public
from passport.model.documents import DocumentRef
from passport.model.parties import Organisation
from passport.model.units import Percent

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RecycledElement(StrEnum):
    """The elements whose recycled share Art. 8 requires to be declared."""

    COBALT = "cobalt"
    LITHIUM = "lithium"
    NICKEL = "nickel"
    LEAD = "lead"


class RecycledContentShare(PassportModel):
    """Recycled share of one element: pre- and post-consumer parts where known, and their total.

    Some sources (Catena-X) carry only the total; when both parts are given they must add up to it.
    """

    element: RecycledElement
    pre_consumer_percent: Percent | None = None
    post_consumer_percent: Percent | None = None
    total_percent: Percent
    # The usage certificate the share was certified by (``passport.materials``): a reader follows it
    # offline to the retired credits, production certificates, lots and recycled batteries.
    usage_certificate: DocumentRef | None = None

    @model_validator(mode="after")
    def _parts_add_up(self) -> RecycledContentShare:
        parts = (self.pre_consumer_percent, self.post_consumer_percent)
        if all(p is not None for p in parts):
            total = math.fsum(p for p in parts if p is not None)
            if not math.isclose(total, self.total_percent, abs_tol=1e-6):
                raise ValueError(
                    f"pre- and post-consumer shares sum to {total:g} %, "
                    f"not the total {self.total_percent:g} %"
                )
        elif any(p is not None and p > self.total_percent for p in parts):
            raise ValueError("a pre- or post-consumer share exceeds the total")
        return self


class SparePart(PassportModel):
    """A replacement part: its number and name (Annex XIII 2(b))."""

    part_number: Name
    name: Name


class ExtinguishingAgent(PassportModel):
    """A usable extinguishing agent (Annex VI Part A 9) and the fire classes it is for."""

    media: Name
    fire_class: Name
    documents: list[DocumentRef] = Field(default_factory=list)


class EndOfLifeInformation(PassportModel):
    """Art. 74(1): waste prevention, separate collection, and the role of end users in recycling."""

    waste_prevention: list[DocumentRef] = Field(default_factory=list)
    separate_collection: list[DocumentRef] = Field(default_factory=list)
    collection_and_recycling: list[DocumentRef] = Field(default_factory=list)


class Circularity(PassportModel):
    """Recycled and renewable content, end-of-life information, and what repairers and recyclers need."""

    recycled_content: Public[list[RecycledContentShare]] = Field(default_factory=list)
    renewable_content_percent: Public[Percent | None] = None
    end_of_life: Public[EndOfLifeInformation] = Field(default_factory=EndOfLifeInformation)
    extinguishing_agents: Public[list[ExtinguishingAgent]] = Field(default_factory=list)
    # Annex XIII 2(c)-(d): exploded diagrams, disassembly sequences, tools, safety measures; they
    # help repairers and recyclers and would help a thief or a counterfeiter as much.
    dismantling_documents: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    removal_documents: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    safe_discharging_documents: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    safety_measures: LegitimateInterest[list[DocumentRef]] = Field(default_factory=list)
    spare_part_sources: LegitimateInterest[list[Organisation]] = Field(default_factory=list)
    spare_parts: LegitimateInterest[list[SparePart]] = Field(default_factory=list)

    def recycled_share(self, element: RecycledElement) -> RecycledContentShare | None:
        """The declared recycled share of ``element``, if any."""
        return next((s for s in self.recycled_content if s.element is element), None)

    @model_validator(mode="after")
    def _one_share_per_element(self) -> Circularity:
        elements = [s.element for s in self.recycled_content]
        duplicates = sorted({e.value for e in elements if elements.count(e) > 1})
        if duplicates:
            raise ValueError(f"recycled content declared twice for {', '.join(duplicates)}")
        return self
